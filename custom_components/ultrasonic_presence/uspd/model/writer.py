"""A minimal TFLite flatbuffer writer for small hand-made int8 graphs.

Why: the executor's op tests need models with hand-chosen weights and quantisation
(to check against hand-computed results and against LiteRT) without TensorFlow, which
does not exist for the engine's Python. Only the schema fields our reader and LiteRT
need are written (schema.fbs field slots, schema version 3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

_TYPES = {"FLOAT32": 0, "INT32": 2, "UINT8": 3, "INT64": 4, "INT16": 7, "INT8": 9}
_OPS = {
    "ADD": 0,
    "AVERAGE_POOL_2D": 1,
    "CONV_2D": 3,
    "DEPTHWISE_CONV_2D": 4,
    "FULLY_CONNECTED": 9,
    "MAX_POOL_2D": 17,
    "RESHAPE": 22,
    "SOFTMAX": 25,
    "TANH": 28,
    "MEAN": 40,
}
# BuiltinOptions union member per op, and each option's (slot, kind, default).
_OPTIONS: dict[str, tuple[int, dict[str, tuple[int, str, float]]]] = {
    "CONV_2D": (
        1,
        {
            "padding": (0, "i8", 0),
            "stride_w": (1, "i32", 0),
            "stride_h": (2, "i32", 0),
            "activation": (3, "i8", 0),
            "dilation_w": (4, "i32", 1),
            "dilation_h": (5, "i32", 1),
        },
    ),
    "DEPTHWISE_CONV_2D": (
        2,
        {
            "padding": (0, "i8", 0),
            "stride_w": (1, "i32", 0),
            "stride_h": (2, "i32", 0),
            "depth_multiplier": (3, "i32", 0),
            "activation": (4, "i8", 0),
            "dilation_w": (5, "i32", 1),
            "dilation_h": (6, "i32", 1),
        },
    ),
    "MAX_POOL_2D": (
        5,
        {
            "padding": (0, "i8", 0),
            "stride_w": (1, "i32", 0),
            "stride_h": (2, "i32", 0),
            "filter_w": (3, "i32", 0),
            "filter_h": (4, "i32", 0),
            "activation": (5, "i8", 0),
        },
    ),
    "FULLY_CONNECTED": (8, {"activation": (0, "i8", 0), "keep_num_dims": (2, "bool", 0)}),
    "SOFTMAX": (9, {"beta": (0, "f32", 0.0)}),
    "ADD": (11, {"activation": (0, "i8", 0)}),
    "RESHAPE": (17, {}),
    "MEAN": (27, {"keep_dims": (0, "bool", 0)}),
}
_OPTIONS["AVERAGE_POOL_2D"] = _OPTIONS["MAX_POOL_2D"]
PADDING = {"SAME": 0, "VALID": 1}
ACTIVATION = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}


@dataclass
class TensorSpec:
    """A tensor: `data` makes it a constant; scale/zero_point per tensor or per channel."""

    shape: tuple[int, ...]
    type_name: str = "INT8"
    scale: list[float] = field(default_factory=list)
    zero_point: list[int] = field(default_factory=list)
    quantized_dimension: int = 0
    data: npt.NDArray[Any] | None = None
    name: str = ""


@dataclass
class OpSpec:
    """An op by builtin name; options use the keys of `_OPTIONS` (strings for enums)."""

    name: str
    inputs: list[int]
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)


def build_tflite(
    tensors: list[TensorSpec], ops: list[OpSpec], inputs: list[int], outputs: list[int]
) -> bytes:
    """Serialise one subgraph to .tflite bytes."""
    import flatbuffers  # type: ignore[import-untyped]  # (tflite's dependency, no stubs)

    b = flatbuffers.Builder(1024)

    def vec_i32(values: list[int]) -> int:
        return int(b.CreateNumpyVector(np.asarray(values, dtype=np.int32)))

    # Buffers: 0 is the conventional empty buffer; constants get their own.
    buffer_data: list[bytes | None] = [None]
    tensor_buffer: list[int] = []
    for t in tensors:
        if t.data is None:
            tensor_buffer.append(0)
        else:
            tensor_buffer.append(len(buffer_data))
            buffer_data.append(np.ascontiguousarray(t.data).tobytes())
    buffer_offsets = []
    for payload in buffer_data:
        data_off = None
        if payload is not None:
            b.StartVector(1, len(payload), 16)
            b.head = b.head - len(payload)
            b.Bytes[b.head : b.head + len(payload)] = payload
            data_off = b.EndVector()
        b.StartObject(3)
        if data_off is not None:
            b.PrependUOffsetTRelativeSlot(0, data_off, 0)
        buffer_offsets.append(b.EndObject())

    tensor_offsets = []
    for i, t in enumerate(tensors):
        name = b.CreateString(t.name or f"t{i}")
        shape = vec_i32(list(t.shape))
        quant = None
        if t.scale:
            scale = b.CreateNumpyVector(np.asarray(t.scale, dtype=np.float32))
            zps = t.zero_point or [0] * len(t.scale)
            zp = b.CreateNumpyVector(np.asarray(zps, dtype=np.int64))
            b.StartObject(7)
            b.PrependUOffsetTRelativeSlot(2, scale, 0)
            b.PrependUOffsetTRelativeSlot(3, zp, 0)
            b.PrependInt32Slot(6, t.quantized_dimension, 0)
            quant = b.EndObject()
        b.StartObject(8)
        b.PrependUOffsetTRelativeSlot(0, shape, 0)
        b.PrependInt8Slot(1, _TYPES[t.type_name], 0)
        b.PrependUint32Slot(2, tensor_buffer[i], 0)
        b.PrependUOffsetTRelativeSlot(3, name, 0)
        if quant is not None:
            b.PrependUOffsetTRelativeSlot(4, quant, 0)
        tensor_offsets.append(b.EndObject())

    codes = sorted({op.name for op in ops}, key=list(_OPS).index)
    op_offsets = []
    for op in ops:
        options_type, fields = _OPTIONS.get(op.name, (0, {}))
        opt_off = None
        if options_type:
            if op.name == "RESHAPE":
                new_shape = vec_i32(list(op.options.get("new_shape", [])))
                b.StartObject(1)
                b.PrependUOffsetTRelativeSlot(0, new_shape, 0)
            else:
                b.StartObject(max((f[0] for f in fields.values()), default=-1) + 1)
                for key, raw in op.options.items():
                    slot, kind, default = fields[key]
                    value = (
                        PADDING[raw]
                        if key == "padding"
                        else ACTIVATION[raw]
                        if key == "activation"
                        else raw
                    )
                    if kind == "i8":
                        b.PrependInt8Slot(slot, int(value), int(default))
                    elif kind == "i32":
                        b.PrependInt32Slot(slot, int(value), int(default))
                    elif kind == "bool":
                        b.PrependBoolSlot(slot, bool(value), bool(default))
                    else:
                        b.PrependFloat32Slot(slot, float(value), float(default))
            opt_off = b.EndObject()
        ins, outs = vec_i32(op.inputs), vec_i32(op.outputs)
        b.StartObject(5)
        b.PrependUint32Slot(0, codes.index(op.name), 0)
        b.PrependUOffsetTRelativeSlot(1, ins, 0)
        b.PrependUOffsetTRelativeSlot(2, outs, 0)
        if opt_off is not None:
            b.PrependUint8Slot(3, options_type, 0)
            b.PrependUOffsetTRelativeSlot(4, opt_off, 0)
        op_offsets.append(b.EndObject())

    def vec_offsets(offsets: list[int]) -> int:
        b.StartVector(4, len(offsets), 4)
        for off in reversed(offsets):
            b.PrependUOffsetTRelative(off)
        return int(b.EndVector())

    tensors_vec = vec_offsets(tensor_offsets)
    ops_vec = vec_offsets(op_offsets)
    in_vec, out_vec = vec_i32(inputs), vec_i32(outputs)
    b.StartObject(5)
    b.PrependUOffsetTRelativeSlot(0, tensors_vec, 0)
    b.PrependUOffsetTRelativeSlot(1, in_vec, 0)
    b.PrependUOffsetTRelativeSlot(2, out_vec, 0)
    b.PrependUOffsetTRelativeSlot(3, ops_vec, 0)
    subgraph = b.EndObject()

    code_offsets = []
    for name in codes:
        b.StartObject(4)
        b.PrependInt8Slot(0, min(_OPS[name], 127), 0)
        b.PrependInt32Slot(2, 1, 1)
        b.PrependInt32Slot(3, _OPS[name], 0)
        code_offsets.append(b.EndObject())
    codes_vec = vec_offsets(code_offsets)
    subgraphs_vec = vec_offsets([subgraph])
    buffers_vec = vec_offsets(buffer_offsets)
    desc = b.CreateString("uspd test model")
    b.StartObject(8)
    b.PrependUint32Slot(0, 3, 0)
    b.PrependUOffsetTRelativeSlot(1, codes_vec, 0)
    b.PrependUOffsetTRelativeSlot(2, subgraphs_vec, 0)
    b.PrependUOffsetTRelativeSlot(3, desc, 0)
    b.PrependUOffsetTRelativeSlot(4, buffers_vec, 0)
    model = b.EndObject()
    b.Finish(model, file_identifier=b"TFL3")
    return bytes(b.Output())
