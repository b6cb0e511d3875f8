"""Convert a Keras-3 recurrent model to TensorFlow Lite: :func:`to_tflite`, and the graph forms
``convert`` tries for it: :func:`candidate_forms`.

TensorFlow 2.21 cannot convert the Keras-3 LSTM as-is (*TensorListReserve requires element_shape
static*), so the recurrent layers are rebuilt in one of several graph forms. Any model that
:func:`converters.support.check_convertible` accepts converts in the generic forms of
:mod:`converters.walk` (``fused_reset``: every LSTM one self-resetting fused op, GRUs unrolled;
``unrolled``: every recurrent layer unrolled). The seed architecture -- a ``Sequential`` of
``Dense`` layers around one plain LSTM, e.g. ``Input((28, 28)) → Dense(28) → LSTM(28) →
Dense(10)`` -- has its own, faster forms, one module each:

=============== ============================================================= ==================
form            what it is                                                    module
=============== ============================================================= ==================
``lean``        unrolled, input projection hoisted, stateless, any batch      ``converters.lean``
``fused_reset`` one UNIDIRECTIONAL_SEQUENCE_LSTM op, self-resetting: smallest ``converters.fused``
``fused``       the same op, stateful (needs ``reset_all_variables()``)       ``converters.fused``
``loop``        Keras' graph: a WHILE loop                                    ``converters.graph``
``unrolled``    Keras' graph with ``unroll=True``                             ``converters.graph``
=============== ============================================================= ==================

``convert`` tries the :func:`candidate_forms` of each mode and keeps the fastest (or, with
``--prefer size``, the smallest) that passes parity. Measured trade-offs and the forms that fail
are in docs/conversion.md.
"""
from __future__ import annotations

import tempfile
from collections.abc import Iterable
from typing import Callable

import numpy as np

from converters import fused, lean, walk
from converters.graph import Spec, save_keras
from converters.support import check_convertible
from edge_lstm import progress
from edge_lstm.errors import EdgeLstmError
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
#: Forms ``convert`` tries for any other model with an LSTM (:mod:`converters.walk`); a model
#: whose recurrent layers are all GRUs only has the ``unrolled`` form (TFLite has no GRU op).
GENERIC_FORMS = {
    "float32": ("fused_reset", "unrolled"),
    "float16": ("fused_reset", "unrolled"),
    "dynamic": ("fused_reset", "unrolled"),
    "int8": ("fused_reset",),
    "int16x8": ("unrolled",),
}

#: Tried only when every candidate of the mode fails parity: the fused int8 LSTM is compact, but
#: its integer hidden state can drift too far over long sequences and deep stacks; the unrolled
#: cell keeps int8 but is several times larger.
FALLBACK_FORMS = {"int8": "unrolled"}


class ConversionError(RuntimeError):
    """A mode cannot be produced for this model; the message says why."""


def to_tflite(model, mode: str, calibration: np.ndarray | None,
              int8_io: bool = False, *, form: str | None = None) -> bytes:
    """Convert ``model`` (a built Keras model, not modified) to a TFLite flatbuffer.

    ``mode`` is one of :data:`~edge_lstm.quant.MODES`; the full-integer ones need
    ``calibration``: a few hundred inputs ``(N, *model.input_shape[1:])`` float32, preprocessed
    like inference inputs. ``int8_io`` gives a full-integer model integer input and output (read
    their scale and zero point from the interpreter). ``form`` is one of
    :data:`~edge_lstm.recipe.FORMS`, by default the first of :func:`candidate_forms`. Generic
    models (not the seed architecture) convert at batch 1. Raises
    :class:`ConversionError` with the reason when the mode cannot be produced."""
    import tensorflow as tf  # heavy import kept local

    spec = _seed_spec(model)
    form = _check_request(mode, form, int8_io, candidate_forms(model, mode) if form is None else None)
    shape = tuple(model.inputs[0].shape[1:])
    calib = _check_calibration(calibration, shape) if mode in FULL_INTEGER else None
    with tempfile.TemporaryDirectory(prefix="edge_lstm_export_") as tmp:
        _save(model, spec, form, tmp, calib)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
        _configure(converter, mode, calib, int8_io)
        try:
            flatbuffer = bytes(converter.convert())
        except Exception as exc:  # converter errors are long; keep the cause
            raise ConversionError(
                f"TensorFlow Lite converter failed for mode {mode!r} on the {form} form: "
                f"{str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__}"
            ) from exc
    return fused.tie_hidden_state(flatbuffer) if mode in FULL_INTEGER else flatbuffer


def candidate_forms(model, mode: str) -> tuple[str, ...]:
    """The graph forms ``convert`` tries for ``mode``, best guess first: :data:`CANDIDATE_FORMS`
    for a ``Dense* → LSTM → Dense*`` Sequential, else :data:`GENERIC_FORMS` (forms that fuse
    LSTMs only when the model has one)."""
    if mode not in MODES:
        raise ConversionError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    if _seed_spec(model) is not None:
        return CANDIDATE_FORMS[mode]
    if not _has_lstm(model):
        return ("unrolled",)
    return GENERIC_FORMS[mode]


def fallback_form(model, mode: str) -> str | None:
    """The form to try when every one of :func:`candidate_forms` fails parity, if any."""
    if _seed_spec(model) is not None or not _has_lstm(model):
        return None
    return FALLBACK_FORMS.get(mode)


def _save(model, spec, form: str, path: str, calib) -> None:
    """Write ``model`` in graph ``form`` as a SavedModel at ``path``."""
    if spec is None:
        if form not in walk.FORMS:
            raise ConversionError(f"the {form} form only converts Dense → LSTM → Dense models; "
                                  f"this model converts in the {' or '.join(walk.FORMS)} form")
        try:
            check_convertible(model)
        except EdgeLstmError as e:
            raise ConversionError(str(e)) from None
        walk.save(model, path, form, calib)
    elif form == "lean":
        lean.save(model, spec, path)
    elif form in ("fused", "fused_reset"):
        fused.save(model, spec, path, self_reset=(form == "fused_reset"), calib=calib)
    else:
        save_keras(model, spec, path, unroll=(form == "unrolled"))


def _check_request(mode: str, form: str | None, int8_io: bool, candidates) -> str:
    """The form to build (by default the first of ``candidates``), once the mode, form and
    ``int8_io`` are known to go together."""
    if mode not in MODES:
        raise ConversionError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    form = form or candidates[0]
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


def _seed_spec(model) -> Spec | None:
    """The seed architecture's :class:`Spec` -- a ``Sequential`` of Dense (and Dropout) layers
    around one plain LSTM over a fixed ``(timesteps, features)`` input, the only shape the
    ``lean``, ``loop`` and ``fused`` forms convert -- or None for any other model."""
    import keras

    shape = tuple(model.input_shape) if isinstance(model, keras.Sequential) else ()
    if len(shape) != 3 or shape[1] is None or shape[2] is None:
        return None
    kinds = [type(layer).__name__ for layer in model.layers]
    if kinds.count("LSTM") != 1 or set(kinds) - {"LSTM", "Dense", "Dropout"}:
        return None
    lstm = model.layers[kinds.index("LSTM")]
    cfg = lstm.get_config()
    if (cfg["return_sequences"] or cfg["return_state"] or cfg["go_backwards"] or cfg["stateful"]
            or not cfg["use_bias"] or cfg["activation"] != "tanh"
            or cfg["recurrent_activation"] != "sigmoid"):
        return None
    return Spec(int(shape[1]), int(shape[2]), kinds.index("LSTM"), int(lstm.units))


def _has_lstm(model) -> bool:
    """Whether ``model`` has an LSTM, alone or in a ``Bidirectional``."""
    return any(type(getattr(layer, "forward_layer", layer)).__name__ == "LSTM"
               for layer in model.layers)


def _check_calibration(calibration, shape: tuple) -> np.ndarray:
    if calibration is None:
        raise ConversionError(
            "full-integer quantization needs calibration data: pass a few hundred "
            "preprocessed training inputs (--calibration-samples)")
    calib = np.asarray(calibration, dtype=np.float32)
    if calib.shape[1:] != shape or len(calib) == 0:
        raise ConversionError(
            f"calibration data must have shape (N, {', '.join(map(str, shape))}) with N > 0; "
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
