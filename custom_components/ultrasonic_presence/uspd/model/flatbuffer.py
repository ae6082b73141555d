"""Read a .tflite flatbuffer into plain Python objects with the `tflite` package.

Why a separate reader: the numpy executor (used where LiteRT has no wheel, e.g. Home
Assistant OS on musl) and the Classifier's contract checks both need tensors, constant
buffers, quantisation parameters and op options, and every way a file can be broken
(missing, truncated, not a TFLite model, odd types) should surface here as one clear
`ModelError` instead of a struct.error deep in the flatbuffers runtime.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt


class ModelError(Exception):
    """The model file cannot be used (missing, corrupt, or needs something unsupported)."""


class ModelNotFoundError(ModelError, FileNotFoundError):
    """No model file at the path (e.g. none shipped): callers may fall back."""


# tflite.TensorType values → numpy dtypes (only what an int8 model can contain).
_TENSOR_TYPES: dict[int, tuple[str, type[np.generic] | None]] = {
    0: ("FLOAT32", np.float32),
    1: ("FLOAT16", np.float16),
    2: ("INT32", np.int32),
    3: ("UINT8", np.uint8),
    4: ("INT64", np.int64),
    5: ("STRING", None),
    6: ("BOOL", np.bool_),
    7: ("INT16", np.int16),
    9: ("INT8", np.int8),
    10: ("FLOAT64", np.float64),
}


@dataclass(frozen=True)
class Tensor:
    """One tensor of the graph; `data` is set for constants (weights, biases, shapes)."""

    index: int
    name: str
    type_name: str
    shape: tuple[int, ...]
    scale: npt.NDArray[np.float32]
    zero_point: npt.NDArray[np.int64]
    quantized_dimension: int
    data: npt.NDArray[Any] | None = None

    @property
    def dtype(self) -> np.dtype[Any]:
        """numpy dtype of the tensor's elements."""
        kind = next(v for v in _TENSOR_TYPES.values() if v[0] == self.type_name)[1]
        if kind is None:
            raise ModelError(f"tensor {self.name!r} has unsupported type {self.type_name}")
        return np.dtype(kind)

    @property
    def quantized(self) -> bool:
        """True when the tensor carries affine quantisation parameters."""
        return self.scale.size > 0


@dataclass(frozen=True)
class Operator:
    """One op: its builtin name, tensor indices (-1 = omitted optional input), options."""

    index: int
    name: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Graph:
    """The model's single subgraph plus where it came from."""

    tensors: tuple[Tensor, ...]
    operators: tuple[Operator, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    source: str


def _op_names() -> dict[int, str]:
    import tflite

    return {
        value: name
        for name, value in vars(tflite.BuiltinOperator).items()
        if not name.startswith("_") and isinstance(value, int)
    }


def _options(op: Any, name: str) -> dict[str, Any]:
    """Decode the builtin options the executor needs, by op name."""
    import tflite

    table = op.BuiltinOptions()
    if table is None:
        return {}
    cls = {
        "CONV_2D": tflite.Conv2DOptions,
        "DEPTHWISE_CONV_2D": tflite.DepthwiseConv2DOptions,
        "MAX_POOL_2D": tflite.Pool2DOptions,
        "AVERAGE_POOL_2D": tflite.Pool2DOptions,
        "FULLY_CONNECTED": tflite.FullyConnectedOptions,
        "SOFTMAX": tflite.SoftmaxOptions,
        "ADD": tflite.AddOptions,
        "RESHAPE": tflite.ReshapeOptions,
        "MEAN": tflite.ReducerOptions,
    }.get(name)
    if cls is None:
        return {}
    opts = cls()
    opts.Init(table.Bytes, table.Pos)
    out: dict[str, Any] = {}
    for attr in (
        "Padding",
        "StrideW",
        "StrideH",
        "DilationWFactor",
        "DilationHFactor",
        "DepthMultiplier",
        "FilterWidth",
        "FilterHeight",
        "FusedActivationFunction",
        "WeightsFormat",
        "KeepNumDims",
        "Beta",
        "KeepDims",
    ):
        getter = getattr(opts, attr, None)
        if getter is not None:
            out[attr] = getter()
    return out


def _buffer_data(model: Any, raw: bytes, index: int) -> bytes | None:
    """Bytes of constant buffer `index`, inline or (large models) by file offset."""
    if index <= 0 or index >= model.BuffersLength():
        return None
    buf = model.Buffers(index)
    if buf.DataLength() > 0:
        return bytes(buf.DataAsNumpy().tobytes())
    offset, size = int(buf.Offset()), int(buf.Size())
    if offset > 1 and size > 0:
        if offset + size > len(raw):
            raise ModelError(f"buffer {index} lies beyond the end of the file (truncated?)")
        return raw[offset : offset + size]
    return None


def _tensor(model: Any, raw: bytes, sg: Any, index: int) -> Tensor:
    t = sg.Tensors(index)
    type_name, np_type = _TENSOR_TYPES.get(t.Type(), (f"type#{t.Type()}", None))
    shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
    q = t.Quantization()
    scale = np.zeros(0, np.float32)
    zero_point = np.zeros(0, np.int64)
    qdim = 0
    if q is not None and q.ScaleLength():
        scale = np.asarray(q.ScaleAsNumpy(), dtype=np.float32)
        zero_point = np.asarray(q.ZeroPointAsNumpy(), dtype=np.int64)
        if zero_point.size == 0:
            zero_point = np.zeros(scale.size, np.int64)
        qdim = int(q.QuantizedDimension())
    data = None
    payload = _buffer_data(model, raw, int(t.Buffer()))
    if payload is not None:
        if np_type is None:
            raise ModelError(f"constant tensor {t.Name()!r} has unsupported type {type_name}")
        arr = np.frombuffer(payload, dtype=np_type)
        expected = int(np.prod(shape)) if shape else 1
        if arr.size != expected:
            raise ModelError(
                f"constant tensor {t.Name().decode(errors='replace')!r} holds {arr.size} "
                f"values, its shape {shape} needs {expected} (corrupt file?)"
            )
        data = arr.reshape(shape).copy()
    return Tensor(
        index=index,
        name=t.Name().decode(errors="replace"),
        type_name=type_name,
        shape=shape,
        scale=scale,
        zero_point=zero_point,
        quantized_dimension=qdim,
        data=data,
    )


def read_graph(source: str | Path | bytes) -> Graph:
    """Parse a .tflite file (path or bytes); ModelError with the reason if unusable."""
    if isinstance(source, bytes):
        raw, label = source, "<bytes>"
    else:
        path = Path(source)
        label = str(path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError as err:
            raise ModelNotFoundError(f"cannot read model file {label}: no such file") from err
        except OSError as err:
            raise ModelError(f"cannot read model file {label}: {err.strerror or err}") from err
    if len(raw) < 16 or raw[4:8] != b"TFL3":
        raise ModelError(
            f"{label} is not a TFLite model (no 'TFL3' identifier; "
            f"{len(raw)} bytes — truncated or wrong file?)"
        )
    try:
        import tflite
    except ImportError as err:  # pragma: no cover - a declared dependency
        raise ModelError("the 'tflite' package is needed to read models") from err
    try:
        model = tflite.Model.GetRootAsModel(raw, 0)
        if model.SubgraphsLength() != 1:
            raise ModelError(
                f"{label}: expected exactly one subgraph, found {model.SubgraphsLength()}"
            )
        sg = model.Subgraphs(0)
        names = _op_names()
        tensors = tuple(_tensor(model, raw, sg, i) for i in range(sg.TensorsLength()))
        operators = []
        for i in range(sg.OperatorsLength()):
            op = sg.Operators(i)
            code = model.OperatorCodes(op.OpcodeIndex())
            builtin = max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))
            name = names.get(builtin, f"builtin#{builtin}")
            if name == "CUSTOM":
                custom = code.CustomCode()
                name = f"CUSTOM({custom.decode(errors='replace') if custom else '?'})"
            operators.append(
                Operator(
                    index=i,
                    name=name,
                    inputs=tuple(int(j) for j in op.InputsAsNumpy()),
                    outputs=tuple(int(j) for j in op.OutputsAsNumpy()),
                    options=_options(op, name),
                )
            )
        graph = Graph(
            tensors=tensors,
            operators=tuple(operators),
            inputs=tuple(int(j) for j in sg.InputsAsNumpy()),
            outputs=tuple(int(j) for j in sg.OutputsAsNumpy()),
            source=label,
        )
    except ModelError:
        raise
    except (struct.error, IndexError, ValueError, TypeError, AttributeError, UnicodeError) as err:
        raise ModelError(f"{label} is corrupt or truncated ({type(err).__name__}: {err})") from err
    n = len(graph.tensors)
    for op in graph.operators:
        for j in (*op.inputs, *op.outputs):
            if j >= n:
                raise ModelError(f"{label}: op {op.index} ({op.name}) refers to tensor {j} of {n}")
    return graph
