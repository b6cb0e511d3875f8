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
are in docs/conversion.md and docs/performance.md.
"""
from __future__ import annotations

import sys
import tempfile
from typing import Callable, Iterable

import numpy as np

from converters import fused, lean
from converters.graph import Spec, save_keras

MODES = ("float32", "float16", "dynamic", "int8", "int16x8")
FORMS = ("lean", "fused_reset", "fused", "loop", "unrolled")

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


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------
def to_tflite(model, mode: str, calibration: np.ndarray | None,
              int8_io: bool = False, *, form: str | None = None) -> bytes:
    """Convert ``model`` to a TFLite flatbuffer and return its bytes.

    Args:
      model: a built ``keras.Sequential`` (see module docstring for the
        supported layer stack).  It is not modified.
      mode: one of
        ``"float32"`` -- plain float model;
        ``"float16"`` -- float16 weights, float compute;
        ``"dynamic"`` -- dynamic-range: int8 weights, float activations;
        ``"int8"``    -- full-integer: int8 weights and activations;
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
      form: one of :data:`FORMS`; by default the mode's first candidate form.

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
    form = form or CANDIDATE_FORMS[mode][0]
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


def _inspect(model) -> Spec:
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
