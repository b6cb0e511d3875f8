"""Things a benchmark can time: a TFLite model, the ONNX Runtime peer, Keras ``predict``.

Each runner has ``label``, ``input_shape`` and ``predict(input) → output`` for one input; the
TFLite one (:class:`edge_lstm.runtime.Model`) also ``invoke()``, the bare interpreter call, and
batches. Only the Keras runner and the peer's export import TensorFlow, and only when asked for.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from edge_lstm.errors import EdgeLstmError


def load(model: Path, runtime: str | None = None):
    """The runner for a ``.tflite``, ``.onnx`` or ``.keras`` file."""
    model = Path(model)
    if model.suffix == ".keras":
        return KerasRunner(model)
    if model.suffix == ".onnx":
        return OnnxRunner(model)
    from edge_lstm.runtime import Model

    return Model(model, runtime, threads=1)


def sample_inputs(model: Path, shape: tuple, count: int) -> np.ndarray:
    """``count`` inputs of ``shape`` for timing ``model`` (repeated as needed): the inputs of the
    reference recorded beside it, else MNIST test images for a 28×28 model, else fixed-seed
    normal noise (a timing does not depend on the values, only on the shape)."""
    from edge_lstm import parity
    from edge_lstm.data import INPUT_SHAPE

    recorded = parity.shipped_reference(Path(model).parent)
    if recorded is not None and not recorded.digits and recorded.inputs.shape[1:] == shape:
        x = recorded.inputs
    elif shape == INPUT_SHAPE:
        from edge_lstm.data import load_test_split, normalize

        x = normalize(load_test_split().x)
    else:
        x = np.random.default_rng(0).standard_normal((min(count, 1000), *shape)).astype(np.float32)
    return np.resize(x, (count, *shape))


class OnnxRunner:
    """ONNX Runtime on one CPU thread, as a peer on a small device would run."""

    def __init__(self, path: Path):
        try:
            import onnxruntime
        except ImportError:
            raise EdgeLstmError("the peer needs onnxruntime (pip install onnxruntime)") from None
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(str(path), options,
                                                     providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self.label = f"onnxruntime {onnxruntime.__version__}"

    def predict(self, image: np.ndarray) -> np.ndarray:
        return self._session.run(None, {self._input: image[None]})[0][0]


def onnx_peer(keras_model: Path) -> OnnxRunner:
    """The peer: ONNX Runtime on the model exported with Keras' own ONNX export (needs tf2onnx)."""
    net = KerasRunner(keras_model).net
    net(np.zeros((1, *net.input_shape[1:]), np.float32))  # Keras exports only a model it has called
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "peer.onnx"
        try:
            net.export(str(path), format="onnx", verbose=False)
        except ImportError as e:
            raise EdgeLstmError(f"Keras' ONNX export needs {e.name} (pip install tf2onnx)") from None
        return OnnxRunner(path)


class KerasRunner:
    """Keras ``predict`` on one image: the baseline a device model is compared with."""

    def __init__(self, path: Path):
        import keras

        from converters.model import load

        self.net = load(path)
        self.input_shape = tuple(self.net.input_shape[1:])
        self.label = f"keras {keras.__version__}"

    def predict(self, image: np.ndarray) -> np.ndarray:
        return self.net.predict(image[None], verbose=0)[0]
