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
activation bounds) is done once at load time; `run` is a short loop of numpy calls.
Unsupported ops or types raise `ModelError` at load time, naming the op.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

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


def _pad_hw(x: npt.NDArray[Any], pads: tuple[int, int, int, int], value: float) -> Any:
    """Pad the two trailing (H, W) axes of NCHW data (np.pad is ~50x slower here)."""
    top, bottom, left, right = pads
    if not any(pads):
        return x
    n, c, h, w = x.shape
    out = np.full((n, c, h + top + bottom, w + left + right), value, dtype=x.dtype)
    out[:, :, top : top + h, left : left + w] = x
    return out


def _windows(
    xp: npt.NDArray[Any],
    kernel: tuple[int, int],
    out_hw: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
) -> list[npt.NDArray[Any]]:
    """One strided NCHW view per filter tap (ky, kx), each shaped (N, C, OH, OW)."""
    kh, kw = kernel
    oh, ow = out_hw
    sh, sw = stride
    dh, dw = dilation
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


def _nhwc(x: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Internal NCHW activation → TFLite's NHWC order (for flattening and outputs)."""
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if x.ndim == 4 else x


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
            "MAX_POOL_2D": self._max_pool,
            "AVERAGE_POOL_2D": self._average_pool,
            "RESHAPE": self._reshape,
            "ADD": self._add,
            "SOFTMAX": self._softmax,
        }
        self._kernels: list[Kernel] = []
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

    # ---------------------------------------------------------------- kernels
    # Activations are held NCHW internally (4-D) so per-channel broadcasting and
    # im2col copies run along long contiguous rows; `_nhwc` restores TFLite's order
    # wherever element order matters (RESHAPE, FULLY_CONNECTED input, outputs).
    def _conv(self, op: Operator) -> Kernel:
        inp, w_t, out = self._t(op.inputs[0]), self._t(op.inputs[1]), self._t(op.outputs[0])
        self._require_int8(inp, f"op {op.index} CONV_2D input")
        w = self._const(op.inputs[1], "conv filter")
        if w.dtype != np.int8 or w.ndim != 4 or len(inp.shape) != 4:
            raise ModelError(
                f"op {op.index} CONV_2D: needs a 4-D input and an int8 [O,H,W,I] filter"
            )
        oc, kh, kw, ic = w.shape
        _, h, wd, c = inp.shape
        if c != ic:
            raise ModelError(f"op {op.index} CONV_2D: grouped convolution is not supported")
        o = op.options
        sh, sw = o["StrideH"], o["StrideW"]
        dh, dw = o.get("DilationHFactor", 1) or 1, o.get("DilationWFactor", 1) or 1
        oh, pt, pb = _out_and_padding(h, kh, sh, dh, o["Padding"])
        ow, pl, pr = _out_and_padding(wd, kw, sw, dw, o["Padding"])
        zp_in, zp_out = int(inp.zero_point[0]), int(out.zero_point[0])
        ftype = _exact_float_dtype(w.reshape(oc, -1), zp_in)
        # Columns are ordered (tap, in-channel), matching the [O, H, W, I] filter layout.
        wmat = w.reshape(oc, kh * kw * ic).astype(ftype)
        bias = self._bias(op, oc).reshape(oc, 1)
        requant = Requantizer(*self._per_channel(inp, w_t, out, oc), shape=(-1, 1))
        lo, hi = _activation_range(o["FusedActivationFunction"], out)
        pads = (pt, pb, pl, pr)
        pointwise = kh == kw == sh == sw == 1 and not any(pads)
        src, dst = op.inputs[0], op.outputs[0]

        def run(values: dict[int, Any]) -> None:
            x = values[src].astype(ftype)
            x -= zp_in
            n = x.shape[0]
            if pointwise:
                cols = x.transpose(1, 0, 2, 3).reshape(ic, n * oh * ow)
            else:
                views = _windows(_pad_hw(x, pads, 0.0), (kh, kw), (oh, ow), (sh, sw), (dh, dw))
                buf = np.empty((kh * kw, ic, n, oh, ow), ftype)
                for k, view in enumerate(views):
                    buf[k] = view.transpose(1, 0, 2, 3)
                cols = buf.reshape(kh * kw * ic, n * oh * ow)
            acc = (wmat @ cols).astype(np.int64)
            acc += bias
            res = requant(acc)
            res += zp_out
            np.clip(res, lo, hi, out=res)
            q = res.astype(np.int8).reshape(oc, n, oh, ow)
            values[dst] = q.transpose(1, 0, 2, 3) if n > 1 else q.reshape(1, oc, oh, ow)

        return run

    def _depthwise(self, op: Operator) -> Kernel:
        inp, w_t, out = self._t(op.inputs[0]), self._t(op.inputs[1]), self._t(op.outputs[0])
        self._require_int8(inp, f"op {op.index} DEPTHWISE_CONV_2D input")
        w = self._const(op.inputs[1], "depthwise filter")
        if w.dtype != np.int8 or w.ndim != 4 or w.shape[0] != 1 or len(inp.shape) != 4:
            raise ModelError(f"op {op.index} DEPTHWISE_CONV_2D: filter must be int8 [1,H,W,O]")
        _, kh, kw, oc = w.shape
        _, h, wd, ic = inp.shape
        if oc % ic:
            raise ModelError(f"op {op.index}: {oc} output channels is no multiple of {ic} inputs")
        mult_ch = oc // ic
        o = op.options
        sh, sw = o["StrideH"], o["StrideW"]
        dh, dw = o.get("DilationHFactor", 1) or 1, o.get("DilationWFactor", 1) or 1
        oh, pt, pb = _out_and_padding(h, kh, sh, dh, o["Padding"])
        ow, pl, pr = _out_and_padding(wd, kw, sw, dw, o["Padding"])
        zp_in, zp_out = int(inp.zero_point[0]), int(out.zero_point[0])
        ftype = _exact_float_dtype(w.reshape(kh * kw, oc).T, zp_in)
        taps = w.reshape(kh * kw, oc, 1, 1).astype(ftype)
        bias = self._bias(op, oc).reshape(oc, 1, 1)
        # Depthwise filters are quantised along dimension 3 (output channel).
        requant = Requantizer(*self._per_channel(inp, w_t, out, oc), shape=(-1, 1, 1))
        lo, hi = _activation_range(o["FusedActivationFunction"], out)
        pads = (pt, pb, pl, pr)
        src, dst = op.inputs[0], op.outputs[0]

        def run(values: dict[int, Any]) -> None:
            x = values[src].astype(ftype)
            x -= zp_in
            if mult_ch > 1:
                x = np.repeat(x, mult_ch, axis=1)  # out channel = in·mult + m
            views = _windows(_pad_hw(x, pads, 0.0), (kh, kw), (oh, ow), (sh, sw), (dh, dw))
            acc = views[0] * taps[0]
            tmp = np.empty_like(acc)
            for k in range(1, len(views)):
                np.multiply(views[k], taps[k], out=tmp)
                acc += tmp
            iacc = acc.astype(np.int64)
            iacc += bias
            res = requant(iacc)
            res += zp_out
            np.clip(res, lo, hi, out=res)
            values[dst] = res.astype(np.int8)

        return run

    def _fully_connected(self, op: Operator) -> Kernel:
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
        zp_in, zp_out = int(inp.zero_point[0]), int(out.zero_point[0])
        ftype = _exact_float_dtype(w, zp_in)
        wmat = w.astype(ftype).T.copy()
        bias = self._bias(op, oc)
        # LiteRT's int8 FC reference kernel rounds once (see quant.py); conv rounds twice.
        if w_t.scale.size > 1:
            requant = Requantizer(*self._per_channel(inp, w_t, out, oc), single_rounding=True)
        else:
            if np.any(w_t.zero_point != 0):
                raise ModelError(f"weights {w_t.name!r} have a non-zero zero point")
            # GetQuantizedConvolutionMultipler: the in·w product is taken in float32.
            product = float(np.float32(inp.scale[0]) * np.float32(w_t.scale[0]))
            m, s = quantize_multiplier(product / float(out.scale[0]))
            requant = Requantizer(
                np.array([m], np.int64), np.array([s], np.int64), single_rounding=True
            )
        lo, hi = _activation_range(op.options.get("FusedActivationFunction", 0), out)
        out_tail = out.shape[1:]
        src, dst = op.inputs[0], op.outputs[0]

        def run(values: dict[int, Any]) -> None:
            x = _nhwc(values[src])
            n = x.shape[0]
            xf = x.reshape(-1, depth).astype(ftype)
            xf -= zp_in
            acc = (xf @ wmat).astype(np.int64)
            acc += bias
            res = requant(acc)
            res += zp_out
            np.clip(res, lo, hi, out=res)
            values[dst] = res.astype(np.int8).reshape(n, *out_tail)

        return run

    def _pool_geometry(
        self, op: Operator
    ) -> tuple[int, int, int, int, tuple[int, int, int, int], tuple[int, int], tuple[int, int]]:
        inp, out = self._t(op.inputs[0]), self._t(op.outputs[0])
        self._require_int8(inp, f"op {op.index} {op.name} input")
        if not (
            np.array_equal(inp.scale, out.scale) and np.array_equal(inp.zero_point, out.zero_point)
        ):
            raise ModelError(f"op {op.index} {op.name}: input and output quantisation differ")
        o = op.options
        kh, kw, sh, sw = o["FilterHeight"], o["FilterWidth"], o["StrideH"], o["StrideW"]
        _, h, wd, _ = inp.shape
        oh, pt, pb = _out_and_padding(h, kh, sh, 1, o["Padding"])
        ow, pl, pr = _out_and_padding(wd, kw, sw, 1, o["Padding"])
        return (
            kh,
            kw,
            oh,
            ow,
            (pt, pb, pl, pr),
            (sh, sw),
            _activation_range(o["FusedActivationFunction"], out),
        )

    def _max_pool(self, op: Operator) -> Kernel:
        kh, kw, oh, ow, pads, stride, (lo, hi) = self._pool_geometry(op)
        tiled = _tiled(pads, (kh, kw), stride)
        src, dst = op.inputs[0], op.outputs[0]

        def run(values: dict[int, Any]) -> None:
            if tiled:
                acc = _tile_reduce(values[src], (kh, kw), (oh, ow), np.maximum)
                values[dst] = np.clip(acc, lo, hi).astype(np.int8)
                return
            # Out-of-image taps are skipped in TFLite: pad below any int8 value.
            xp = _pad_hw(values[src].astype(np.int16), pads, -129)
            views = _windows(xp, (kh, kw), (oh, ow), stride, (1, 1))
            acc = views[0]
            for v in views[1:]:
                acc = np.maximum(acc, v)
            values[dst] = np.clip(acc, lo, hi).astype(np.int8)

        return run

    def _average_pool(self, op: Operator) -> Kernel:
        kh, kw, oh, ow, pads, stride, (lo, hi) = self._pool_geometry(op)
        _, h, wd, _ = self._t(op.inputs[0]).shape
        ones = _pad_hw(np.ones((1, 1, h, wd), np.int64), pads, 0)
        count = np.sum(_windows(ones, (kh, kw), (oh, ow), stride, (1, 1)), axis=0)
        half = count // 2
        tiled = _tiled(pads, (kh, kw), stride)
        src, dst = op.inputs[0], op.outputs[0]

        def run(values: dict[int, Any]) -> None:
            if tiled:
                acc = _tile_reduce(values[src].astype(np.int64), (kh, kw), (oh, ow), np.add)
            else:
                xp = _pad_hw(values[src].astype(np.int64), pads, 0)
                acc = np.sum(_windows(xp, (kh, kw), (oh, ow), stride, (1, 1)), axis=0)
            # reference_integer_ops::AveragePool: (acc ± count/2) / count in C++ integer
            # division (toward zero), i.e. round half away from zero, on the magnitude.
            magnitude = (np.abs(acc) + half) // count
            rounded = np.where(acc < 0, -magnitude, magnitude)
            values[dst] = np.clip(rounded, lo, hi).astype(np.int8)

        return run

    def _reshape(self, op: Operator) -> Kernel:
        inp, out = self._t(op.inputs[0]), self._t(op.outputs[0])
        if not (
            np.array_equal(inp.scale, out.scale) and np.array_equal(inp.zero_point, out.zero_point)
        ):
            raise ModelError(f"op {op.index} RESHAPE: input and output quantisation differ")
        if not out.shape or out.shape[0] != 1 or int(np.prod(out.shape)) != int(np.prod(inp.shape)):
            raise ModelError(f"op {op.index} RESHAPE: cannot batch shape {out.shape}")
        tail = out.shape[1:]
        src, dst = op.inputs[0], op.outputs[0]

        def run(values: dict[int, Any]) -> None:
            x = _nhwc(values[src])
            y = x.reshape(x.shape[0], *tail)
            # A 4-D result goes back to the internal NCHW layout.
            values[dst] = y.transpose(0, 3, 1, 2) if y.ndim == 4 else y

        return run

    def _add(self, op: Operator) -> Kernel:
        """reference_integer_ops::Add with TFLite's left_shift = 20 rescaling."""
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
