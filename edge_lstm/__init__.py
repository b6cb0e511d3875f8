"""edge-lstm: a Keras LSTM digit classifier, from training to a quantized TFLite model on the device.

This package is the device side plus the command line. Importing it never imports TensorFlow:
the host-side toolchain that needs TensorFlow lives in the ``converters`` package.
"""

__version__ = "0.1.0"
