"""A motion classifier: one int8 .tflite, run by LiteRT if importable, else numpy.

What ships is DEFAULT_MODEL_PATHS: one model, or several run as one (ensemble.py).

Why two runtimes: LiteRT (ai_edge_litert) is the fast, canonical interpreter but only
has glibc wheels; Home Assistant OS is Alpine (musl), where our numpy executor runs
the *same* file with the same integer arithmetic. Both see identical int8 inputs —
quantisation of the float features happens here, from the model's own scale and
zero point — so their int8 outputs agree (tests/engine/test_model_agreement.py).

The shipped model outputs int8 *logits*; probabilities are a float softmax of the
dequantised logits, so the detector gets smooth probabilities instead of 1/256 steps.
A model ending in SOFTMAX is also accepted (its output is dequantised and renormalised).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from .flatbuffer import Graph, ModelError, read_graph

_LOGGER = logging.getLogger(__name__)

# Output order of the shipped model (the detector's MotionClass follows it).
CLASS_NAMES: tuple[str, ...] = ("none", "major", "minor", "non_human")


def shipped_rounds(directory: Path) -> tuple[Path, ...]:
    """An ensemble `scripts/train` wrote (presence_round<N>.tflite), oldest round first."""
    rounds = {}
    for path in directory.glob("presence_round*.tflite"):
        number = path.stem.removeprefix("presence_round")
        if number.isdigit():
            rounds[int(number)] = path
    return tuple(rounds[r] for r in sorted(rounds))


def _shipped_models(directory: Path) -> tuple[Path, ...]:
    """What `scripts/train` shipped here: one model (presence.tflite, distilled from the
    ensemble) or, from a run without distillation, the ensemble's round files. The files
    are the one record of what ships (see MODEL_CARD.md)."""
    single = directory / "presence.tflite"
    return (single,) if single.exists() else shipped_rounds(directory)


DEFAULT_MODEL_PATHS = _shipped_models(Path(__file__).parent)
# A single-model default (`load_classifier()`): the shipped model (an ensemble's newest
# round).
DEFAULT_MODEL_PATH = (
    DEFAULT_MODEL_PATHS[-1] if DEFAULT_MODEL_PATHS else Path(__file__).with_name("presence.tflite")
)

Runtime = Literal["litert", "numpy"]
Prefer = Literal["auto", "litert", "numpy"]
F32 = npt.NDArray[np.float32]
Int8Array = npt.NDArray[np.int8]


class _Backend(Protocol):
    def invoke(self, x: Int8Array) -> Int8Array:
        """int8 batch (N, *input_shape) → int8 batch (N, n_outputs)."""
        ...


class _NumpyBackend:
    def __init__(self, graph: Graph) -> None:
        from .executor import NumpyExecutor

        self.executor = NumpyExecutor(graph)

    def invoke(self, x: Int8Array) -> Int8Array:
        return self.executor.run(x)[0]


def litert_available() -> bool:
    """True when ai_edge_litert can be imported (glibc platforms with the wheel)."""
    try:
        from ai_edge_litert.interpreter import Interpreter  # noqa: F401
    except ImportError:
        return False
    return True


class _LiteRTBackend:
    def __init__(self, content: bytes, *, reference_kernels: bool, num_threads: int) -> None:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        resolver = OpResolverType.BUILTIN_REF if reference_kernels else OpResolverType.AUTO
        try:
            self.interpreter: Any = Interpreter(
                model_content=content,
                num_threads=num_threads,
                experimental_op_resolver_type=resolver,
            )
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as err:
            raise ModelError(f"LiteRT cannot load the model: {err}") from err
        self.input_index = int(self.interpreter.get_input_details()[0]["index"])
        output = self.interpreter.get_output_details()[0]
        self.output_index = int(output["index"])
        self.output_shape = tuple(int(d) for d in output["shape"][1:])

    def invoke(self, x: Int8Array) -> Int8Array:
        if len(x) == 1:  # streaming: one window per frame, no per-row lists
            self.interpreter.set_tensor(self.input_index, x)
            self.interpreter.invoke()
            one: Int8Array = self.interpreter.get_tensor(self.output_index).astype(np.int8)
            return one
        outs: Int8Array = np.empty((len(x), *self.output_shape), dtype=np.int8)
        for i, row in enumerate(x):
            self.interpreter.set_tensor(self.input_index, row[np.newaxis])
            self.interpreter.invoke()
            outs[i] = self.interpreter.get_tensor(self.output_index)[0]
        return outs


class Classifier:
    """Feature window(s) → class probabilities. Thread-compatible, not thread-safe."""

    def __init__(
        self,
        graph: Graph,
        backend: _Backend,
        runtime: Runtime,
        class_names: tuple[str, ...],
    ) -> None:
        """Use `load_classifier`; this wires an already-validated graph to a backend."""
        inp = graph.tensors[graph.inputs[0]]
        out = graph.tensors[graph.outputs[0]]
        self.runtime: Runtime = runtime
        self.input_shape: tuple[int, ...] = inp.shape[1:]
        self.input_scale = float(inp.scale[0])
        self.input_zero_point = int(inp.zero_point[0])
        self.output_scale = float(out.scale[0])
        self.output_zero_point = int(out.zero_point[0])
        # float32 forms of the quantisation parameters, made once (per-frame path).
        self._input_scale32 = np.float32(self.input_scale)
        self._output_scale32 = np.float32(self.output_scale)
        self._output_zero32 = np.float32(self.output_zero_point)
        self.outputs_probabilities = bool(graph.operators) and graph.operators[-1].name == "SOFTMAX"
        n_classes = int(np.prod(out.shape[1:]))
        if len(class_names) != n_classes:
            raise ModelError(
                f"{graph.source}: model has {n_classes} outputs but {len(class_names)} class "
                f"names were given ({', '.join(class_names)})"
            )
        self.class_names = class_names
        self.source = graph.source
        self._backend = backend
        # The executor behind the numpy runtime (an Ensemble stacks its members').
        self.numpy_executor = backend.executor if isinstance(backend, _NumpyBackend) else None

    @property
    def n_classes(self) -> int:
        """Number of output classes."""
        return len(self.class_names)

    def quantize(self, features: npt.ArrayLike) -> Int8Array:
        """float features → the model's int8 input: round(x/scale)+zp, halves away, clamped."""
        x = np.asarray(features, dtype=np.float32)
        scaled = x / self._input_scale32
        q = np.floor(np.abs(scaled) + np.float32(0.5))
        q *= np.sign(scaled)
        if not np.isfinite(q).all():
            np.nan_to_num(q, copy=False, nan=0.0, posinf=127.0, neginf=-128.0)
        q += self.input_zero_point
        # np.clip's arithmetic (no NaN is left), in place and without its wrapper.
        np.maximum(q, -128, out=q)
        np.minimum(q, 127, out=q)
        out: Int8Array = q.astype(np.int8)
        return out

    @property
    def input_range(self) -> tuple[float, float]:
        """Float range the int8 input can represent (values beyond it saturate)."""
        lo = (-128 - self.input_zero_point) * self.input_scale
        hi = (127 - self.input_zero_point) * self.input_scale
        return lo, hi

    def as_batch(self, features: npt.ArrayLike) -> tuple[F32, bool]:
        """(N, *input_shape) float32 features and whether one window was given; a clear
        ValueError for a wrong shape or values far outside the input range."""
        x = np.asarray(features, dtype=np.float32)
        if x.shape == self.input_shape:
            x, single = x[np.newaxis], True
        elif x.ndim == len(self.input_shape) + 1 and x.shape[1:] == self.input_shape:
            single = False
        else:
            raise ValueError(
                f"features must have shape {self.input_shape} or (N, *{self.input_shape}), "
                f"got {x.shape}"
            )
        lo, hi = self.input_range
        span = hi - lo
        if x.size and (float(np.nanmin(x)) < lo - span or float(np.nanmax(x)) > hi + span):
            # Far outside what the model was calibrated on: almost surely a unit mix-up
            # (e.g. dBc/Hz passed where dsp.features.scale_features output is expected).
            raise ValueError(
                f"features span [{np.nanmin(x):.3g}, {np.nanmax(x):.3g}], far outside the "
                f"model's input range [{lo:.3g}, {hi:.3g}]; pass scale_features(...) output"
            )
        return x, single

    def predict_int8(self, features: npt.ArrayLike) -> Int8Array:
        """Raw int8 model outputs for one window or a batch (what the agreement test compares)."""
        x, single = self.as_batch(features)
        out: Int8Array = self._backend.invoke(self.quantize(x))
        return out[0] if single else out

    def predict(self, features: npt.ArrayLike) -> F32:
        """Class probabilities (float32, sums to 1) for one window, or (N, n_classes)."""
        x, single = self.as_batch(features)
        result = self.predict_quantized(self.quantize(x))
        return result[0] if single else result

    def predict_quantized(self, q_input: Int8Array) -> F32:
        """Probabilities (N, n_classes) for int8 inputs (N, *input_shape) from `quantize`.

        For streaming callers that quantize each frame once (see scoring.ModelScorer).
        """
        return self.probabilities(self.run_quantized(q_input))

    def run_quantized(self, q_input: Int8Array) -> Int8Array:
        """Raw int8 outputs (N, n_classes) for int8 inputs (N, *input_shape)."""
        return self._backend.invoke(q_input).reshape(len(q_input), -1)

    def probabilities(self, q_output: Int8Array) -> F32:
        """Probabilities (N, n_classes) from this model's int8 outputs (N, n_classes)."""
        q = q_output.reshape(len(q_output), -1)
        values = (q.astype(np.float32) - self._output_zero32) * self._output_scale32
        if self.outputs_probabilities:
            probs = np.maximum(values, 0.0) + np.float32(1e-6)
        else:
            probs = np.exp(values - np.maximum.reduce(values, axis=1, keepdims=True))
        result: F32 = probs / np.add.reduce(probs, axis=1, keepdims=True)
        return result


def load_classifier(
    path: str | Path | bytes | None = None,
    prefer: Prefer = "auto",
    *,
    class_names: tuple[str, ...] = CLASS_NAMES,
    reference_kernels: bool = False,
    num_threads: int = 1,
) -> Classifier:
    """Load one presence model (default: the newest shipped round; path or bytes).

    prefer: 'auto' uses LiteRT when importable, else the numpy executor; 'litert' or
    'numpy' force one (ModelError if LiteRT is asked for but missing).
    reference_kernels: run LiteRT with its reference op resolver (slow; for the
    agreement test). The graph is always parsed and validated by our own reader, so a
    broken file fails the same way under both runtimes.
    """
    if prefer not in ("auto", "litert", "numpy"):
        raise ValueError(f"prefer must be 'auto', 'litert' or 'numpy', not {prefer!r}")
    source: Path | bytes = (
        path if isinstance(path, bytes) else Path(path) if path is not None else DEFAULT_MODEL_PATH
    )
    graph = read_graph(source)
    if not graph.inputs or not graph.outputs:
        raise ModelError(f"{graph.source}: model has no inputs or outputs")
    use_litert = prefer == "litert" or (prefer == "auto" and litert_available())
    if prefer == "litert" and not litert_available():
        raise ModelError(
            "LiteRT was requested but ai_edge_litert is not importable "
            "(no wheel for this platform?); use prefer='numpy' or 'auto'"
        )
    # The numpy executor validates types/ops even when LiteRT runs, so an unsupported
    # model is rejected identically on every platform.
    numpy_backend = _NumpyBackend(graph)
    if use_litert:
        content = source if isinstance(source, bytes) else source.read_bytes()
        try:
            litert = _LiteRTBackend(
                content, reference_kernels=reference_kernels, num_threads=num_threads
            )
        except ModelError as err:
            if prefer == "litert":
                raise
            # 'auto': a broken LiteRT install must not take the sensor down.
            _LOGGER.warning("LiteRT failed (%s); using the numpy executor", err)
        else:
            return Classifier(graph, litert, "litert", class_names)
    return Classifier(graph, numpy_backend, "numpy", class_names)
