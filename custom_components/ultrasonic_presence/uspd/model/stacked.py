"""Several int8 models of one architecture run as one pass: the ensemble's numpy path.

Why: the numpy executor's cost is mostly per-call overhead (about a hundred numpy calls
on small arrays per inference), not arithmetic, so running the ensemble's members one
after another costs nearly three times one model. The members are mining rounds of one
architecture — the same ops on the same shapes, different weights and quantisation —
so every op can run once for all of them on stacked data, with each member's own
constants (`executor.OpSpec`) and the same integer arithmetic: the int8 outputs are
bit-identical to running each member alone (tests/engine/test_model_stacked.py).

Layouts while running (M members, N windows):
- the graph input (N, C, H, W) is shared: the members' input quantisation is equal, so a
  first convolution reads it once with the members' filters side by side;
- 4-D activations are (N, M·C, H, W), member-major channels, so per-channel constants,
  depthwise taps and pools need no member axis at all;
- 2-D activations (after the flatten) are (M, N, D): dense layers are one batched matmul.

Graphs that differ in structure, or use an op without stacked support (ADD, SOFTMAX),
raise ModelError here; `Ensemble` then runs its members one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .executor import (
    ConvSpec,
    DepthwiseSpec,
    FullyConnectedSpec,
    Im2col,
    Int8Array,
    NumpyExecutor,
    OpSpec,
    PoolSpec,
    ReshapeSpec,
    depthwise_accumulate,
    depthwise_taps,
    output_stage,
    pool_kernel,
    pool_then_requantize,
    pooled_convolutions,
    product,
)
from .flatbuffer import ModelError

Kernel = Callable[[dict[int, Any]], None]
I64 = npt.NDArray[np.int64]


def _widest(arrays: Sequence[npt.NDArray[Any]]) -> type[np.floating[Any]]:
    """float64 if any member needs it for exact accumulation (executor._exact_float_dtype)."""
    return np.float64 if any(a.dtype == np.float64 for a in arrays) else np.float32


def _per_channel(values: Sequence[int], repeat: int, shape: tuple[int, ...]) -> I64:
    """One scalar per member, repeated over that member's channels, shaped to broadcast."""
    return np.repeat(np.asarray(values, np.int64), repeat).reshape(shape)


def _members_2d(x: npt.NDArray[Any], m: int, depth: int) -> npt.NDArray[Any]:
    """A stacked activation as (M, rows, depth) in each member's own element order:
    4-D (N, M·C, H, W) is flattened per member in TFLite's NHWC order."""
    if x.ndim == 4:
        n, mc, h, w = x.shape
        x = x.reshape(n, m, mc // m, h, w).transpose(1, 0, 3, 4, 2)
    return x.reshape(m, -1, depth)


class StackedExecutor:
    """Runs M structurally identical int8 graphs on one input: `run(x) -> (M, N, D)`."""

    def __init__(self, executors: Sequence[NumpyExecutor]) -> None:
        """ModelError if the graphs differ in structure or use an op that cannot stack."""
        if not executors:
            raise ModelError("nothing to stack")
        self.members = len(executors)
        first = executors[0]
        self.input_index = first.input.index
        self.input_shape = first.input.shape
        self._tensors = first.graph.tensors
        members = self._check_same_structure(executors)
        out = first.outputs[0]
        if len(out.shape) != 2:
            raise ModelError(f"stacked execution needs a 2-D model output, not {out.shape}")
        self.output_index = out.index
        # Max pools fused into the convolution before them (executor.pooled_convolutions),
        # where every member allows it.
        fused = set.intersection(*(set(pooled_convolutions(e.graph, e.specs)) for e in executors))
        self._kernels: list[Kernel] = []
        for p, op in enumerate(zip(*members, strict=True)):
            if p - 1 in fused:
                continue  # the convolution wrote this pool's output
            if p in fused:
                convs = [s for s in op if isinstance(s, ConvSpec)]
                pools = [s for s in (m[p + 1] for m in members) if isinstance(s, PoolSpec)]
                self._kernels.append(self._conv(convs, pools))
            else:
                self._kernels.append(self._kernel(list(op)))

    # ---------------------------------------------------------------- structure
    @staticmethod
    def _stackable(e: NumpyExecutor) -> tuple[list[OpSpec], list[int | None]]:
        """The graph's op constants and, per op, where its input comes from (None: the
        graph input, else the producing op's position) — independent of tensor numbers."""
        produced: dict[int, int] = {}
        specs: list[OpSpec] = []
        sources: list[int | None] = []
        for p, spec in enumerate(e.specs):
            if spec is None:
                name = e.graph.operators[p].name
                raise ModelError(f"{e.graph.source}: op {p} {name} cannot run stacked")
            if spec.src != e.input.index and spec.src not in produced:
                raise ModelError(f"{e.graph.source}: op {p} reads a tensor no op produced")
            specs.append(spec)
            sources.append(produced.get(spec.src))
            produced[spec.dst] = p
        if len(e.outputs) != 1 or e.outputs[0].index not in produced:
            raise ModelError(f"{e.graph.source}: stacked execution needs one op-made output")
        return specs, sources

    def _check_same_structure(self, executors: Sequence[NumpyExecutor]) -> list[list[OpSpec]]:
        """Every member's specs, after checking the graphs are the same but for numbers."""
        first = executors[0]

        def layout(e: NumpyExecutor) -> tuple[Any, ...]:
            specs, sources = self._stackable(e)
            return (
                e.input.shape,
                e.input.scale.tolist(),
                e.input.zero_point.tolist(),
                e.outputs[0].shape,
                sources,
                [(_shape_of(s), e.graph.tensors[s.dst].shape) for s in specs],
            )

        reference = layout(first)
        for e in executors[1:]:
            if layout(e) != reference:
                raise ModelError(f"{e.graph.source} and {first.graph.source} differ in structure")
        return [self._stackable(e)[0] for e in executors]

    # ---------------------------------------------------------------- kernels
    def _kernel(self, specs: list[OpSpec]) -> Kernel:
        s0 = specs[0]
        if isinstance(s0, ConvSpec):
            return self._conv([s for s in specs if isinstance(s, ConvSpec)])
        if isinstance(s0, DepthwiseSpec):
            return self._depthwise([s for s in specs if isinstance(s, DepthwiseSpec)])
        if isinstance(s0, FullyConnectedSpec):
            return self._fully_connected([s for s in specs if isinstance(s, FullyConnectedSpec)])
        if isinstance(s0, PoolSpec):
            pools = [s for s in specs if isinstance(s, PoolSpec)]
            channels = self._tensors[s0.dst].shape[-1]
            lo = _per_channel([s.lo for s in pools], channels, (-1, 1, 1))
            hi = _per_channel([s.hi for s in pools], channels, (-1, 1, 1))
            self._require_stacked_4d(s0.src, "a pool")
            return pool_kernel(s0, lo, hi)
        if isinstance(s0, ReshapeSpec):
            return self._reshape(s0)
        raise ModelError("op cannot run stacked")  # excluded by _stackable

    def _require_stacked_4d(self, src: int, what: str) -> None:
        if src == self.input_index:
            raise ModelError(f"stacked execution cannot feed {what} from the model input")

    def _conv(self, specs: list[ConvSpec], pools: list[PoolSpec] | None = None) -> Kernel:
        s0, m = specs[0], self.members
        ftype = _widest([s.weights for s in specs])
        oc = s0.weights.shape[0]
        oh, ow = s0.geometry.out_hw
        shared = s0.src == self.input_index
        if shared:
            wcat = np.concatenate([s.weights for s in specs]).astype(ftype)  # (M·O, K)
        else:
            wstack = np.stack([s.weights for s in specs]).astype(ftype)  # (M, O, K)
            zp_in = _per_channel([s.zp_in for s in specs], s0.in_channels, (-1, 1, 1))
            zp_in = zp_in.astype(ftype)  # subtracting int64 would run in float64
        ic = s0.in_channels
        finish = output_stage(specs, (-1, 1) if pools is None else (-1, 1, 1, 1), pools)
        dst = s0.dst if pools is None else pools[0].dst
        im2col = Im2col(s0.geometry)

        def run(values: dict[int, Any]) -> None:
            x = values[s0.src].astype(ftype)
            n = x.shape[0]
            cols_n = n * oh * ow
            if shared:
                x -= s0.zp_in
                if s0.pointwise:
                    cols = x.transpose(1, 0, 2, 3).reshape(ic, cols_n)
                else:
                    cols = im2col(x).reshape(-1, cols_n)
                acc = product(wcat, cols)
            else:
                x -= zp_in
                if s0.pointwise:
                    cols = x.transpose(1, 0, 2, 3).reshape(m, ic, cols_n)
                else:
                    buf = im2col(x)  # (taps, M·ic, N, OH, OW)
                    taps = buf.shape[0]
                    cols = (
                        buf.reshape(taps, m, ic, cols_n)
                        .transpose(1, 0, 2, 3)
                        .reshape(m, taps * ic, cols_n)
                    )
                acc = product(wstack, cols).reshape(m * oc, cols_n)
            q = pool_then_requantize(finish, acc, (m * oc, n, oh, ow), pools[0] if pools else None)
            values[dst] = q.transpose(1, 0, 2, 3) if n > 1 else q[np.newaxis, :, 0]

        return run

    def _depthwise(self, specs: list[DepthwiseSpec]) -> Kernel:
        s0, m = specs[0], self.members
        self._require_stacked_4d(s0.src, "a depthwise convolution")
        ftype = _widest([s.taps for s in specs])
        oc = s0.taps.shape[1]
        oh, ow = s0.geometry.out_hw
        ic = oc // s0.depth_multiplier
        taps = depthwise_taps(np.concatenate([s.taps for s in specs], axis=1).astype(ftype))
        zp_in = _per_channel([s.zp_in for s in specs], ic, (-1, 1, 1)).astype(ftype)
        finish = output_stage(specs, (-1, 1))
        im2col = Im2col(s0.geometry)

        def run(values: dict[int, Any]) -> None:
            x = values[s0.src].astype(ftype)
            x -= zp_in
            n = x.shape[0]
            if s0.depth_multiplier > 1:
                x = np.repeat(x, s0.depth_multiplier, axis=1)  # member-major order holds
            acc = depthwise_accumulate(x, im2col, taps)
            q = finish(acc).reshape(m * oc, n, oh, ow)
            values[s0.dst] = q.transpose(1, 0, 2, 3) if n > 1 else q[np.newaxis, :, 0]

        return run

    def _fully_connected(self, specs: list[FullyConnectedSpec]) -> Kernel:
        s0, m = specs[0], self.members
        if len(s0.out_tail) != 1:
            raise ModelError("stacked execution needs dense layers with (1, D) outputs")
        ftype = _widest([s.weights for s in specs])
        oc = s0.weights.shape[1]
        weights = np.stack([s.weights for s in specs]).astype(ftype)  # (M, I, O)
        zp_in = np.asarray([s.zp_in for s in specs], ftype).reshape(m, 1, 1)
        finish = output_stage(specs, (m, 1, oc))
        shared = s0.src == self.input_index

        def run(values: dict[int, Any]) -> None:
            x = values[s0.src]
            if shared:  # (N, D): one set of rows, broadcast to every member
                n, rows = x.shape[0], x.reshape(1, -1, s0.depth)
            else:  # (N, M·C, H, W) or (M, N, D)
                n, rows = x.shape[0 if x.ndim == 4 else 1], _members_2d(x, m, s0.depth)
            rows = rows.astype(ftype) - zp_in
            values[s0.dst] = finish(product(rows, weights)).reshape(m, n, oc)

        return run

    def _reshape(self, s: ReshapeSpec) -> Kernel:
        if len(s.tail) != 1:
            raise ModelError("stacked execution supports reshapes to (1, D) only")
        self._require_stacked_4d(s.src, "a reshape")
        m, depth = self.members, s.tail[0]

        def run(values: dict[int, Any]) -> None:
            x = values[s.src]
            n = x.shape[0] if x.ndim == 4 else x.shape[1]
            values[s.dst] = _members_2d(x, m, depth).reshape(m, n, depth)

        return run

    # ---------------------------------------------------------------- running
    def run(self, x: Int8Array) -> Int8Array:
        """int8 input (N, *input_shape[1:]) → every member's int8 output, (M, N, D)."""
        if x.dtype != np.int8 or x.shape[1:] != self.input_shape[1:]:
            raise ValueError(
                f"expected int8 input shaped (N, {', '.join(map(str, self.input_shape[1:]))}), "
                f"got {x.dtype} {x.shape}"
            )
        values: dict[int, Any] = {self.input_index: x.transpose(0, 3, 1, 2) if x.ndim == 4 else x}
        for kernel in self._kernels:
            kernel(values)
        out: Int8Array = values[self.output_index]
        return out


def _shape_of(spec: OpSpec) -> tuple[Any, ...]:
    """What must match between members for one stacked op: everything but the numbers."""
    if isinstance(spec, ConvSpec):
        return ("conv", spec.geometry, spec.in_channels, spec.weights.shape)
    if isinstance(spec, DepthwiseSpec):
        return ("depthwise", spec.geometry, spec.depth_multiplier, spec.taps.shape)
    if isinstance(spec, FullyConnectedSpec):
        return ("dense", spec.depth, spec.weights.shape, spec.out_tail)
    if isinstance(spec, PoolSpec):
        return ("pool", spec.kind, spec.geometry)
    return ("reshape", spec.tail)
