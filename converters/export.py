"""Convert a small Keras-3 LSTM classifier to TensorFlow Lite.

Supported model shape
---------------------
A ``keras.Sequential`` whose layers are any number of ``Dense`` layers, then
exactly one ``LSTM`` (``return_sequences=False``, ``tanh``/``sigmoid``
activations, bias on, no dropout at inference, not ``go_backwards``), then any
number of ``Dense`` layers -- e.g. the edge-lstm MNIST model
``Input((28, 28)) -> Dense(28) -> LSTM(28) -> Dense(10, softmax)``.

Public entry point: :func:`to_tflite`.

Graph forms
-----------
TensorFlow 2.21 cannot convert the Keras-3 LSTM as-is
(``TFLiteConverter.from_keras_model`` fails with *TensorListReserve requires
element_shape static*).  Four graph forms are built here, all with a fixed
batch size of 1, and each mode uses the one that works best for it
(:data:`DEFAULT_FORM`):

``fused``  (not a default; ``form="fused"``)
    The LSTM is written as a ``tf.function`` carrying the same
    ``api_implements="lstm_<uuid>"`` attributes that legacy tf.keras puts on
    its LSTM.  The converter's *prepare-composite-functions* pass replaces it
    by one ``UNIDIRECTIONAL_SEQUENCE_LSTM`` op.  Full-integer quantization of
    that op is supported (int8 weights and activations, 16-bit cell state),
    and the int8 file is ~14 KB.

    !! This model is STATEFUL.  The op's h/c states are TFLite *variable
    tensors*: the final state of one ``invoke()`` is the initial state of the
    next one.  Callers MUST call ``interpreter.reset_all_variables()`` before
    every ``invoke()`` (each image is an independent sequence); without it
    accuracy falls to ~38 %.  This -- not a weight-order bug -- is why the
    tf_keras fused model looked "wrong in every interpreter".

``fused_reset``  (default for ``int8``)
    The ``fused`` form made self-resetting: one extra "reset" time step is put
    in front of the sequence, on ``k`` extra input channels that are zero on
    the real steps.  Their kernel rows drive the input and forget gates far
    negative (each weight no larger than the kernel's existing max |w|, the
    reset value no larger than the calibrated LSTM-input range, so the int8
    scales are unchanged), hence after that step c = f*c_prev + i*g ~ 0 and
    h ~ 0 whatever state the previous invoke() left.  The real steps then run
    from a zero state, so ``reset_all_variables()`` is not needed (still
    harmless).  Cost: one time step, k*4*units extra weights (k = 9, +1.6 KB
    for the MNIST model), PAD + CONCATENATION ops.  int8: 15.4 KB, 99.75 %
    top-1 agreement with Keras.

``loop``   (used for ``float32``, ``float16``, ``dynamic``)
    Keras' own LSTM exported at batch 1; the converter lowers it to a
    ``WHILE`` loop.  Stateless and correct for float / float16 / dynamic-range,
    but full-integer calibration of this form crashes the converter (segfault).

``unrolled`` (used for ``int16x8``)
    The LSTM re-built with ``unroll=True`` (same weights): 28 copies of the
    cell.  Every mode converts, but the file is large (~140 KB in int8).  The
    16x8 quantizer does not support the fused LSTM op, so ``int16x8`` uses it.

Any mode can be forced onto another form with the ``form=`` keyword (useful
for experiments; e.g. ``form="fused"`` for float32 gives a 33 KB stateful
model).  Note: "dynamic" on the fused forms quantizes nothing (the converter
skips weight tensors under 1024 elements and the fused op keeps separate
units x features gate matrices), which is why "dynamic" uses the loop form.

Runtime notes (see docs/conversion.md): tflite-runtime 2.14 refuses the
"dynamic" model (FULLY_CONNECTED v12) and mis-answers the "int16x8" model;
float32, float16 and int8 run correctly there.
"""
from __future__ import annotations

import sys
import tempfile
import uuid
from typing import Callable, Iterable

import numpy as np

from converters import lean

MODES = ("float32", "float16", "dynamic", "int8", "int16x8")
FORMS = ("fused_reset", "fused", "loop", "unrolled", "lean")

#: Graph form used for each mode when ``form`` is not given.
DEFAULT_FORM = {
    "float32": "loop",
    "float16": "loop",
    "dynamic": "loop",
    "int8": "fused_reset",
    "int16x8": "unrolled",
}



class ConversionError(RuntimeError):
    """A mode cannot be produced for this model; the message says why."""


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------
def to_tflite(model, mode: str, calibration: np.ndarray | None,
              int8_io: bool = False, *, form: str | None = None,
              per_channel: bool = True) -> bytes:
    """Convert ``model`` to a TFLite flatbuffer and return its bytes.

    Args:
      model: a built ``keras.Sequential`` (see module docstring for the
        supported layer stack).  It is not modified.
      mode: one of
        ``"float32"`` -- plain float model;
        ``"float16"`` -- float16 weights, float compute;
        ``"dynamic"`` -- dynamic-range: int8 weights, float activations;
        ``"int8"``    -- full-integer: int8 weights and activations (fused
                         LSTM op, self-resetting ``fused_reset`` form);
        ``"int16x8"`` -- full-integer, 16-bit activations and 8-bit weights.
      calibration: representative inputs, shape ``(N, T, F)`` float32, already
        preprocessed exactly like inference inputs (``image / 255.0``; see
        ``converters.convert.calibration_images``).
        Required for ``int8`` and ``int16x8``; ignored otherwise.  A few
        hundred samples are enough.
      int8_io: for ``int8`` make the model's input and output int8 (and int16
        for ``int16x8``) instead of float32.  Read the input/output
        ``quantization`` (scale, zero_point) from the interpreter to
        (de)quantize.  Not allowed for the float modes.
      form: override the graph form (``"fused_reset"``, ``"fused"``,
        ``"loop"`` or ``"unrolled"``); by default :data:`DEFAULT_FORM` is used.
      per_channel: quantize weights per output channel (default).  Set False
        for per-tensor scales: needed for the ``dynamic`` model to load on
        tflite-runtime <= 2.14, which lacks FULLY_CONNECTED v12 (per-channel
        hybrid); per-tensor gives FULLY_CONNECTED v9 at a small accuracy cost
        (MNIST: 99.70 % vs 99.87 % agreement).  No effect on float32/float16.

    Returns:
      The ``.tflite`` file contents.

    Raises:
      ConversionError: with a plain-words reason when the mode cannot be
        produced (unknown mode, missing calibration data, unsupported layer,
        a form/mode combination the converter cannot handle, ...).
    """
    import tensorflow as tf  # heavy import kept local

    if mode not in MODES:
        raise ConversionError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    form = form or DEFAULT_FORM[mode]
    if form not in FORMS:
        raise ConversionError(f"unknown graph form {form!r}; choose one of {', '.join(FORMS)}")
    if int8_io and mode not in ("int8", "int16x8"):
        raise ConversionError(
            f"int8_io=True only makes sense for the full-integer modes (int8, int16x8), "
            f"not {mode!r}: float and dynamic-range models keep float32 input/output")
    if mode == "int16x8" and form.startswith("fused"):
        raise ConversionError(
            "int16x8 cannot use the fused LSTM form: the TFLite 16x8 quantizer does not "
            "support UNIDIRECTIONAL_SEQUENCE_LSTM (use form='unrolled')")
    # Full-integer calibration of the loop (WHILE) form crashes the TensorFlow 2.21 converter
    # with a segmentation fault; it is left possible on purpose, as the case that
    # converters.convert's crash isolation exists for.

    spec = _inspect(model)
    calib = None
    if mode in ("int8", "int16x8"):
        calib = _check_calibration(calibration, spec)

    with tempfile.TemporaryDirectory(prefix="edge_lstm_export_") as tmp:
        if form == "lean":
            lean.save(model, spec, tmp)
        elif form in ("fused", "fused_reset"):
            _save_fused(model, spec, tmp, self_reset=(form == "fused_reset"), calib=calib)
        else:
            _save_keras(model, spec, tmp, unroll=(form == "unrolled"))
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
        _configure(converter, mode, calib, int8_io)
        if not per_channel:
            # Private but long-standing converter switch (TF 2.x).
            converter._experimental_disable_per_channel = True
        try:
            return bytes(converter.convert())
        except Exception as exc:  # converter errors are long; keep the cause
            raise ConversionError(
                f"TensorFlow Lite converter failed for mode {mode!r} on the {form} form: "
                f"{str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__}"
            ) from exc


# --------------------------------------------------------------------------
# model inspection
# --------------------------------------------------------------------------
class _Spec:
    def __init__(self, timesteps, features, lstm_index, units):
        self.timesteps, self.features = timesteps, features
        self.lstm_index, self.units = lstm_index, units


def _inspect(model) -> _Spec:
    import keras

    shape = tuple(model.input_shape)
    if len(shape) != 3 or shape[1] is None or shape[2] is None:
        raise ConversionError(
            f"the model input must be (batch, timesteps, features) with fixed timesteps "
            f"and features; got {shape}")
    lstm_idx = [i for i, l in enumerate(model.layers) if isinstance(l, keras.layers.LSTM)]
    if len(lstm_idx) != 1:
        raise ConversionError(f"expected exactly one LSTM layer, found {len(lstm_idx)}")
    for i, layer in enumerate(model.layers):
        if i != lstm_idx[0] and not isinstance(layer, (keras.layers.Dense, keras.layers.Dropout)):
            raise ConversionError(
                f"unsupported layer {layer.name!r} ({type(layer).__name__}); only Dense/Dropout "
                "layers around a single LSTM are supported")
    lstm = model.layers[lstm_idx[0]]
    cfg = lstm.get_config()
    problems = []
    if cfg.get("return_sequences"):
        problems.append("return_sequences=True")
    if cfg.get("return_state"):
        problems.append("return_state=True")
    if cfg.get("go_backwards"):
        problems.append("go_backwards=True")
    if cfg.get("stateful"):
        problems.append("stateful=True")
    if not cfg.get("use_bias", True):
        problems.append("use_bias=False")
    if cfg.get("activation") != "tanh":
        problems.append(f"activation={cfg.get('activation')!r} (needs 'tanh')")
    if cfg.get("recurrent_activation") != "sigmoid":
        problems.append(f"recurrent_activation={cfg.get('recurrent_activation')!r} (needs 'sigmoid')")
    if problems:
        raise ConversionError("the LSTM layer cannot be converted: " + ", ".join(problems))
    return _Spec(int(shape[1]), int(shape[2]), lstm_idx[0], int(lstm.units))


def _check_calibration(calibration, spec) -> np.ndarray:
    if calibration is None:
        raise ConversionError(
            "full-integer quantization needs calibration data: pass a few hundred "
            "preprocessed training inputs (--calibration-samples)")
    calib = np.asarray(calibration, dtype=np.float32)
    if calib.ndim != 3 or calib.shape[1:] != (spec.timesteps, spec.features) or len(calib) == 0:
        raise ConversionError(
            f"calibration data must have shape (N, {spec.timesteps}, {spec.features}) with N > 0; "
            f"got {calib.shape}")
    if not np.isfinite(calib).all():
        raise ConversionError("calibration data contains NaN or infinite values")
    return calib


# --------------------------------------------------------------------------
# graph forms
# --------------------------------------------------------------------------
def _input_spec(spec):
    import tensorflow as tf
    return tf.TensorSpec([1, spec.timesteps, spec.features], tf.float32, name="input")


def _save_keras(model, spec, path: str, unroll: bool) -> None:
    """Keras' own graph at batch 1 (``loop``), or with the LSTM unrolled."""
    import keras

    if unroll:
        cfg = model.get_config()
        for layer_cfg in cfg["layers"]:
            if layer_cfg["class_name"] == "LSTM":
                layer_cfg["config"]["unroll"] = True
        clone = keras.Sequential.from_config(cfg)
        clone.set_weights(model.get_weights())
        model = clone
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        "serve", lambda x: model(x, training=False), input_signature=[_input_spec(spec)])
    archive.write_out(path, verbose=False)


def _lstm_reference(inputs, init_h, init_c, kernel, recurrent_kernel, bias):
    """Plain-TF LSTM (batch-major, gate order i, f, c, o; Keras semantics).

    Only used when the graph runs in TensorFlow; the TFLite converter throws
    this body away and emits UNIDIRECTIONAL_SEQUENCE_LSTM from the arguments.
    The argument list and the five results follow tf_keras' ``standard_lstm``
    contract that the converter expects: (last_output, all_outputs, h, c,
    runtime).
    """
    import tensorflow as tf

    h, c = init_h, init_c
    outputs = []
    for x in tf.unstack(inputs, axis=1):
        z = tf.matmul(x, kernel) + tf.matmul(h, recurrent_kernel) + bias
        i, f, g, o = tf.split(z, 4, axis=1)
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
        h = tf.sigmoid(o) * tf.tanh(c)
        outputs.append(h)
    return (tf.identity(h), tf.stack(outputs, axis=1), tf.identity(h), tf.identity(c),
            tf.constant(0.0))


def _fused_lstm_fn():
    import tensorflow as tf

    # Same attributes tf_keras attaches to its LSTM; "lstm_" prefix +
    # time_major/go_backwards are what the TFLite converter looks for.
    return tf.function(_lstm_reference, autograph=False, experimental_attributes={
        "api_implements": "lstm_" + str(uuid.uuid4()),
        "api_preferred_device": "CPU",
        "time_major": False,
        "go_backwards": False,
    })


def _reset_step(model, spec, calib):
    """Extra input channels + reset time step for the ``fused_reset`` form.

    Returns (k, value, extra_kernel_rows) -- see the module docstring.
    """
    import keras

    lstm = model.layers[spec.lstm_index]
    kernel, recurrent_kernel, bias = [np.asarray(w, np.float64) for w in lstm.get_weights()]
    u = spec.units
    # LSTM-input range seen on calibration data (pre-LSTM layers in numpy).
    value = 1.0
    if calib is not None:
        y = calib.astype(np.float64)
        for layer in model.layers[:spec.lstm_index]:
            if isinstance(layer, keras.layers.Dense):
                ws = layer.get_weights()
                y = y @ ws[0] + (ws[1] if len(ws) > 1 else 0.0)
                y = np.asarray(layer.activation(y.astype(np.float32)), np.float64)
        value = float(np.abs(y).max()) or 1.0
    w = float(np.abs(kernel).max())
    # |h| <= 1, so |U.h + b| for the i and f gates is bounded by:
    bound = float((np.abs(recurrent_kernel).sum(0) + np.abs(bias))[:2 * u].max())
    k = max(1, int(np.ceil((bound + 12.0) / (w * value))))  # pre-activation <= -12
    rows = np.zeros((k, 4 * u), np.float32)
    rows[:, :2 * u] = -w  # input gate and forget gate columns
    return k, value, rows


def _save_fused(model, spec, path: str, self_reset: bool = False, calib=None) -> None:
    """Saved model whose LSTM the converter fuses into one TFLite op.

    Gotchas found while building this (TF 2.21):
      * the kernel/recurrent_kernel/bias must reach the LSTM function as
        *tensors* (``tf.identity(var)``); passing the variables themselves
        passes resource handles and the converter segfaults in
        CheckFusableKerasLstm;
      * the initial states must be two distinct constants of static shape
        (batch fixed at 1), otherwise the fusion silently does not happen;
        the converter turns them into the op's variable (stateful) tensors.
        Making them data-dependent (e.g. ``x[:, 0] * 0``) gives a stateless
        float model under XNNPACK but crashes the reference kernels and the
        calibrator, so it is not used.
    """
    import tensorflow as tf

    import keras

    def const(w):
        return tf.Variable(np.asarray(w, np.float32), trainable=False)

    # Copy every weight into plain tf.Variables (Keras-3 variables would stay
    # resource variables -- VAR_HANDLE/READ_VARIABLE ops -- in the TFLite model).
    plan = []  # (kind, variables, activation)
    for i, layer in enumerate(model.layers):
        if i == spec.lstm_index:
            ws = [np.asarray(w, np.float32) for w in layer.get_weights()]
            if self_reset:
                k, value, rows = _reset_step(model, spec, calib)
                ws[0] = np.concatenate([ws[0], rows], axis=0)
            plan.append(("lstm", [const(w) for w in ws], None))
        elif isinstance(layer, keras.layers.Dense):
            ws = [const(w) for w in layer.get_weights()]
            plan.append(("dense", ws, layer.activation))
        # Dropout: identity at inference
    fused = _fused_lstm_fn()
    variables = [v for _, ws, _ in plan for v in ws]

    class _Fused(tf.Module):
        def __init__(self):
            super().__init__()
            self.weights = variables

        @tf.function(input_signature=[_input_spec(spec)])
        def serve(self, x):
            for kind, ws, activation in plan:
                if kind == "lstm":
                    zeros_h = tf.zeros([1, spec.units], tf.float32)
                    zeros_c = tf.zeros([1, spec.units], tf.float32)
                    if self_reset:
                        feat = x.shape[-1]
                        x = tf.pad(x, [[0, 0], [0, 0], [0, k]])
                        reset_row = np.zeros((1, 1, feat + k), np.float32)
                        reset_row[..., feat:] = value
                        x = tf.concat([tf.constant(reset_row), x], axis=1)
                    x = fused(x, zeros_h, zeros_c, *[tf.identity(w) for w in ws])[0]
                else:
                    x = tf.tensordot(x, ws[0], axes=[[x.shape.rank - 1], [0]])
                    if len(ws) > 1:
                        x = x + ws[1]
                    x = activation(x)
            return {"output_0": x}

    module = _Fused()
    tf.saved_model.save(module, path, signatures={"serving_default": module.serve})


# --------------------------------------------------------------------------
# converter settings
# --------------------------------------------------------------------------
def _configure(converter, mode: str, calib: np.ndarray | None, int8_io: bool) -> None:
    import tensorflow as tf

    if mode == "float32":
        return
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
        return
    if mode == "dynamic":
        return
    converter.representative_dataset = _calibration_gen(calib)
    if mode == "int8":
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        io_type = tf.int8
    else:  # int16x8
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
        io_type = tf.int16
    if int8_io:
        converter.inference_input_type = io_type
        converter.inference_output_type = io_type


def _calibration_gen(calib: np.ndarray) -> Callable[[], Iterable[list]]:
    """Feed the calibrator one sample at a time, with a progress line on the terminal."""
    live = sys.stdout.isatty()

    def gen():
        step = max(1, len(calib) // 20)
        for i in range(len(calib)):
            if live and (i % step == 0 or i == len(calib) - 1):
                print(f"\r      calibrating {i + 1}/{len(calib)}", end="", flush=True)
            yield [calib[i:i + 1]]
        print(f"\r      calibrated on {len(calib)} samples" if live else
              f"      calibrated on {len(calib)} samples", flush=True)
    return gen
