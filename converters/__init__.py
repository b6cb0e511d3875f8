"""Host-side toolchain: everything that needs TensorFlow.

``model`` builds the seed LSTM, ``train`` fits it on MNIST, ``export`` turns a Keras model into
TFLite (float and quantized), ``convert`` runs each conversion in a child process and checks it.
The device package ``edge_lstm`` never imports this package, except lazily in the ``train`` and
``convert`` commands.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's C++ start-up chatter off the terminal
