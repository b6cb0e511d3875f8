"""Which Keras models convert: :func:`check_convertible` refuses the others in one line, before
any work, naming the layer and the option (as Keras' own messages do: what was received).

A model converts when it has one input of fixed shape, one output, at least one recurrent layer
(``LSTM``, ``GRU``, ``Bidirectional`` of either) and, around them, only the built-in layers of
:data:`AROUND`. Recurrent layers must use Keras' default activations (the cell the fused TFLite
LSTM op implements), run forward over the whole sequence and be stateless: the converted model
gives the same answer for the same input whatever ran before.
"""

from __future__ import annotations

from edge_lstm.errors import EdgeLstmError

RECURRENT = ("LSTM", "GRU")
CUSTOM_LAYER = "is a custom layer; only Keras' built-in layers convert"
#: Layers that may surround the recurrent ones: Keras runs them itself in the converted graph.
AROUND = frozenset({
    "InputLayer", "Dense", "TimeDistributed", "Conv1D", "SeparableConv1D", "DepthwiseConv1D",
    "MaxPooling1D", "AveragePooling1D", "GlobalMaxPooling1D", "GlobalAveragePooling1D",
    "BatchNormalization", "LayerNormalization", "Dropout", "SpatialDropout1D", "GaussianNoise",
    "GaussianDropout", "AlphaDropout", "Flatten", "Reshape", "Permute", "RepeatVector",
    "Cropping1D", "ZeroPadding1D", "UpSampling1D", "Activation", "ReLU", "LeakyReLU", "ELU",
    "Softmax", "PReLU", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
    "Concatenate", "Rescaling", "Normalization",
})
_DEFAULT_ACTIVATIONS = {"activation": "tanh", "recurrent_activation": "sigmoid"}


def check_convertible(model, source: str = "model") -> None:
    """Raise :class:`~edge_lstm.errors.EdgeLstmError` (one line starting with ``source``) unless
    ``model`` is a Keras model :func:`converters.export.to_tflite` can convert."""
    def refuse(text):
        raise EdgeLstmError(f"{source}: {text}")

    if not model.built:
        refuse("the model is not built; give it a keras.Input((timesteps, features))")
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        refuse(f"the model has {len(model.inputs)} inputs and {len(model.outputs)} outputs; "
               "only single-input, single-output models convert")
    shape = tuple(model.inputs[0].shape)
    if any(d is None for d in shape[1:]):
        refuse(f"the model input has shape {shape}; the sequence length and feature sizes must be "
               "fixed (build the model with keras.Input((timesteps, features)))")
    recurrent = 0
    for layer in model.layers:
        recurrent += _check_layer(layer, refuse)
    if not recurrent:
        refuse("the model has no recurrent layer (LSTM, GRU or Bidirectional); "
               "edge-lstm converts recurrent models")


def _check_layer(layer, refuse) -> int:
    """Refuse ``layer`` if it cannot convert; the number of recurrent layers it is (0 or 1)."""
    kind = type(layer).__name__
    named = f"layer {layer.name!r} ({kind})"
    if not type(layer).__module__.startswith("keras."):
        refuse(f"{named} {CUSTOM_LAYER}")
    if layer.compute_dtype != "float32":
        refuse(f"{named} computes in {layer.compute_dtype} (dtype policy "
               f"{layer.dtype_policy.name!r}); convert a float32 copy of the model")
    if kind == "Bidirectional":
        if layer.merge_mode is None:
            refuse(f"{named} has merge_mode=None (two outputs); use 'concat', 'sum', 'mul' or 'ave'")
        _check_recurrent(layer.forward_layer, named, refuse)
        _check_recurrent(layer.backward_layer, named, refuse, backward=True)
        return 1
    if kind in RECURRENT:
        _check_recurrent(layer, named, refuse)
        return 1
    if kind == "Masking" or getattr(layer, "mask_zero", False):
        refuse(f"{named} masks time steps; masking does not convert (pad with values the model "
               "was trained on instead)")
    if hasattr(layer, "cell"):  # SimpleRNN, ConvLSTM1D, an RNN of another cell
        refuse(f"{named} is a recurrent layer that does not convert; only LSTM and GRU do, alone or in "
               "Bidirectional")
    if hasattr(layer, "layers"):
        refuse(f"{named} is a model inside the model; nested models do not convert: build one "
               "model of their layers")
    if kind not in AROUND:
        refuse(f"{named} is not supported around recurrent layers; supported: "
               f"LSTM, GRU, Bidirectional, {', '.join(sorted(AROUND - {'InputLayer'}))}")
    if kind == "TimeDistributed":
        if _check_layer(layer.layer, refuse):
            refuse(f"{named} wraps a recurrent layer; only layers without state may be wrapped")
    return 0


def _check_recurrent(layer, named: str, refuse, backward: bool = False) -> None:
    kind = type(layer).__name__
    if kind not in RECURRENT or not type(layer).__module__.startswith("keras."):
        refuse(f"{named} wraps {kind}; only LSTM and GRU recurrent layers convert")
    cfg = layer.get_config()
    if cfg.get("stateful"):
        refuse(f"{named} has stateful=True; only stateless recurrent layers convert")
    if cfg.get("go_backwards") and not backward:
        refuse(f"{named} has go_backwards=True; wrap a forward layer in Bidirectional, "
               "or reverse the input before the model")
    if cfg.get("return_state"):
        refuse(f"{named} has return_state=True; only the layer's output converts")
    for option, default in _DEFAULT_ACTIVATIONS.items():
        if cfg.get(option) != default:
            refuse(f"{named} has {option}={cfg.get(option)!r}; only Keras' default "
                   f"{option}={default!r} converts")
