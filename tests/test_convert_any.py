"""Any Keras 3 recurrent model converts: the kinds of model users bring (Conv1D + LSTM, stacked
LSTMs, an LSTM regressor, a per-step labeller, a Bidirectional LSTM, a GRU), each trained a few
epochs on synthetic data, converted for real and run on LiteRT against Keras on held-out inputs
the calibration never saw. Models that cannot convert are refused in one line."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("ai_edge_litert")

from converters import fused  # noqa: E402
from converters.export import candidate_forms, to_tflite  # noqa: E402
from converters.model import load  # noqa: E402
from converters.support import check_convertible  # noqa: E402
from edge_lstm.errors import EdgeLstmError  # noqa: E402

L = keras.layers
STEPS, FEATURES, CLASSES = 24, 6, 3
TRAIN, HELD_OUT = 600, 200


def _signals(rng, n):
    """Noisy sequences, each step of one class: a class is a bump on its own channel and a
    rhythm on the others, so classes are well apart and a model learns them in a few epochs."""
    classes = rng.integers(0, CLASSES, size=(n, 1)).repeat(STEPS, axis=1)
    x = rng.normal(0, 0.6, size=(n, STEPS, FEATURES)).astype(np.float32)
    t = np.arange(STEPS)
    for c in range(CLASSES):
        x[..., c] += (classes == c) * 1.5
        x[..., CLASSES + c] += (classes == c) * np.sin(t * (c + 1) * 0.7)
    return x, classes


def _per_step(rng, n):
    """Sequences whose class changes mid-way: the label of each step is its segment's class."""
    x, classes = _signals(rng, n)
    other, other_classes = _signals(rng, n)
    cut = rng.integers(STEPS // 4, 3 * STEPS // 4, size=n)
    later = np.arange(STEPS)[None, :] >= cut[:, None]
    return np.where(later[..., None], other, x), np.where(later, other_classes, classes)


def _classifier(*layers):
    return [L.Input((STEPS, FEATURES)), *layers, L.Dense(CLASSES, activation="softmax")]


KINDS = {
    "conv1d_lstm": lambda: keras.Sequential(_classifier(
        L.Conv1D(12, 3, activation="relu"), L.BatchNormalization(), L.MaxPooling1D(2),
        L.LSTM(20), L.Dropout(0.1))),
    "stacked_lstm": lambda: keras.Sequential(_classifier(
        L.LSTM(16, return_sequences=True), L.LSTM(16, return_sequences=True), L.LSTM(12))),
    "lstm_regressor": lambda: keras.Sequential([
        L.Input((STEPS, FEATURES)), L.LSTM(16), L.Dense(8, activation="relu"), L.Dense(1)]),
    "per_step_labeller": lambda: keras.Sequential([
        L.Input((STEPS, FEATURES)), L.Dense(8), L.LSTM(16, return_sequences=True),
        L.LayerNormalization(), L.TimeDistributed(L.Dense(CLASSES, activation="softmax"))]),
    "bidirectional_lstm": lambda: _functional_bidirectional(),
    "gru": lambda: keras.Sequential(_classifier(L.GRU(16))),
}


def _functional_bidirectional():
    x = L.Input((STEPS, FEATURES))
    y = L.Bidirectional(L.LSTM(10, return_sequences=True))(x)
    y = L.Add()([y, L.Dense(20)(x)])
    y = L.Bidirectional(L.LSTM(8), merge_mode="ave")(y)
    return keras.Model(x, L.Dense(CLASSES, activation="softmax")(y))


def _trained(kind):
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(7)
    x, y = (_per_step if kind == "per_step_labeller" else _signals)(rng, TRAIN + HELD_OUT)
    model = KINDS[kind]()
    if kind == "lstm_regressor":
        y = x[:, :, 0].mean(1, keepdims=True) + 0.5 * x[:, -1, 1:2]
        model.compile(keras.optimizers.Adam(1e-2), "mse")
    else:
        y = y if kind == "per_step_labeller" else y[:, 0]
        model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    model.fit(x[:TRAIN], y[:TRAIN], epochs=8, batch_size=32, verbose=0)
    return model, x[:TRAIN], x[TRAIN:]


def _interpreter(flatbuffer):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=flatbuffer)
    interpreter.allocate_tensors()
    return interpreter


def _run(interpreter, samples):
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    answers = []
    for sample in samples:
        interpreter.set_tensor(inp["index"], sample[None])
        interpreter.invoke()
        answers.append(interpreter.get_tensor(out["index"])[0].copy())
    return np.array(answers)


def _lstm_ops(interpreter):
    return [op for op in interpreter._get_ops_details() if op["op_name"] == "UNIDIRECTIONAL_SEQUENCE_LSTM"]


def _hidden_quantizations(flatbuffer):
    """(scale, zero point) of each fused LSTM's output, hidden state and hidden intermediate."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(flatbuffer, 0)
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    graph = model.subgraphs[0]

    def quantization(index):
        q = graph.tensors[index].quantization
        return float(q.scale[0]), int(q.zeroPoint[0])

    return [(quantization(op.outputs[0]), quantization(op.inputs[fused.OUTPUT_STATE_INPUT]),
             quantization(op.intermediates[fused.HIDDEN_INTERMEDIATE]))
            for op in graph.operators
            if codes[op.opcodeIndex] == schema.BuiltinOperator.UNIDIRECTIONAL_SEQUENCE_LSTM]


@pytest.fixture(scope="module", params=list(KINDS))
def converted(request):
    kind = request.param
    model, train, held_out = _trained(kind)
    mode, form = ("float16", "unrolled") if kind == "gru" else ("int8", "fused_reset")
    flatbuffer = to_tflite(model, mode, train[:300], form=form)
    return kind, model, flatbuffer, held_out


def test_converted_model_agrees_with_keras_on_held_out_data(converted):
    kind, model, flatbuffer, held_out = converted
    expected = model.predict(held_out, verbose=0)
    got = _run(_interpreter(flatbuffer), held_out)
    assert got.shape == expected.shape
    if kind == "lstm_regressor":
        rmse = float(np.sqrt(np.mean((got - expected) ** 2)))
        assert rmse <= 0.05 * float(expected.std()), (rmse, expected.std())
    else:
        agreement = float(np.mean(got.argmax(-1) == expected.argmax(-1)))
        assert agreement >= 0.99, agreement


def test_int8_lstms_are_fused_full_integer_and_compact(converted):
    kind, model, flatbuffer, _ = converted
    if kind == "gru":
        assert "UNIDIRECTIONAL_SEQUENCE_LSTM" not in {
            op["op_name"] for op in _interpreter(flatbuffer)._get_ops_details()}
        return
    interpreter = _interpreter(flatbuffer)
    recurrent = [layer for layer in model.layers if type(layer).__name__ in ("LSTM", "Bidirectional")]
    lstms = _lstm_ops(interpreter)
    assert len(lstms) == sum(2 if type(layer).__name__ == "Bidirectional" else 1 for layer in recurrent)
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    for op in lstms:
        assert all(tensors[i]["dtype"] != np.float32 for i in op["inputs"] if i >= 0), op
        # the output (and state) keeps a scale for its own range, [-1, 1], whatever follows
        assert tensors[op["outputs"][0]]["quantization"][0] * 255 <= 2.02, tensors[op["outputs"][0]]
    # the kernel computes h at its hidden intermediate's quantization, keeps it in the state and
    # copies it to the output: all three read the same way
    for output, state, hidden in _hidden_quantizations(flatbuffer):
        assert output == state == hidden, (output, state, hidden)
    # about a byte per parameter: the int8 weights, plus the reset channels and the op tables
    assert len(flatbuffer) < 1.5 * model.count_params() + 24_000, (len(flatbuffer), model.count_params())


def test_converted_model_is_stateless(converted):
    """The same input gives the same answer whatever ran before, without reset_all_variables."""
    _, _, flatbuffer, held_out = converted
    interpreter = _interpreter(flatbuffer)
    first = _run(interpreter, held_out[:1])
    others = _run(interpreter, held_out[1:4])
    np.testing.assert_array_equal(_run(interpreter, held_out[:1]), first)
    assert np.abs(others - first).max() > 1e-3  # the other inputs do give other answers


@pytest.mark.parametrize("stacked", [False, True], ids=["seed_shape", "stacked"])
def test_int8_reset_holds_against_a_strong_recurrent_pull(stacked):
    """LSTMs whose recurrent weights pull hard (|U.h| can pass the integer kernel's -8 floor on
    its own; one reset step of the input and forget gates left other answers after other
    inputs): the reset steps still empty the state, so inputs run one after another answer
    exactly as each does in a fresh interpreter."""
    rng = np.random.default_rng(5)
    lstms = [L.LSTM(16, return_sequences=True), L.LSTM(16)] if stacked else [L.LSTM(16)]
    model = keras.Sequential([L.Input((STEPS, FEATURES)), *lstms, L.Dense(CLASSES)])
    for lstm in lstms:
        kernel, recurrent, bias = lstm.get_weights()
        lstm.set_weights([kernel, rng.normal(0, 0.8, recurrent.shape), bias])
    x = _signals(rng, 260)[0]
    flatbuffer = to_tflite(model, "int8", x[:200], form="fused_reset")
    fresh = np.array([_run(_interpreter(flatbuffer), x[i:i + 1])[0] for i in range(200, 260)])
    np.testing.assert_array_equal(_run(_interpreter(flatbuffer), x[200:260]), fresh)


def test_layer_normalization_converts_to_int16x8():
    """Keras' LayerNormalization has a NEG the 16x8 quantizer refuses; the stand-in has none."""
    model, train, held_out = _trained("per_step_labeller")
    flatbuffer = to_tflite(model, "int16x8", train[:200], form="unrolled")
    got = _run(_interpreter(flatbuffer), held_out[:50])
    expected = model.predict(held_out[:50], verbose=0)
    assert (got.argmax(-1) == expected.argmax(-1)).mean() >= 0.99


def test_float_forms_convert_every_recurrent_kind(converted):
    kind, model, _, held_out = converted
    forms = candidate_forms(model, "float32")
    assert forms == ("unrolled",) if kind == "gru" else len(forms) == 2
    expected = model.predict(held_out[:20], verbose=0)
    for form in forms:
        got = _run(_interpreter(to_tflite(model, "float32", None, form=form)), held_out[:20])
        np.testing.assert_allclose(got, expected, atol=1e-4, err_msg=form)


def test_seed_forms_are_refused_for_other_models():
    from converters.export import ConversionError

    with pytest.raises(ConversionError, match="the lean form only converts Dense → LSTM → Dense"):
        to_tflite(KINDS["conv1d_lstm"](), "float32", None, form="lean")


def test_seed_model_keeps_its_forms():
    from converters.export import CANDIDATE_FORMS
    from converters.model import build

    assert all(candidate_forms(build(), mode) == CANDIDATE_FORMS[mode] for mode in CANDIDATE_FORMS)


def _refused(model):
    with pytest.raises(EdgeLstmError) as caught:
        check_convertible(model, "model.keras")
    message = str(caught.value)
    assert message.startswith("model.keras: ") and "\n" not in message
    return message


@pytest.mark.parametrize("layer, words", [
    (L.LSTM(4, stateful=True, name="lstm_2"), "layer 'lstm_2' (LSTM) has stateful=True"),
    (L.LSTM(4, go_backwards=True, name="back"), "layer 'back' (LSTM) has go_backwards=True"),
    (L.GRU(4, activation="relu", name="g"), "layer 'g' (GRU) has activation='relu'"),
    (L.LSTM(4, recurrent_activation="hard_sigmoid", name="h"), "recurrent_activation='hard_sigmoid'"),
    (L.SimpleRNN(4, name="rnn"), "layer 'rnn' (SimpleRNN) is a recurrent layer that does not convert"),
])
def test_unsupported_recurrent_options_are_refused(layer, words):
    batch = 1 if getattr(layer, "stateful", False) else None
    model = keras.Sequential([L.Input((5, 3), batch_size=batch), layer, L.Dense(2)])
    assert words in _refused(model)


def test_two_output_bidirectional_is_refused():
    x = L.Input((5, 3))
    forward, backward = L.Bidirectional(L.LSTM(4), merge_mode=None, name="bi")(x)
    model = keras.Model(x, L.Dense(2)(L.Concatenate()([forward, backward])))
    assert "layer 'bi' (Bidirectional) has merge_mode=None" in _refused(model)


def test_masking_custom_layers_and_shapes_are_refused():
    class Custom(L.Layer):
        def call(self, x):
            return x

    assert "(Masking) masks time steps" in _refused(
        keras.Sequential([L.Input((5, 3)), L.Masking(name="m"), L.LSTM(4)]))
    assert "layer 'c' (Custom) is a custom layer" in _refused(
        keras.Sequential([L.Input((5, 3)), Custom(name="c"), L.LSTM(4)]))
    assert "layer 'inner' (Sequential) is a model inside the model" in _refused(keras.Sequential(
        [L.Input((5, 3)), keras.Sequential([L.LSTM(4)], name="inner"), L.Dense(2)]))
    assert "sequence length and feature sizes must be fixed" in _refused(
        keras.Sequential([L.Input((None, 3)), L.LSTM(4)]))
    assert "layer 'td' (TimeDistributed) wraps a recurrent layer" in _refused(keras.Sequential(
        [L.Input((5, 3, 2)), L.TimeDistributed(L.LSTM(4), name="td"), L.Flatten(), L.Dense(2)]))
    assert "computes in float16 (dtype policy 'mixed_float16')" in _refused(keras.Sequential(
        [L.Input((5, 3)), L.LSTM(4, dtype="mixed_float16", name="half")]))
    assert "no recurrent layer" in _refused(keras.Sequential([L.Input((5, 3)), L.Flatten(), L.Dense(2)]))
    a, b = L.Input((5, 3)), L.Input((5, 3))
    assert "2 inputs and 1 outputs" in _refused(keras.Model([a, b], L.LSTM(4)(L.Add()([a, b]))))
    x = L.Input((5, 3))
    assert "return_state=True" in _refused(keras.Model(x, L.LSTM(4, return_state=True)(x)[0]))


def test_load_refuses_what_cannot_convert_in_one_line(tmp_path):
    model = keras.Sequential([L.Input((5, 3)), L.Embedding(10, 4, mask_zero=True, name="words"),
                              L.Reshape((5, 12)), L.LSTM(4)])
    model.save(tmp_path / "masked.keras")
    with pytest.raises(EdgeLstmError, match=r"^masked.keras: layer 'words' \(Embedding\) masks"):
        load(tmp_path / "masked.keras")


@keras.saving.register_keras_serializable(package="test")
class Twice(L.Layer):
    def call(self, x):
        return 2 * x


def test_a_custom_layer_in_a_file_is_named_though_its_class_is_not_registered(tmp_path):
    model = keras.Sequential([L.Input((5, 3)), Twice(name="twice"), L.LSTM(4)])
    model.save(tmp_path / "custom.keras")
    keras.saving.get_custom_objects().pop("test>Twice")  # as in a CLI run, where the class is unknown
    with pytest.raises(EdgeLstmError, match=r"^custom.keras: layer 'twice' \(Twice\) is a custom layer"):
        load(tmp_path / "custom.keras")


def test_a_device_runtime_that_was_not_measured_is_named_in_a_warning():
    from converters.convert import unmeasured
    from edge_lstm.runtime import DEVICE_RUNTIMES
    from edge_lstm.verify import RuntimeSpec

    assert unmeasured([RuntimeSpec(name) for name in DEVICE_RUNTIMES]) == []
    warnings = unmeasured([RuntimeSpec("ai-edge-litert"), RuntimeSpec("tensorflow")])
    assert len(warnings) == 1 and warnings[0].startswith("tflite-runtime was not measured here")
    assert "EDGE_LSTM_TFLITE_RUNTIME_PYTHON" in warnings[0]


def test_int8_falls_back_to_the_unrolled_form_when_the_fused_lstm_fails(tmp_path):
    """An untrained stack on inputs of small range: the integer LSTM kernel answers one class for
    everything, so convert tries the unrolled int8 form before giving up on the mode."""
    import keras

    from conftest import run_cli

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((20, 4)), keras.layers.LSTM(16, return_sequences=True),
                              keras.layers.LSTM(16), keras.layers.Dense(3, activation="softmax")])
    model.save(tmp_path / "m.keras")
    np.savez(tmp_path / "d.npz", x=np.random.default_rng(0).uniform(-0.2, 0.2, (600, 20, 4)))
    done = run_cli("convert", tmp_path / "m.keras", "--data", tmp_path / "d.npz", "--quant", "int8",
                   "--out", tmp_path / "out", "--runtime", "ai-edge-litert")
    assert "no form of int8 passed; trying unrolled" in done.stdout, done.stdout + done.stderr
    assert "m_int8.unrolled.tflite" in done.stdout
