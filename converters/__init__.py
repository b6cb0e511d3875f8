"""Host-side toolchain: everything that needs TensorFlow.

``model`` builds the seed LSTM, ``train`` fits it on MNIST, ``export`` turns a Keras model into
TFLite (float and quantized), ``convert`` runs each conversion in a child process and checks it.
The device package ``edge_lstm`` never imports this package, except lazily in the ``train`` and
``convert`` commands.
"""

from edge_lstm import tf_log

# Before any module here imports TensorFlow, also in convert's child processes. TF_ENABLE_ONEDNN_OPTS
# is left as the user set it: turning oneDNN off would not make training bit-identical across
# CPUs anyway (see the README).
tf_log.install()
