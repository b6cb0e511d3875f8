"""Convert a small Keras-3 LSTM classifier to TensorFlow Lite: :func:`to_tflite`.

Supported model shape: a ``keras.Sequential`` of any number of ``Dense`` layers, exactly one
``LSTM`` (``return_sequences=False``, ``tanh``/``sigmoid``, bias on, not ``go_backwards``), then
any number of ``Dense`` layers -- e.g. ``Input((28, 28)) → Dense(28) → LSTM(28) → Dense(10)``.

TensorFlow 2.21 cannot convert the Keras-3 LSTM as-is (*TensorListReserve requires element_shape
static*), so the LSTM is rebuilt in one of several graph forms, one module each:

=============== ============================================================= ==================
form            what it is                                                    module
=============== ============================================================= ==================
``lean``        unrolled, input projection hoisted, stateless, any batch      ``converters.lean``
``fused_reset`` one UNIDIRECTIONAL_SEQUENCE_LSTM op, self-resetting: smallest ``converters.fused``
``fused``       the same op, stateful (needs ``reset_all_variables()``)       ``converters.fused``
``loop``        Keras' graph: a WHILE loop                                    ``converters.graph``
``unrolled``    Keras' graph with ``unroll=True``                             ``converters.graph``
=============== ============================================================= ==================

``convert`` tries the :data:`CANDIDATE_FORMS` of each mode and keeps the fastest (or, with
``--prefer size``, the smallest) that passes parity. Measured trade-offs and the forms that fail
are in docs/conversion.md.
"""
from __future__ import annotations

import tempfile
from collections.abc import Iterable
from typing import Callable

import numpy as np

from converters import fused, lean
from converters.graph import Spec, save_keras
from edge_lstm import progress
from edge_lstm.quant import FULL_INTEGER, MODES
from edge_lstm.recipe import FORMS

#: Forms ``convert`` tries for each mode; the first is :func:`to_tflite`'s default. "dynamic" on
#: the fused forms quantizes nothing (the weight tensors are under the converter's 1024-element
#: threshold), and the 16x8 quantizer does not support the fused op.
CANDIDATE_FORMS = {
    "float32": ("lean", "loop"),
    "float16": ("lean", "loop"),
    "dynamic": ("lean", "loop"),
    "int8": ("lean", "fused_reset"),
    "int16x8": ("lean", "unrolled"),
}


class ConversionError(RuntimeError):
    """A mode cannot be produced for this model; the message says why."""


def to_tflite(model, mode: str, calibration: np.ndarray | None,
              int8_io: bool = False, *, form: str | None = None) -> bytes:
    """Convert ``model`` (a built ``keras.Sequential``, not modified) to a TFLite flatbuffer.

    ``mode`` is one of :data:`~edge_lstm.quant.MODES`; the full-integer ones need
    ``calibration``: a few hundred inputs ``(N, T, F)`` float32, preprocessed like inference
    inputs (:func:`converters.convert.calibration_images`). ``int8_io`` gives a full-integer
    model integer input and output (read their scale and zero point from the interpreter).
    ``form`` is one of :data:`~edge_lstm.recipe.FORMS`, by default the mode's first candidate. Raises
    :class:`ConversionError` with the reason when the mode cannot be produced."""
    import tensorflow as tf  # heavy import kept local

    form = _check_request(mode, form, int8_io)
    spec = _inspect(model)
    calib = _check_calibration(calibration, spec) if mode in FULL_INTEGER else None
    with tempfile.TemporaryDirectory(prefix="edge_lstm_export_") as tmp:
        if form == "lean":
            lean.save(model, spec, tmp)
        elif form in ("fused", "fused_reset"):
            fused.save(model, spec, tmp, self_reset=(form == "fused_reset"), calib=calib)
        else:
            save_keras(model, spec, tmp, unroll=(form == "unrolled"))
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
        _configure(converter, mode, calib, int8_io)
        try:
            return bytes(converter.convert())
        except Exception as exc:  # converter errors are long; keep the cause
            raise ConversionError(
                f"TensorFlow Lite converter failed for mode {mode!r} on the {form} form: "
                f"{str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__}"
            ) from exc


def _check_request(mode: str, form: str | None, int8_io: bool) -> str:
    """The form to build, once the mode, form and ``int8_io`` are known to go together."""
    if mode not in MODES:
        raise ConversionError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    form = form or CANDIDATE_FORMS[mode][0]
    if form not in FORMS:
        raise ConversionError(f"unknown graph form {form!r}; choose one of {', '.join(FORMS)}")
    if int8_io and mode not in FULL_INTEGER:
        raise ConversionError(
            f"int8_io=True only makes sense for the full-integer modes ({', '.join(FULL_INTEGER)}), "
            f"not {mode!r}: float and dynamic-range models keep float32 input/output")
    if mode == "int16x8" and form.startswith("fused"):
        raise ConversionError(
            "int16x8 cannot use the fused LSTM form: the TFLite 16x8 quantizer does not "
            "support UNIDIRECTIONAL_SEQUENCE_LSTM (use form='unrolled')")
    # Full-integer calibration of the loop (WHILE) form crashes the TensorFlow 2.21 converter
    # with a segmentation fault; it is left possible on purpose, as the case that
    # converters.convert's crash isolation exists for.
    return form


def _inspect(model) -> Spec:
    import keras

    shape = tuple(model.input_shape)
    if len(shape) != 3 or shape[1] is None or shape[2] is None:
        raise ConversionError(
            f"the model input must be (batch, timesteps, features) with fixed timesteps "
            f"and features; got {shape}")
    lstm_idx = [i for i, layer in enumerate(model.layers) if isinstance(layer, keras.layers.LSTM)]
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
    return Spec(int(shape[1]), int(shape[2]), lstm_idx[0], int(lstm.units))


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
    """Feed the calibrator one sample at a time, showing its progress."""
    def gen():
        for i in progress.track(range(len(calib)), "calibrating", len(calib), "samples"):
            yield [calib[i:i + 1]]
    return gen
