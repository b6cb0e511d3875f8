"""edge-lstm: a Keras LSTM digit classifier, from training to a quantized TFLite model on the device.

This package is the device side plus the command line. Importing it never imports TensorFlow:
the host-side toolchain that needs TensorFlow lives in the ``converters`` package.
"""

import os

__version__ = "0.1.0"

# OpenCV reads these when it loads, so they are set before any module imports cv2: refuse to
# decode images over 50 megapixels (rather than allocate them on a small device), and keep
# OpenCV's and its FFmpeg's own log off the terminal (edge-lstm reports every failure itself, in one
# line).
MAX_IMAGE_PIXELS = 50_000_000
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_IMAGE_PIXELS))
os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
