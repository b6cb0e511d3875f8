"""The ``lean`` graph form: the fastest LSTM graph on a CPU runtime for a short sequence.

At 28 steps of 28 units the arithmetic is tiny (about 0.2 M multiply-adds); what costs is the
number of operators the interpreter dispatches. This form spends as few as it can:

* the input projection of *every* time step is one matrix product before the recurrence, and a
  linear ``Dense`` right before the LSTM is folded into it (``(x·D + d)·W = x·(D·W) + d·W``);
* the recurrence is unrolled (no WHILE loop, no variable tensors: stateless by construction);
* step 0 starts from a zero state, so it needs neither ``h·U`` nor ``f·c``.

Each step is then one FULLY_CONNECTED, one ADD, a SPLIT, four activations and four MUL/ADD.
The batch dimension is left dynamic, so a runtime can resize it and run many images per invoke.
"""

from __future__ import annotations

import numpy as np


def save(model, spec, path: str) -> None:
    """Write ``model`` (Dense* → LSTM → Dense*) as a SavedModel in the lean form."""
    import tensorflow as tf

    before, lstm, after = _parts(model, spec.lstm_index)
    kernel, recurrent, bias = (np.asarray(w, np.float64) for w in lstm.get_weights())
    if before and before[-1].get_config()["activation"] == "linear":
        dense_kernel, dense_bias = _dense_weights(before.pop())
        kernel, bias = dense_kernel @ kernel, dense_bias @ kernel + bias

    def variable(w):
        return tf.Variable(np.asarray(w, np.float32), trainable=False)

    def dense_stack(layers):
        return [(variable(w), variable(b), layer.activation)
                for layer in layers for w, b in [_dense_weights(layer)]]

    class Lean(tf.Module):
        def __init__(self):
            super().__init__()
            self.before, self.after = dense_stack(before), dense_stack(after)
            self.kernel, self.recurrent, self.bias = map(variable, (kernel, recurrent, bias))

        @tf.function(input_signature=[tf.TensorSpec([None, spec.timesteps, spec.features],
                                                    tf.float32, name="input")])
        def serve(self, x):
            x = tf.reshape(x, [-1, spec.features])  # all steps of all images as rows
            for w, b, activation in self.before:
                x = activation(tf.matmul(x, w) + b)
            z = tf.matmul(x, self.kernel) + self.bias
            steps = tf.unstack(tf.reshape(z, [-1, spec.timesteps, 4 * spec.units]), axis=1)
            h = c = None
            for z in steps:
                if h is not None:
                    z = z + tf.matmul(h, self.recurrent)
                i, f, g, o = tf.split(z, 4, axis=1)  # Keras' gate order
                c = tf.sigmoid(i) * tf.tanh(g) if c is None else (
                    tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g))
                h = tf.sigmoid(o) * tf.tanh(c)
            for w, b, activation in self.after:
                h = activation(tf.matmul(h, w) + b)
            return {"output_0": h}

    module = Lean()
    tf.saved_model.save(module, path, signatures={"serving_default": module.serve})


def _parts(model, lstm_index: int):
    """The Dense layers before the LSTM, the LSTM, the Dense layers after it (Dropout is inert)."""
    def dense(layers):
        return [layer for layer in layers if type(layer).__name__ == "Dense"]
    return dense(model.layers[:lstm_index]), model.layers[lstm_index], dense(model.layers[lstm_index + 1:])


def _dense_weights(layer):
    weights = [np.asarray(w, np.float64) for w in layer.get_weights()]
    return weights[0], weights[1] if len(weights) > 1 else np.zeros(weights[0].shape[1])
