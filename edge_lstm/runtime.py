"""Run a ``.tflite`` model with the lightest interpreter installed.

Runtimes, tried in this order unless one is forced: ``ai-edge-litert`` (LiteRT, the successor of
tflite-runtime), ``tflite-runtime`` (legacy devices: numpy<2, Python ≤ 3.11), ``tensorflow``
(``tf.lite``, host only). :class:`Model` runs any model with one input and one output;
:class:`Classifier` is the digit model (float 28×28 images in [0, 1] → 10 probabilities).
Quantized inputs and outputs are converted with the tensors' scale and zero point.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import warnings
from pathlib import Path

import numpy as np

from edge_lstm import tf_log
from edge_lstm.data import CLASSES, INPUT_SHAPE
from edge_lstm.errors import EdgeLstmError

RUNTIMES = {  # name → (module, attribute path of its Interpreter class)
    "ai-edge-litert": ("ai_edge_litert.interpreter", "Interpreter"),
    "tflite-runtime": ("tflite_runtime.interpreter", "Interpreter"),
    "tensorflow": ("tensorflow", "lite.Interpreter"),
}
DEVICE_RUNTIMES = tuple(name for name in RUNTIMES if name != "tensorflow")  # TensorFlow: host only
BATCH = 64  # inputs per invoke for a resizable model: 4× the throughput of one at a time here
MAX_THREADS = 64  # the runtimes crash on absurd counts (100 000 threads: SIGSEGV)


def interpreter_class(runtime: str | None = None):
    """``(name, Interpreter)`` of the forced runtime, or of the first one that imports."""
    if runtime is not None and runtime not in RUNTIMES:
        raise EdgeLstmError(f"unknown runtime {runtime!r}; choose from {', '.join(RUNTIMES)}")
    for name in [runtime] if runtime else list(RUNTIMES):
        module_name, attribute = RUNTIMES[name]
        tf_log.quiet_level()  # in case the runtime is TensorFlow
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        return name, functools.reduce(getattr, attribute.split("."), module)
    if runtime:
        raise EdgeLstmError(f"runtime {runtime} is not installed (pip install {runtime})")
    raise EdgeLstmError("no TFLite runtime installed: pip install ai-edge-litert "
                        "(or tflite-runtime on a legacy device)")


def runtime_version(name: str) -> str:
    """The installed version of a runtime's distribution, or '?'."""
    from importlib.metadata import PackageNotFoundError, version

    dist = {"tensorflow": "tensorflow-cpu"}.get(name, name)
    for candidate in (dist, name):
        try:
            return version(candidate)
        except PackageNotFoundError:
            continue
    return "?"


def model_file(model: str | Path) -> Path:
    """``model`` as a Path, if it is a file."""
    path = Path(model)
    if not path.is_file():
        raise EdgeLstmError(f"{path}: not a regular file" if path.exists() else f"model not found: {path}")
    return path


class Model:
    """A loaded ``.tflite`` model with one input and one output of any shape:
    ``predict(inputs) → outputs``, float in and float out.

    It loads the model in this process: a damaged model can crash the runtime, so a model nobody
    vouched for goes through :func:`edge_lstm.probe.load` first. ``quiet`` drops the runtime's
    ``INFO:`` lines while loading; the probe turns it off so that a crash report stays visible."""

    def __init__(self, model: str | Path, runtime: str | None = None, threads: int | None = None,
                 quiet: bool = True):
        path = model_file(model)
        if threads is not None and not 1 <= threads <= MAX_THREADS:
            raise EdgeLstmError(f"threads must be between 1 and {MAX_THREADS}, got {threads}")
        self.path = path
        self.runtime, interpreter = interpreter_class(runtime)
        try:
            quieted = tf_log.filtered_stderr(_without_native_info) if quiet else contextlib.nullcontext()
            with warnings.catch_warnings(), quieted:
                warnings.simplefilter("ignore")  # tf.lite.Interpreter warns that it is deprecated
                self._interpreter = interpreter(model_path=str(path), num_threads=threads)
                self._interpreter.allocate_tensors()
                self._in, self._out = self._check_signature()
        except (ValueError, RuntimeError) as e:
            raise EdgeLstmError(self._explain_load_error(e)) from None
        self._batch = 1
        # one item's shapes (without the batch), kept: predict compares them on every call
        self.input_shape = tuple(int(d) for d in self._in["shape"][1:])
        self.output_shape = tuple(int(d) for d in self._out["shape"][1:])
        self._input = self._interpreter.tensor(self._in["index"])
        self._output = self._interpreter.tensor(self._out["index"])
        self._quantize = _quantizer(self._in)
        self._dequantize = _dequantizer(self._out)

    def predict(self, inputs: np.ndarray, batch: int = BATCH) -> np.ndarray:
        """One input shaped like :attr:`input_shape` → one output; a stack (N, *input_shape) →
        (N, *output_shape).

        Many inputs go through ``batch`` at a time when the model's batch dimension can be
        resized (the ``lean`` form), one by one otherwise."""
        inputs = np.asarray(inputs, dtype=np.float32)
        if inputs.shape == self.input_shape:  # one input, the camera's case: the short way
            self._resize(1)
            self._input()[0] = self._quantize(inputs)
            self.invoke()
            return self._dequantize(self._output()[0].copy())
        if inputs.shape[1:] != self.input_shape:
            raise EdgeLstmError(f"{self.path}: the model takes {self.input_shape} per item, "
                                f"got {inputs.shape[1:] if inputs.ndim else inputs.shape}")
        size = min(batch, len(inputs)) if self.resizable else 1
        self._resize(size)
        outputs = np.empty((len(inputs), *self.output_shape), dtype=np.float32)
        for start in range(0, len(inputs), size):
            chunk = inputs[start:start + size]
            outputs[start:start + len(chunk)] = self._run(chunk, size)
        return outputs

    @property
    def resizable(self) -> bool:
        """Whether the model takes any number of inputs per invoke. Never on tflite-runtime: its
        2.14 aarch64 build crashes (SIGSEGV) running the int8 lean model at batch > 1."""
        return (self.runtime != "tflite-runtime"
                and int(self._in.get("shape_signature", self._in["shape"])[0]) == -1)

    def _resize(self, size: int) -> None:
        if size != self._batch:
            self._interpreter.resize_tensor_input(self._in["index"], [size, *self.input_shape])
            self._interpreter.allocate_tensors()
            self._batch = size

    def _run(self, chunk: np.ndarray, size: int) -> np.ndarray:
        """Answers for ``chunk`` (at most ``size`` inputs), written straight into the input
        tensor: a view costs less than ``set_tensor``'s checks, and a short last batch is padded
        with the previous inputs rather than re-allocated. No view outlives the call."""
        count = len(chunk)
        self._input()[:count] = self._quantize(chunk)
        self.invoke()
        return self._dequantize(self._output()[:count].copy())

    @property
    def label(self) -> str:
        """``"<runtime> <version>"``, e.g. ``"ai-edge-litert 2.3.0"``."""
        return f"{self.runtime} {runtime_version(self.runtime)}"

    def invoke(self) -> None:
        """Run the model once on the input already set (a benchmark's bare interpreter cost)."""
        try:
            self._interpreter.invoke()
        except (RuntimeError, ValueError) as e:
            raise EdgeLstmError(f"{self.path}: {self.runtime} failed running this model "
                                f"({_first_line(e)})") from None

    def _check_signature(self) -> tuple[dict, dict]:
        """The one input and one output, at batch 1, with types the model can be fed and read."""
        inputs = self._interpreter.get_input_details()
        outputs = self._interpreter.get_output_details()
        shapes = [tuple(int(d) for d in t["shape"]) for t in (*inputs, *outputs)]
        if len(inputs) != 1 or len(outputs) != 1 or len(shapes[0]) < 2 or len(shapes[1]) < 2:
            raise EdgeLstmError(f"{self.path}: model takes {shapes[:len(inputs)]} and gives "
                                f"{shapes[len(inputs):]}; expected one batched input and output")
        self._check_shapes(shapes[0][1:], shapes[1][1:])
        if shapes[0][0] != 1:
            self._interpreter.resize_tensor_input(inputs[0]["index"], [1, *shapes[0][1:]])
            self._interpreter.allocate_tensors()
            outputs = self._interpreter.get_output_details()
        if np.dtype(inputs[0]["dtype"]) not in (np.float32, np.int8, np.uint8, np.int16):
            raise EdgeLstmError(f"{self.path}: unsupported input type {np.dtype(inputs[0]['dtype'])}")
        for tensor in (inputs[0], outputs[0]):
            scale = tensor["quantization"][0]
            if np.dtype(tensor["dtype"]) != np.float32 and not (np.isfinite(scale) and scale > 0):
                raise EdgeLstmError(f"{self.path}: tensor {tensor['name']} has no usable "
                                    f"quantization scale ({scale})")
        return inputs[0], outputs[0]

    def _check_shapes(self, input_shape: tuple, output_shape: tuple) -> None:
        """Any shapes will do for a generic model."""

    def _explain_load_error(self, error: Exception) -> str:
        from edge_lstm import tflite_model

        tflite_model.inspect(self.path)  # raises the clean error for a corrupt file
        missing = tflite_model.missing_kernel(error)
        if missing:
            return f"{self.path}: {self.label} cannot run this model: {missing}"
        return f"{self.path}: {self.runtime} cannot load this model ({_first_line(error)})"


class Classifier(Model):
    """A loaded ``.tflite`` digit classifier: 28×28 images in [0, 1] → 10 probabilities."""

    def _check_shapes(self, input_shape: tuple, output_shape: tuple) -> None:
        if input_shape != INPUT_SHAPE or output_shape[-1:] != (CLASSES,):
            raise EdgeLstmError(f"{self.path}: model takes {[1, *input_shape]} and gives "
                                f"{[1, *output_shape]}; expected {[1, *INPUT_SHAPE]} → {[1, CLASSES]}")


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _without_native_info(text: str) -> str:
    """The runtime's stderr while a model loads, without its ``INFO:`` lines (e.g. "Created
    TensorFlow Lite XNNPACK delegate"). The lines are held until the load ends, so a crash during
    it would lose its report: only models known to load are loaded this way (recorded in a
    manifest, or probed in a child that loads unfiltered and whose stderr the parent reports)."""
    return "".join(line for line in text.splitlines(True) if not line.startswith("INFO: "))


def _quantizer(detail: dict):
    """float images → the input tensor's type (identity for a float input)."""
    dtype = np.dtype(detail["dtype"])
    if dtype == np.float32:
        return lambda images: images
    scale, zero_point = detail["quantization"]
    low, high = np.iinfo(dtype).min, np.iinfo(dtype).max
    return lambda images: np.clip(np.round(images / scale + zero_point), low, high).astype(dtype)


def _dequantizer(detail: dict):
    """The output tensor's values → float probabilities (identity for a float output)."""
    if np.dtype(detail["dtype"]) == np.float32:
        return lambda values: values
    scale, zero_point = detail["quantization"]
    return lambda values: (values.astype(np.float32) - zero_point) * scale
