"""A numpy interpreter for full-integer (int8) TFLite models.

Why it exists: LiteRT ships no musl wheel, so on Home Assistant OS (Alpine) this is
what runs `presence_round*.tflite`. It implements exactly the ops our model uses, following
TFLite's *reference* integer kernels (tensorflow/lite/kernels/internal/reference/
integer_ops/*.h) so its int8 outputs match LiteRT bit for bit:

- convolutions accumulate Σ (x − zp_in)·w (+ bias) — padding contributes nothing,
  as if filled with the input zero point — and requantise per output channel with
  `multiply_by_quantized_multiplier`, then add zp_out and clamp to the fused
  activation range;
- accumulation runs as a float64 matrix product (im2col): every product and partial
  sum is an integer far below 2^53, so float64 is *exact* here and uses BLAS;
- pools and reshapes move int8 values unchanged (max) or divide with TFLite's
  round-half-away integer division (average).

Everything that can be precomputed (weights as matrices, multipliers, shifts, padding,
activation bounds) is done once at load time (an `OpSpec` per op); `run` is a short loop
of numpy calls. A max pool right after a convolution pools its accumulators before they
are requantised (`pooled_convolutions`: exact, a quarter of the requantisation work).
stacked.py runs the same OpSpecs for an ensemble's members in one pass.
Unsupported ops or types raise `ModelError` at load time, naming the op.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..dsp.linalg import SINGLE_THREAD_GEMM
from .flatbuffer import Graph, ModelError, Operator, Tensor
from .quant import (
    Requantizer,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    quantize_multipliers,
    quantize_value,
)

Int8Array = npt.NDArray[np.int8]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Kernel = Callable[[dict[int, Any]], None]

# tflite.ActivationFunctionType / tflite.Padding values.
_ACT_NONE, _ACT_RELU, _ACT_RELU_N1_TO_1, _ACT_RELU6 = 0, 1, 2, 3
_PAD_SAME, _PAD_VALID = 0, 1


def _activation_range(activation: int, out: Tensor) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for int8 outputs."""
    scale, zp = float(out.scale[0]), int(out.zero_point[0])
    lo, hi = -128, 127
    if activation == _ACT_NONE:
        return lo, hi
    if activation == _ACT_RELU:
        return max(lo, quantize_value(0.0, scale, zp)), hi
    if activation == _ACT_RELU6:
        return max(lo, quantize_value(0.0, scale, zp)), min(hi, quantize_value(6.0, scale, zp))
    if activation == _ACT_RELU_N1_TO_1:
        return max(lo, quantize_value(-1.0, scale, zp)), min(hi, quantize_value(1.0, scale, zp))
    raise ModelError(f"fused activation #{activation} is not supported by the numpy executor")


def _out_and_padding(
    size: int, filt: int, stride: int, dilation: int, padding: int
) -> tuple[int, int, int]:
    """TFLite's ComputeOutSize + ComputePaddingWithOffset: (out, pad_before, pad_after)."""
    effective = (filt - 1) * dilation + 1
    if padding == _PAD_SAME:
        out = (size + stride - 1) // stride
    elif padding == _PAD_VALID:
        out = (size + stride - effective) // stride
    else:
        raise ModelError(f"padding type #{padding} is not supported")
    if out <= 0:
        raise ModelError(f"filter {filt} (dilation {dilation}) does not fit an input of {size}")
    total = max((out - 1) * stride + effective - size, 0)
    before = total // 2
    return out, before, total - before


def _exact_float_dtype(weights: npt.NDArray[np.int8], zero_point: int) -> type[np.floating[Any]]:
    """float32 when every partial sum of Σ (x − zp)·w is an integer below 2^24, else float64.

    Integer sums below 2^24 (float64: 2^53) are exact in any summation order, so the
    BLAS product equals TFLite's int32 accumulation bit for bit.
    """
    max_x = max(127 - zero_point, zero_point + 128)
    flat = np.abs(weights.astype(np.int64)).reshape(weights.shape[0], -1)
    bound = int(flat.sum(axis=1).max()) * max_x if flat.size else 0
    return np.float32 if bound < 2**24 else np.float64


def product(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """`a @ b` (matrices, or stacks of them) as products BLAS runs on one thread.

    OpenBLAS spreads a product over its worker threads above ≈ 2.6e5 multiply-adds
    (dsp.linalg); they then spin, and on a 2-core host busy with anything else (Home
    Assistant, another room) a 3-frame batch took 2.6 ms where it takes 0.9 ms on one
    thread, its first convolution 1.2 ms instead of 0.22. So the product is cut along
    its longer outer side into parts under dsp.linalg.SINGLE_THREAD_GEMM. Exact however
    it is cut: every sum is an integer the float type holds exactly (_exact_float_dtype).
    """
    m, k = a.shape[-2:]
    n = b.shape[-1]
    if m * k * n <= SINGLE_THREAD_GEMM:
        whole: npt.NDArray[Any] = np.matmul(a, b)
        return whole
    if n >= m:
        step = max(1, SINGLE_THREAD_GEMM // (m * k))
        parts = [np.matmul(a, b[..., j : j + step]) for j in range(0, n, step)]
        return np.concatenate(parts, axis=-1)
    step = max(1, SINGLE_THREAD_GEMM // (k * n))
    parts = [np.matmul(a[..., i : i + step, :], b) for i in range(0, m, step)]
    return np.concatenate(parts, axis=-2)


def _pad_hw(x: npt.NDArray[Any], pads: tuple[int, int, int, int], value: float) -> Any:
    """Pad the two trailing (H, W) axes of NCHW data (np.pad is ~50x slower here)."""
    top, bottom, left, right = pads
    if not any(pads):
        return x
    n, c, h, w = x.shape
    out = np.full((n, c, h + top + bottom, w + left + right), value, dtype=x.dtype)
    out[:, :, top : top + h, left : left + w] = x
    return out


def _windows(xp: npt.NDArray[Any], g: Geometry) -> list[npt.NDArray[Any]]:
    """One strided NCHW view per filter tap (ky, kx), each shaped (N, C, OH, OW)."""
    (kh, kw), (oh, ow), (sh, sw), (dh, dw) = g.kernel, g.out_hw, g.stride, g.dilation
    views = []
    for ky in range(kh):
        for kx in range(kw):
            y0, x0 = ky * dh, kx * dw
            views.append(
                xp[:, :, y0 : y0 + (oh - 1) * sh + 1 : sh, x0 : x0 + (ow - 1) * sw + 1 : sw]
            )
    return views


def _tiled(
    pads: tuple[int, int, int, int], kernel: tuple[int, int], stride: tuple[int, int]
) -> bool:
    """Non-overlapping, unpadded pooling (stride = kernel, the usual 2×2 case)."""
    return not any(pads) and stride == kernel


def _tile_reduce(
    x: npt.NDArray[Any],
    kernel: tuple[int, int],
    out_hw: tuple[int, int],
    combine: Callable[[Any, Any], Any],
) -> npt.NDArray[Any]:
    """Pool a `_tiled` geometry: the KH rows of each tile combined over whole rows,
    then the KW columns — KH + KW − 2 numpy calls on long strided runs instead of one
    per tap (multi-axis `max`/`sum` reductions are slower still on these shapes)."""
    (kh, kw), (oh, ow) = kernel, out_hw
    n, c = x.shape[:2]
    tiles = x[:, :, : oh * kh, : ow * kw].reshape(n, c, oh, kh, ow * kw)
    rows = tiles[:, :, :, 0]
    for a in range(1, kh):
        rows = combine(rows, tiles[:, :, :, a])
    cols = rows.reshape(n, c, oh, ow, kw)
    acc = cols[..., 0]
    for b in range(1, kw):
        acc = combine(acc, cols[..., b])
    return acc


def _done(values: dict[int, Any]) -> None:
    """A kernel whose work an earlier, fused kernel did."""


def _nhwc(x: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Internal NCHW activation → TFLite's NHWC order (for flattening and outputs)."""
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if x.ndim == 4 else x


@dataclass(frozen=True)
class Geometry:
    """Where a conv/pool window goes: (H, W) pairs, pads (top, bottom, left, right)."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    out_hw: tuple[int, int]
    pads: tuple[int, int, int, int]


@dataclass(frozen=True, kw_only=True)
class _Requantized:
    """What every conv/FC shares: int32 bias, per-channel (multiplier, shift), zero
    points and the fused activation's int8 bounds."""

    src: int
    dst: int
    bias: I64
    multiplier: I64
    shift: I64
    zp_in: int
    zp_out: int
    lo: int
    hi: int


@dataclass(frozen=True, kw_only=True)
class ConvSpec(_Requantized):
    """CONV_2D: the [O, H, W, I] filter as an (O, H·W·I) matrix, columns (tap, in-channel)."""

    geometry: Geometry
    in_channels: int
    weights: npt.NDArray[Any]

    @property
    def pointwise(self) -> bool:
        """A 1×1, stride-1, unpadded convolution: a plain matrix product, no im2col."""
        g = self.geometry
        return g.kernel == g.stride == (1, 1) and not any(g.pads)


@dataclass(frozen=True, kw_only=True)
class DepthwiseSpec(_Requantized):
    """DEPTHWISE_CONV_2D: one (H·W, O) row of weights per filter tap."""

    geometry: Geometry
    depth_multiplier: int
    taps: npt.NDArray[Any]


@dataclass(frozen=True, kw_only=True)
class FullyConnectedSpec(_Requantized):
    """FULLY_CONNECTED: (I, O) weights; LiteRT's int8 FC rounds once (quant.py)."""

    depth: int
    weights: npt.NDArray[Any]
    out_tail: tuple[int, ...]


@dataclass(frozen=True)
class PoolSpec:
    """MAX_POOL_2D / AVERAGE_POOL_2D ('max' / 'average'); count = in-image taps per output."""

    src: int
    dst: int
    kind: str
    geometry: Geometry
    lo: int
    hi: int
    count: I64


@dataclass(frozen=True)
class ReshapeSpec:
    """RESHAPE to (1, *tail)."""

    src: int
    dst: int
    tail: tuple[int, ...]


OpSpec = ConvSpec | DepthwiseSpec | FullyConnectedSpec | PoolSpec | ReshapeSpec


def _tap_slices(size: int, out: int, offset: int, stride: int) -> tuple[slice, slice] | None:
    """(output slice, input slice) along one axis for a filter tap whose input index is
    o·stride + offset (offset = tap·dilation − pad before): the outputs reading inside
    [0, size), or None if none does."""
    first = max(0, -(offset // stride))  # ⌈−offset / stride⌉, at least 0
    last = min(out - 1, (size - 1 - offset) // stride)
    if last < first:
        return None
    start = first * stride + offset
    return slice(first, last + 1), slice(start, last * stride + offset + 1, stride)


class Im2col:
    """Reusable im2col for one geometry: NCHW (N, C, H, W) → (taps, C, N, OH, OW).

    Padding contributes zeros (the input zero point is subtracted before), so each tap's
    in-image part is copied into a buffer whose padding was zeroed once; streaming-sized
    buffers are kept from call to call (no 100+ kB allocation and page faults per call).
    The result is overwritten by the next call: consume it at once. Not thread-safe.
    """

    def __init__(self, g: Geometry) -> None:
        self.g = g
        self._plans: dict[tuple[int, int], list[tuple[int, slice, slice, slice, slice]]] = {}
        self._buffers: dict[tuple[Any, ...], npt.NDArray[Any]] = {}

    def _plan(self, h: int, w: int) -> list[tuple[int, slice, slice, slice, slice]]:
        plan = self._plans.get((h, w))
        if plan is None:
            g, plan = self.g, []
            (kh, kw), (oh, ow), (sh, sw), (dh, dw) = g.kernel, g.out_hw, g.stride, g.dilation
            top, _, left, _ = g.pads
            for ky in range(kh):
                for kx in range(kw):
                    rows = _tap_slices(h, oh, ky * dh - top, sh)
                    cols = _tap_slices(w, ow, kx * dw - left, sw)
                    if rows is not None and cols is not None:
                        plan.append((ky * kw + kx, rows[0], cols[0], rows[1], cols[1]))
            self._plans[(h, w)] = plan
        return plan

    def __call__(self, x: npt.NDArray[Any]) -> npt.NDArray[Any]:
        n, c, h, w = x.shape
        taps = self.g.kernel[0] * self.g.kernel[1]
        shape = (taps, c, n, *self.g.out_hw)
        key = (shape, x.dtype)
        buf = self._buffers.get(key)
        if buf is None:
            buf = np.zeros(shape, x.dtype)
            if buf.size <= 1 << 18:  # keep streaming-sized buffers, not training batches
                if len(self._buffers) >= 8:
                    self._buffers.clear()
                self._buffers[key] = buf
        per_channel = x.transpose(1, 0, 2, 3)  # (C, N, H, W)
        for k, out_rows, out_cols, in_rows, in_cols in self._plan(h, w):
            buf[k, :, :, out_rows, out_cols] = per_channel[:, :, in_rows, in_cols]
        return buf


def output_stage(
    specs: Sequence[ConvSpec | DepthwiseSpec | FullyConnectedSpec],
    shape: tuple[int, ...],
    pools: Sequence[PoolSpec] | None = None,
) -> Requantizer:
    """Bias, requantisation, zero point and activation clamp of a conv/FC (quant.py), and
    the clamp of a max pool fused into it (pooled_convolutions). Several specs (an
    ensemble's members, stacked.py) lie side by side, each channel with its own
    member's constants; `shape` broadcasts the per-channel values."""
    channels = specs[0].multiplier.size
    lo, hi = [s.lo for s in specs], [s.hi for s in specs]
    if pools is not None:
        lo = [max(a, p.lo) for a, p in zip(lo, pools, strict=True)]
        hi = [min(a, p.hi) for a, p in zip(hi, pools, strict=True)]
    return Requantizer(
        np.concatenate([s.multiplier for s in specs]),
        np.concatenate([s.shift for s in specs]),
        bias=np.concatenate([s.bias for s in specs]),
        zero_point=np.repeat([s.zp_out for s in specs], channels),
        lo=np.repeat(lo, channels),
        hi=np.repeat(hi, channels),
        single_rounding=isinstance(specs[0], FullyConnectedSpec),
        shape=shape,
    )


def pooled_convolutions(
    graph: Graph, specs: Sequence[OpSpec | None]
) -> dict[int, tuple[ConvSpec, PoolSpec]]:
    """Convolutions read only by the next op, a tiled max pool: {conv position: both}.

    Why: requantisation (non-negative multipliers, floors, clamps) is monotone
    non-decreasing per channel, so the max of requantised values is the requantised max.
    Pooling a convolution's accumulators before requantising gives the same int8 pool
    output with a quarter of the requantisation work, the executor's costliest stage.
    """
    readers = Counter(i for op in graph.operators for i in op.inputs)
    fused = {}
    for p, (conv, pool) in enumerate(itertools.pairwise(specs)):
        if (
            isinstance(conv, ConvSpec)
            and isinstance(pool, PoolSpec)
            and pool.kind == "max"
            and pool.src == conv.dst
            and readers[conv.dst] == 1
            and conv.dst not in graph.outputs
            and _tiled(pool.geometry.pads, pool.geometry.kernel, pool.geometry.stride)
            and max(conv.lo, pool.lo) <= min(conv.hi, pool.hi)
        ):
            fused[p] = (conv, pool)
    return fused


def pool_then_requantize(
    requant: Requantizer,
    acc: npt.NDArray[Any],
    shape: tuple[int, int, int, int],
    pool: PoolSpec | None,
) -> Int8Array:
    """A convolution's accumulators (channels, N·OH·OW) → int8 (channels, N, H, W): the
    conv's output, or, with a fused max pool, the pool's (see pooled_convolutions)."""
    if pool is None:
        return requant(acc).reshape(shape)
    g = pool.geometry
    return requant(_tile_reduce(acc.reshape(shape), g.kernel, g.out_hw, np.maximum))


def _conv_kernel(s: ConvSpec, pool: PoolSpec | None = None) -> Kernel:
    pools = None if pool is None else [pool]
    requant = output_stage([s], (-1, 1) if pool is None else (-1, 1, 1, 1), pools)
    im2col = Im2col(s.geometry)
    oc = s.weights.shape[0]
    oh, ow = s.geometry.out_hw
    ftype, wmat, pointwise = s.weights.dtype.type, s.weights, s.pointwise
    dst = s.dst if pool is None else pool.dst

    def run(values: dict[int, Any]) -> None:
        x = values[s.src].astype(ftype)
        x -= s.zp_in
        n = x.shape[0]
        if pointwise:
            cols = x.transpose(1, 0, 2, 3).reshape(s.in_channels, n * oh * ow)
        else:
            cols = im2col(x).reshape(-1, n * oh * ow)
        q = pool_then_requantize(requant, product(wmat, cols), (oc, n, oh, ow), pool)
        values[dst] = q.transpose(1, 0, 2, 3) if n > 1 else q[np.newaxis, :, 0]

    return run


def depthwise_accumulate(
    x: npt.NDArray[Any], im2col: Im2col, taps: npt.NDArray[Any]
) -> npt.NDArray[Any]:
    """Σ over taps of window·weight per channel, (C, N·OH·OW), for taps (C, 1, KH·KW):
    one batched product of each channel's taps with its im2col rows, faster than a
    multiply-add per tap on strided views (and exact: integer sums, _exact_float_dtype)."""
    cols = im2col(x)  # (taps, C, N, OH, OW)
    t, c = cols.shape[:2]
    acc: npt.NDArray[Any] = product(taps, cols.reshape(t, c, -1).transpose(1, 0, 2))
    return acc.reshape(c, -1)


def depthwise_taps(taps: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """(KH·KW, C) filter taps as the (C, 1, KH·KW) stack `depthwise_accumulate` takes."""
    return np.ascontiguousarray(taps.T[:, np.newaxis, :])


def _depthwise_kernel(s: DepthwiseSpec) -> Kernel:
    taps = depthwise_taps(s.taps)
    im2col = Im2col(s.geometry)
    requant = output_stage([s], (-1, 1))
    ftype = s.taps.dtype.type
    oc = s.taps.shape[1]
    oh, ow = s.geometry.out_hw

    def run(values: dict[int, Any]) -> None:
        x = values[s.src].astype(ftype)
        x -= s.zp_in
        n = x.shape[0]
        if s.depth_multiplier > 1:
            x = np.repeat(x, s.depth_multiplier, axis=1)  # out channel = in·mult + m
        q = requant(depthwise_accumulate(x, im2col, taps)).reshape(oc, n, oh, ow)
        values[s.dst] = q.transpose(1, 0, 2, 3) if n > 1 else q[np.newaxis, :, 0]

    return run


def _fully_connected_kernel(s: FullyConnectedSpec) -> Kernel:
    requant = output_stage([s], (-1,))
    ftype = s.weights.dtype.type

    def run(values: dict[int, Any]) -> None:
        x = _nhwc(values[s.src])
        n = x.shape[0]
        xf = x.reshape(-1, s.depth).astype(ftype)
        xf -= s.zp_in
        values[s.dst] = requant(product(xf, s.weights)).reshape(n, *s.out_tail)

    return run


@dataclass(frozen=True)
class TileAverage:
    """A tiled average pool as one product: (H·W, OH·OW) 0/1 matrix summing each tile."""

    matrix: npt.NDArray[np.float32]
    count: int
    kernel: tuple[int, int]
    out_hw: tuple[int, int]


def _tile_average_matrix(s: PoolSpec) -> TileAverage | None:
    """The product form of a `_tiled` average pool, or None where float32 sums of its
    tiles could be inexact (a tile of 2^17 or more int8 values)."""
    (kh, kw), (oh, ow) = s.geometry.kernel, s.geometry.out_hw
    count = kh * kw
    if count * 128 >= 2**24:
        return None
    w_in = ow * kw
    matrix = np.zeros((oh * kh * w_in, oh * ow), np.float32)
    for y in range(oh * kh):
        for x in range(w_in):
            matrix[y * w_in + x, (y // kh) * ow + x // kw] = 1.0
    return TileAverage(matrix, count, (kh, kw), (oh, ow))


def _tile_average(x: Int8Array, pool: TileAverage, lo: Any, hi: Any) -> Int8Array:
    """reference_integer_ops::AveragePool on a tiled geometry, NCHW int8 in and out.

    The tile sums come from one float32 product (integers below 2^24: exact in any
    order); the rounding is TFLite's (|sum| + count/2) / count in integer division,
    half away from zero. On floats holding exact integers, floor_divide is exact.
    """
    n, c = x.shape[:2]
    (oh, ow), (kh, kw) = pool.out_hw, pool.kernel
    # VALID padding may leave rows/columns no tile covers: cropped, as _tile_reduce does.
    tiles = x[:, :, : oh * kh, : ow * kw].astype(np.float32, order="C")
    sums = product(tiles.reshape(n * c, -1), pool.matrix)
    magnitude = np.floor_divide(np.abs(sums) + np.float32(pool.count // 2), pool.count)
    rounded = np.copysign(magnitude, sums).reshape(n, c, oh, ow)
    np.maximum(rounded, lo, out=rounded)
    np.minimum(rounded, hi, out=rounded)
    out: Int8Array = rounded.astype(np.int8)
    return out


def pool_kernel(s: PoolSpec, lo: Any, hi: Any) -> Kernel:
    """Max or average pool of NCHW int8 (any channel count); lo/hi: the activation
    bounds, scalars or per-channel (C, 1, 1) arrays."""
    g = s.geometry
    tiled = _tiled(g.pads, g.kernel, g.stride)
    half = s.count // 2
    averaging = _tile_average_matrix(s) if s.kind == "average" and tiled else None

    def run_max(values: dict[int, Any]) -> None:
        if tiled:
            acc = _tile_reduce(values[s.src], g.kernel, g.out_hw, np.maximum)
        else:
            # Out-of-image taps are skipped in TFLite: pad below any int8 value.
            views = _windows(_pad_hw(values[s.src].astype(np.int16), g.pads, -129), g)
            acc = views[0]
            for v in views[1:]:
                acc = np.maximum(acc, v)
        values[s.dst] = np.clip(acc, lo, hi).astype(np.int8)

    def run_average(values: dict[int, Any]) -> None:
        if averaging is not None:
            values[s.dst] = _tile_average(values[s.src], averaging, lo, hi)
            return
        if tiled:
            acc = _tile_reduce(values[s.src].astype(np.int64), g.kernel, g.out_hw, np.add)
        else:
            xp = _pad_hw(values[s.src].astype(np.int64), g.pads, 0)
            acc = np.sum(_windows(xp, g), axis=0)
        # reference_integer_ops::AveragePool: (acc ± count/2) / count in C++ integer
        # division (toward zero), i.e. round half away from zero, on the magnitude.
        magnitude = (np.abs(acc) + half) // s.count
        rounded = np.where(acc < 0, -magnitude, magnitude)
        values[s.dst] = np.clip(rounded, lo, hi).astype(np.int8)

    return run_max if s.kind == "max" else run_average


class NumpyExecutor:
    """Runs one int8 TFLite graph on batches: `run(x_int8[N, ...]) -> [outputs]`."""

    SUPPORTED_OPS: tuple[str, ...] = (
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "FULLY_CONNECTED",
        "MAX_POOL_2D",
        "AVERAGE_POOL_2D",
        "RESHAPE",
        "ADD",
        "SOFTMAX",
    )

    def __init__(self, graph: Graph) -> None:
        """Check every op and tensor type once and precompute all constants."""
        self.graph = graph
        if len(graph.inputs) != 1:
            raise ModelError(f"expected one model input, found {len(graph.inputs)}")
        self.input = graph.tensors[graph.inputs[0]]
        self.outputs = [graph.tensors[i] for i in graph.outputs]
        for t in (self.input, *self.outputs):
            self._require_int8(t, "model input/output")
        if not self.input.shape or self.input.shape[0] != 1:
            raise ModelError(f"model input must have batch size 1, has shape {self.input.shape}")
        builders: dict[str, Callable[[Operator], Kernel]] = {
            "CONV_2D": self._conv,
            "DEPTHWISE_CONV_2D": self._depthwise,
            "FULLY_CONNECTED": self._fully_connected,
            "MAX_POOL_2D": self._pool,
            "AVERAGE_POOL_2D": self._pool,
            "RESHAPE": self._reshape,
            "ADD": self._add,
            "SOFTMAX": self._softmax,
        }
        self._kernels: list[Kernel] = []
        # Each op's constants, None for ops only this executor runs (ADD, SOFTMAX).
        self.specs: list[OpSpec | None] = []
        for op in graph.operators:
            build = builders.get(op.name)
            if build is None:
                raise ModelError(
                    f"{graph.source}: op {op.index} {op.name} is not supported by the numpy "
                    f"executor (supported: {', '.join(self.SUPPORTED_OPS)})"
                )
            for j in op.outputs:
                self._require_int8(graph.tensors[j], f"op {op.index} {op.name} output")
            self._kernels.append(build(op))
        for p, (conv, pool) in pooled_convolutions(graph, self.specs).items():
            self._kernels[p] = _conv_kernel(conv, pool)
            self._kernels[p + 1] = _done  # the convolution wrote the pool's output

    # ---------------------------------------------------------------- helpers
    def _require_int8(self, t: Tensor, what: str) -> None:
        if t.type_name != "INT8" or not t.quantized:
            raise ModelError(
                f"{self.graph.source}: {what} {t.name!r} is {t.type_name}"
                f"{'' if t.quantized else ' without quantisation'}; the numpy executor runs "
                "full-integer int8 models only (convert with inference_input/output_type=int8)"
            )

    def _t(self, index: int) -> Tensor:
        return self.graph.tensors[index]

    def _const(self, index: int, what: str) -> npt.NDArray[Any]:
        data = self._t(index).data
        if data is None:
            raise ModelError(f"{self.graph.source}: {what} must be a constant tensor")
        return data

    def _bias(self, op: Operator, channels: int) -> I64:
        if len(op.inputs) < 3 or op.inputs[2] < 0:
            return np.zeros(channels, np.int64)
        bias = self._const(op.inputs[2], f"op {op.index} bias")
        if bias.dtype != np.int32 or bias.size != channels:
            raise ModelError(f"op {op.index} {op.name}: bias must be {channels} int32 values")
        return bias.astype(np.int64).reshape(channels)

    def _per_channel(
        self, inp: Tensor, weights: Tensor, out: Tensor, channels: int
    ) -> tuple[I64, I64]:
        """PopulateConvolutionQuantizationParams: in·w[c]/out in double, per channel."""
        if np.any(weights.zero_point != 0):
            raise ModelError(f"weights {weights.name!r} have a non-zero zero point (not int8 spec)")
        scales = (
            weights.scale if weights.scale.size == channels else np.repeat(weights.scale, channels)
        )
        reals = [float(inp.scale[0]) * float(s) / float(out.scale[0]) for s in scales]
        return quantize_multipliers(reals)

    # ---------------------------------------------------------------- op constants
    # Each builder derives an op's constants once (an OpSpec, kept in self.specs) and
    # returns the kernel that runs them; stacked.py runs them for several models at once.
    # Activations are held NCHW internally (4-D) so per-channel broadcasting and im2col
    # copies run along long contiguous rows; `_nhwc` restores TFLite's order wherever
    # element order matters (RESHAPE, FULLY_CONNECTED input, outputs).
    def _geometry(self, op: Operator, kernel: tuple[int, int]) -> Geometry:
        """Window geometry of a conv or pool (pools have no dilation option: 1)."""
        o = op.options
        dilation = (o.get("DilationHFactor", 1) or 1, o.get("DilationWFactor", 1) or 1)
        _, h, wd, _ = self._t(op.inputs[0]).shape
        stride = (o["StrideH"], o["StrideW"])
        oh, pt, pb = _out_and_padding(h, kernel[0], stride[0], dilation[0], o["Padding"])
        ow, pl, pr = _out_and_padding(wd, kernel[1], stride[1], dilation[1], o["Padding"])
        return Geometry(kernel, stride, dilation, (oh, ow), (pt, pb, pl, pr))

    def _output_fields(
        self, op: Operator, channels: int, multiplier: I64, shift: I64, activation: int
    ) -> dict[str, Any]:
        """The `_Requantized` fields every conv/FC spec shares."""
        inp, out = self._t(op.inputs[0]), self._t(op.outputs[0])
        lo, hi = _activation_range(activation, out)
        return {
            "src": op.inputs[0],
            "dst": op.outputs[0],
            "bias": self._bias(op, channels),
            "multiplier": multiplier,
            "shift": shift,
            "zp_in": int(inp.zero_point[0]),
            "zp_out": int(out.zero_point[0]),
            "lo": lo,
            "hi": hi,
        }

    def _conv(self, op: Operator) -> Kernel:
        spec = self._conv_spec(op)
        self.specs.append(spec)
        return _conv_kernel(spec)

    def _conv_spec(self, op: Operator) -> ConvSpec:
        inp, w_t, out = self._t(op.inputs[0]), self._t(op.inputs[1]), self._t(op.outputs[0])
        self._require_int8(inp, f"op {op.index} CONV_2D input")
        w = self._const(op.inputs[1], "conv filter")
        if w.dtype != np.int8 or w.ndim != 4 or len(inp.shape) != 4:
            raise ModelError(
                f"op {op.index} CONV_2D: needs a 4-D input and an int8 [O,H,W,I] filter"
            )
        oc, kh, kw, ic = w.shape
        if inp.shape[3] != ic:
            raise ModelError(f"op {op.index} CONV_2D: grouped convolution is not supported")
        ftype = _exact_float_dtype(w.reshape(oc, -1), int(inp.zero_point[0]))
        multiplier, shift = self._per_channel(inp, w_t, out, oc)
        activation = op.options["FusedActivationFunction"]
        return ConvSpec(
            **self._output_fields(op, oc, multiplier, shift, activation),
            geometry=self._geometry(op, (kh, kw)),
            in_channels=ic,
            # Columns are ordered (tap, in-channel), matching the [O, H, W, I] filter layout.
            weights=w.reshape(oc, kh * kw * ic).astype(ftype),
        )

    def _depthwise(self, op: Operator) -> Kernel:
        spec = self._depthwise_spec(op)
        self.specs.append(spec)
        return _depthwise_kernel(spec)

    def _depthwise_spec(self, op: Operator) -> DepthwiseSpec:
        inp, w_t, out = self._t(op.inputs[0]), self._t(op.inputs[1]), self._t(op.outputs[0])
        self._require_int8(inp, f"op {op.index} DEPTHWISE_CONV_2D input")
        w = self._const(op.inputs[1], "depthwise filter")
        if w.dtype != np.int8 or w.ndim != 4 or w.shape[0] != 1 or len(inp.shape) != 4:
            raise ModelError(f"op {op.index} DEPTHWISE_CONV_2D: filter must be int8 [1,H,W,O]")
        _, kh, kw, oc = w.shape
        ic = inp.shape[3]
        if oc % ic:
            raise ModelError(f"op {op.index}: {oc} output channels is no multiple of {ic} inputs")
        ftype = _exact_float_dtype(w.reshape(kh * kw, oc).T, int(inp.zero_point[0]))
        # Depthwise filters are quantised along dimension 3 (output channel).
        multiplier, shift = self._per_channel(inp, w_t, out, oc)
        activation = op.options["FusedActivationFunction"]
        return DepthwiseSpec(
            **self._output_fields(op, oc, multiplier, shift, activation),
            geometry=self._geometry(op, (kh, kw)),
            depth_multiplier=oc // ic,
            taps=w.reshape(kh * kw, oc).astype(ftype),
        )

    def _fully_connected(self, op: Operator) -> Kernel:
        spec = self._fully_connected_spec(op)
        self.specs.append(spec)
        return _fully_connected_kernel(spec)

    def _fully_connected_spec(self, op: Operator) -> FullyConnectedSpec:
        inp, w_t, out = self._t(op.inputs[0]), self._t(op.inputs[1]), self._t(op.outputs[0])
        self._require_int8(inp, f"op {op.index} FULLY_CONNECTED input")
        w = self._const(op.inputs[1], "fully-connected weights")
        if w.dtype != np.int8 or w.ndim != 2:
            raise ModelError(f"op {op.index} FULLY_CONNECTED: weights must be int8 [O,I]")
        if op.options.get("WeightsFormat", 0) != 0:
            raise ModelError(f"op {op.index} FULLY_CONNECTED: shuffled weights are not supported")
        oc, depth = w.shape
        if int(np.prod(inp.shape)) % depth:
            raise ModelError(f"op {op.index} FULLY_CONNECTED: input size is no multiple of {depth}")
        ftype = _exact_float_dtype(w, int(inp.zero_point[0]))
        # LiteRT's int8 FC reference kernel rounds once (see quant.py); conv rounds twice.
        if w_t.scale.size > 1:
            multiplier, shift = self._per_channel(inp, w_t, out, oc)
        else:
            if np.any(w_t.zero_point != 0):
                raise ModelError(f"weights {w_t.name!r} have a non-zero zero point")
            # GetQuantizedConvolutionMultipler: the in·w product is taken in float32.
            product = float(np.float32(inp.scale[0]) * np.float32(w_t.scale[0]))
            m, s = quantize_multiplier(product / float(out.scale[0]))
            multiplier, shift = np.full(oc, m, np.int64), np.full(oc, s, np.int64)
        activation = op.options.get("FusedActivationFunction", 0)
        return FullyConnectedSpec(
            **self._output_fields(op, oc, multiplier, shift, activation),
            depth=depth,
            weights=w.astype(ftype).T.copy(),
            out_tail=out.shape[1:],
        )

    def _pool_spec(self, op: Operator, kind: str) -> PoolSpec:
        inp, out = self._t(op.inputs[0]), self._t(op.outputs[0])
        self._require_int8(inp, f"op {op.index} {op.name} input")
        if not (
            np.array_equal(inp.scale, out.scale) and np.array_equal(inp.zero_point, out.zero_point)
        ):
            raise ModelError(f"op {op.index} {op.name}: input and output quantisation differ")
        o = op.options
        geometry = self._geometry(op, (o["FilterHeight"], o["FilterWidth"]))
        lo, hi = _activation_range(o["FusedActivationFunction"], out)
        _, h, wd, _ = inp.shape
        ones = _pad_hw(np.ones((1, 1, h, wd), np.int64), geometry.pads, 0)
        count = np.sum(_windows(ones, geometry), axis=0)
        return PoolSpec(op.inputs[0], op.outputs[0], kind, geometry, lo, hi, count)

    def _pool(self, op: Operator) -> Kernel:
        spec = self._pool_spec(op, "max" if op.name == "MAX_POOL_2D" else "average")
        self.specs.append(spec)
        return pool_kernel(spec, spec.lo, spec.hi)

    def _reshape(self, op: Operator) -> Kernel:
        inp, out = self._t(op.inputs[0]), self._t(op.outputs[0])
        if not (
            np.array_equal(inp.scale, out.scale) and np.array_equal(inp.zero_point, out.zero_point)
        ):
            raise ModelError(f"op {op.index} RESHAPE: input and output quantisation differ")
        if not out.shape or out.shape[0] != 1 or int(np.prod(out.shape)) != int(np.prod(inp.shape)):
            raise ModelError(f"op {op.index} RESHAPE: cannot batch shape {out.shape}")
        spec = ReshapeSpec(op.inputs[0], op.outputs[0], out.shape[1:])
        self.specs.append(spec)
        src, dst, tail = spec.src, spec.dst, spec.tail

        def run(values: dict[int, Any]) -> None:
            x = _nhwc(values[src])
            y = x.reshape(x.shape[0], *tail)
            # A 4-D result goes back to the internal NCHW layout.
            values[dst] = y.transpose(0, 3, 1, 2) if y.ndim == 4 else y

        return run

    def _add(self, op: Operator) -> Kernel:
        """reference_integer_ops::Add with TFLite's left_shift = 20 rescaling."""
        self.specs.append(None)
        a, b, out = self._t(op.inputs[0]), self._t(op.inputs[1]), self._t(op.outputs[0])
        for t in (a, b):
            self._require_int8(t, f"op {op.index} ADD input")
        left_shift = 20
        twice_max = 2.0 * max(float(a.scale[0]), float(b.scale[0]))
        ma, sa = quantize_multiplier(float(a.scale[0]) / twice_max)
        mb, sb = quantize_multiplier(float(b.scale[0]) / twice_max)
        mo, so = quantize_multiplier(twice_max / ((1 << left_shift) * float(out.scale[0])))
        ka, sa_ = np.array([ma], np.int64), np.array([sa], np.int64)
        kb, sb_ = np.array([mb], np.int64), np.array([sb], np.int64)
        ko, so_ = np.array([mo], np.int64), np.array([so], np.int64)
        lo, hi = _activation_range(op.options.get("FusedActivationFunction", 0), out)
        zpa, zpb, zpo = int(a.zero_point[0]), int(b.zero_point[0]), int(out.zero_point[0])
        consts: dict[int, Any] = {}
        for j in op.inputs[:2]:
            data = self._t(j).data
            if data is not None and data.ndim == 4:
                data = data.transpose(0, 3, 1, 2)
            elif data is not None and data.ndim not in (0, 1) and len(out.shape) == 4:
                raise ModelError(f"op {op.index} ADD: cannot broadcast a {data.ndim}-D constant")
            elif data is not None and data.ndim == 1 and len(out.shape) == 4:
                data = data.reshape(-1, 1, 1)  # per-channel constant in NCHW
            consts[j] = data
        ia, ib, dst = op.inputs[0], op.inputs[1], op.outputs[0]

        def operand(values: dict[int, Any], j: int) -> I64:
            data = consts[j]
            src = values[j] if data is None else data
            return np.asarray(src, dtype=np.int64)

        def run(values: dict[int, Any]) -> None:
            xa = (operand(values, ia) - zpa) << left_shift
            xb = (operand(values, ib) - zpb) << left_shift
            total = multiply_by_quantized_multiplier(
                xa, ka, sa_
            ) + multiply_by_quantized_multiplier(xb, kb, sb_)
            res = multiply_by_quantized_multiplier(total, ko, so_) + zpo
            values[dst] = np.clip(res, lo, hi).astype(np.int8)

        return run

    def _softmax(self, op: Operator) -> Kernel:
        from .softmax import int8_softmax_kernel

        self.specs.append(None)

        inp, out = self._t(op.inputs[0]), self._t(op.outputs[0])
        self._require_int8(inp, f"op {op.index} SOFTMAX input")
        fn = int8_softmax_kernel(
            float(inp.scale[0]),
            float(op.options.get("Beta", 1.0)),
            float(out.scale[0]),
            int(out.zero_point[0]),
        )
        src, dst = op.inputs[0], op.outputs[0]

        def run(values: dict[int, Any]) -> None:
            x = values[src]
            values[dst] = fn(x) if x.ndim != 4 else fn(_nhwc(x)).transpose(0, 3, 1, 2)

        return run

    # ---------------------------------------------------------------- running
    def run(self, x: Int8Array) -> list[Int8Array]:
        """Run the graph on int8 input shaped (N, *input_shape[1:]); one array per output."""
        if x.dtype != np.int8 or x.shape[1:] != self.input.shape[1:]:
            raise ValueError(
                f"expected int8 input shaped (N, {', '.join(map(str, self.input.shape[1:]))}), "
                f"got {x.dtype} {x.shape}"
            )
        values: dict[int, Any] = {self.input.index: x.transpose(0, 3, 1, 2) if x.ndim == 4 else x}
        for kernel in self._kernels:
            kernel(values)
        return [_nhwc(values[t.index]) for t in self.outputs]
