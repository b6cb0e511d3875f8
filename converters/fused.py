"""The ``fused`` and ``fused_reset`` graph forms: the whole LSTM as one TFLite op.

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

``fused_reset``  (the size-first ``int8``)
    The ``fused`` form made self-resetting: :data:`RESET_STEPS` extra "reset"
    time steps are put in front of the sequence, on ``k`` extra input channels
    that are zero on the real steps; their kernel rows close the input, forget
    and output gates (:func:`reset_plan`), so the real steps run from a zero
    state whatever the previous invoke() left, and ``reset_all_variables()``
    is not needed (still harmless).  Cost: four time steps, k*4*units extra
    weights, PAD + CONCATENATION ops.  Measured figures: docs/conversion.md.
"""

from __future__ import annotations

import uuid

import numpy as np

from converters.graph import input_spec


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


def fused_lstm_fn():
    import tensorflow as tf

    # Same attributes tf_keras attaches to its LSTM; "lstm_" prefix +
    # time_major/go_backwards are what the TFLite converter looks for.
    return tf.function(_lstm_reference, autograph=False, experimental_attributes={
        "api_implements": "lstm_" + str(uuid.uuid4()),
        "api_preferred_device": "CPU",
        "time_major": False,
        "go_backwards": False,
    })


# Reset steps put before the sequence of a self-resetting LSTM; each costs one time step.
RESET_STEPS = 4
# The integer LSTM kernel saturates the input part of a gate's pre-activation (W.x + b) at -8
# (int16, 12 fractional bits) before it adds the recurrent part U.h.
GATE_FLOOR = -8.0
# Beyond the floor, for the int8 rounding of the reset rows.
DRIVE_MARGIN = 0.25


def reset_plan(kernel, recurrent_kernel, bias, input_range: float | None):
    """``(k, value, rows)`` of a self-resetting LSTM: ``k`` extra input channels, zero on the
    real steps and ``value`` on the :data:`RESET_STEPS` reset steps, whose kernel ``rows`` push
    the input, forget and output gates down.

    int8 (``input_range``: the LSTM input's calibrated range): ``value`` is that range and each
    row weight the kernel's largest, so that no int8 scale changes; the push takes ``W.x + b``
    just to the kernel's floor, where any larger push is lost. Whatever state the previous input
    left, the closed output gate leaves ``h = o.tanh(c)`` near 0 after the first step, so ``U.h``
    can no longer hold a gate open and the next steps empty the cell (a 4 × LSTM(128) stack over
    100 steps: 86.5% agreement with Keras with the input and forget gates pushed, 100% with the
    output gate too; one reset step left small differences after other inputs).
    Float (``None``): one channel, pushed 12 below any ``U.h + b``."""
    units = kernel.shape[1] // 4
    w = float(np.abs(kernel).max()) or 1.0
    if input_range is None:
        drive = float((np.abs(recurrent_kernel).sum(0) + np.abs(bias))[:2 * units].max()) + 12.0
        k, value = 1, drive / w
    else:
        gates = np.concatenate([bias[:2 * units], bias[3 * units:]])
        drive = -GATE_FLOOR + max(float(gates.max()), 0.0) + DRIVE_MARGIN
        k, value = max(1, int(np.ceil(drive / (w * input_range)))), input_range
    rows = np.zeros((k, 4 * units), np.float32)
    rows[:, :2 * units] = -w  # input and forget gates
    rows[:, 3 * units:] = -w  # output gate
    return k, value, rows


def _seed_input_range(model, spec, calib) -> float | None:
    """The seed LSTM's input range on the calibration inputs (the Dense layers before it, in
    numpy); None without calibration."""
    import keras

    if calib is None:
        return None
    y = calib.astype(np.float64)
    for layer in model.layers[:spec.lstm_index]:
        if isinstance(layer, keras.layers.Dense):
            ws = layer.get_weights()
            y = y @ ws[0] + (ws[1] if len(ws) > 1 else 0.0)
            y = np.asarray(layer.activation(y.astype(np.float32)), np.float64)
    return float(np.abs(y).max()) or 1.0


def save(model, spec, path: str, self_reset: bool = False, calib=None) -> None:
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

    plan, reset = _plan(model, spec, self_reset, calib)
    fused = fused_lstm_fn()
    variables = [v for _, ws, _ in plan for v in ws]

    class _Fused(tf.Module):
        def __init__(self):
            super().__init__()
            self.weights = variables

        @tf.function(input_signature=[input_spec(spec)])
        def serve(self, x):
            for kind, ws, activation in plan:
                if kind == "lstm":
                    zeros_h = tf.zeros([1, spec.units], tf.float32)
                    zeros_c = tf.zeros([1, spec.units], tf.float32)
                    if reset:
                        x = with_reset_step(x, *reset, RESET_STEPS)
                    x = fused(x, zeros_h, zeros_c, *[tf.identity(w) for w in ws])[0]
                else:
                    x = tf.tensordot(x, ws[0], axes=[[x.shape.rank - 1], [0]])
                    if len(ws) > 1:
                        x = x + ws[1]
                    x = activation(x)
            return {"output_0": x}

    module = _Fused()
    tf.saved_model.save(module, path, signatures={"serving_default": module.serve})


def _plan(model, spec, self_reset: bool, calib):
    """The layers as ``(kind, variables, activation)`` steps, and the ``fused_reset`` form's
    ``(k, value)`` (None for ``fused``).

    Every weight is copied into a plain tf.Variable: Keras-3 variables would stay resource
    variables (VAR_HANDLE/READ_VARIABLE ops) in the TFLite model."""
    import keras
    import tensorflow as tf

    def const(w):
        return tf.Variable(np.asarray(w, np.float32), trainable=False)

    plan, reset = [], None
    for i, layer in enumerate(model.layers):
        if i == spec.lstm_index:
            ws = [np.asarray(w, np.float32) for w in layer.get_weights()]
            if self_reset:
                k, value, rows = reset_plan(*(np.asarray(w, np.float64) for w in ws),
                                            _seed_input_range(model, spec, calib))
                ws[0] = np.concatenate([ws[0], rows], axis=0)
                reset = (k, value)
            plan.append(("lstm", [const(w) for w in ws], None))
        elif isinstance(layer, keras.layers.Dense):
            plan.append(("dense", [const(w) for w in layer.get_weights()], layer.activation))
        # Dropout: identity at inference
    return plan, reset


def with_reset_step(x, k: int, value: float, steps: int):
    """``x`` with ``k`` zero channels, and ``steps`` first time steps that are ``value`` on them
    only."""
    import tensorflow as tf

    feat = x.shape[-1]
    x = tf.pad(x, [[0, 0], [0, 0], [0, k]])
    reset_row = np.zeros((1, steps, feat + k), np.float32)
    reset_row[..., feat:] = value
    return tf.concat([tf.constant(reset_row), x], axis=1)


# The input of UNIDIRECTIONAL_SEQUENCE_LSTM that is its hidden-state (variable) tensor, and the
# intermediate whose quantization the integer kernel computes h in.
OUTPUT_STATE_INPUT = 18
HIDDEN_INTERMEDIATE = 4


def tie_hidden_state(flatbuffer: bytes) -> bytes:
    """``flatbuffer`` with each integer fused LSTM's hidden state quantized like the op's output.
    The integer kernel computes h at the scale and zero point of the op's hidden intermediate,
    stores those bytes in the hidden-state tensor (read back at that tensor's scale next step)
    and copies them to the output; the quantizer may give the three different ones: the output
    takes the scale a same-scale op downstream imposes (the next LSTM's reset-step
    CONCATENATION, through a slice), the intermediate keeps its calibrated one. A 4 × LSTM(128)
    stack over 100 steps then read every h off by a few steps (zero point 4 against 0): 62.5%
    top-1 agreement, 100% once all three agree. Unchanged when nothing differs."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    root = schema.Model.GetRootAs(flatbuffer, 0)
    codes = (root.OperatorCodes(i) for i in range(root.OperatorCodesLength()))
    lstm = {i for i, code in enumerate(codes) if max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
            == schema.BuiltinOperator.UNIDIRECTIONAL_SEQUENCE_LSTM}
    if not lstm:  # read in place; unpacking copies every weight
        return flatbuffer
    model = schema.ModelT.InitFromObj(root)
    changed = False
    for graph in model.subgraphs:
        for op in graph.operators or []:
            if op.opcodeIndex in lstm:
                changed |= _tie(graph.tensors, op)
    if not changed:
        return flatbuffer
    builder = flatbuffers.Builder(len(flatbuffer) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _tie(tensors, op) -> bool:
    """Give ``op``'s hidden state and hidden intermediate its output's quantization; whether any
    changed."""
    out = tensors[op.outputs[0]].quantization
    if out is None or out.scale is None:
        return False
    tied = [op.inputs[OUTPUT_STATE_INPUT]] if len(op.inputs) > OUTPUT_STATE_INPUT else []
    intermediates = list(op.intermediates) if op.intermediates is not None else []
    if len(intermediates) > HIDDEN_INTERMEDIATE:
        tied.append(intermediates[HIDDEN_INTERMEDIATE])
    changed = False
    for index in tied:
        q = tensors[index].quantization if index >= 0 else None
        if q is None or (np.array_equal(q.scale, out.scale) and np.array_equal(q.zeroPoint, out.zeroPoint)):
            continue
        q.scale, q.zeroPoint = out.scale, out.zeroPoint
        changed = True
    return changed
