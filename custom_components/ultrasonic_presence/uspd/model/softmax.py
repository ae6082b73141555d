"""int8 SOFTMAX as TFLite's builtin kernel computes it (float lookup table).

TFLite's int8→int8 softmax (optimized_ops::Softmax, used by both the builtin and the
reference op resolver) precomputes table[255 − v] = expf(−scale·beta·v) in float32,
sums table entries relative to the row maximum, and quantises
prob·256 (output scale 1/256, zero point −128) by rounding. The numpy port below does
the same in float32; since libm's expf and numpy's exp may differ in the last ulp and
the float summation order may differ, an output can land 1 LSB (1/256) away from
LiteRT's in rare ties — documented, and tested as ≤ 1 LSB. Our shipped model ends in
logits (no SOFTMAX op), so this kernel only matters for third-party models.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from .flatbuffer import ModelError

Int8Array = npt.NDArray[np.int8]


def int8_softmax_kernel(
    input_scale: float, beta: float, output_scale: float, output_zero_point: int
) -> Callable[[Int8Array], Int8Array]:
    """Build the row-wise softmax over the last axis for one op's quantisation."""
    if output_zero_point != -128 or not np.isclose(output_scale, 1.0 / 256.0):
        raise ModelError("int8 SOFTMAX needs output scale 1/256 and zero point -128 (TFLite spec)")
    scale = np.float32(-input_scale * beta)
    table = np.exp(scale * np.arange(256, dtype=np.float32)).astype(np.float32)  # by distance

    def softmax(x: Int8Array) -> Int8Array:
        xi = x.astype(np.int32)
        dist = xi.max(axis=-1, keepdims=True) - xi  # 0..255
        e = table[dist]
        total = np.add.reduce(e, axis=-1, keepdims=True, dtype=np.float32)
        inv = np.float32(1.0) / (total * np.float32(output_scale))
        prob = (e * inv).astype(np.float32)
        q = np.round(prob).astype(np.int32) + output_zero_point
        result: Int8Array = np.clip(q, -128, 127).astype(np.int8)
        return result

    return softmax
