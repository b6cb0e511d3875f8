"""The quantization modes a Keras model is converted to (``convert --quant``, the manifest's
``quant``), each with what it stores. Plain data, so that the command line can offer them without
loading TensorFlow."""

MODES = {
    "float32": "float weights and activations",
    "float16": "float16 weights",
    "dynamic": "int8 weights",
    "int8": "full integer",
    "int16x8": "16-bit activations, int8 weights",
}
FULL_INTEGER = ("int8", "int16x8")  # integer activations: calibrated on training images
