"""The quantization modes a Keras model is converted to (``convert --quant``, the manifest's
``quant``). Plain data, so that the command line can offer them without loading TensorFlow."""

MODES = ("float32", "float16", "dynamic", "int8", "int16x8")
FULL_INTEGER = ("int8", "int16x8")  # integer activations: calibrated on training images
