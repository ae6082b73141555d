"""TFLite's integer requantisation arithmetic, vectorised over numpy arrays.

Why a port and not `round(x * scale)`: to give *bit-identical* int8 outputs to LiteRT's
reference kernels, the numpy executor must round exactly as TFLite does
(tensorflow/lite/kernels/internal/common.h and quantization_util.cc, default build
without TFLITE_SINGLE_ROUNDING): a real multiplier is split into a Q31 significand and
a power-of-two shift (`quantize_multiplier`), and an int32 accumulator is scaled with
`SaturatingRoundingDoublingHighMul` then `RoundingDivideByPOT`. int32 values are
carried in int64 arrays so the intermediate products cannot overflow.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


def _round_half_away(value: float) -> float:
    """std::round: halves go away from zero (Python's round() goes to even)."""
    return math.copysign(math.floor(abs(value) + 0.5), value)


def quantize_multiplier(real_multiplier: float) -> tuple[int, int]:
    """(Q31 significand, shift): real ≈ significand·2^(shift−31), as TFLite's QuantizeMultiplier."""
    if real_multiplier == 0.0:
        return 0, 0
    if real_multiplier < 0.0:
        raise ValueError(f"negative requantisation multiplier {real_multiplier}")
    fraction, shift = math.frexp(real_multiplier)
    q_fixed = int(_round_half_away(fraction * (1 << 31)))
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q_fixed, shift


def saturating_rounding_doubling_high_mul(a: I64, b: I64) -> I64:
    """gemmlowp's SaturatingRoundingDoublingHighMul on int32 values held in int64."""
    ab = a * b
    nudge = np.where(ab >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    total = ab + nudge
    # C++ integer division truncates toward zero; numpy's >> floors, so mirror it.
    high = np.where(total >= 0, total >> 31, -((-total) >> 31))
    overflow = (a == INT32_MIN) & (b == INT32_MIN)
    return np.where(overflow, np.int64(INT32_MAX), high).astype(np.int64)


def rounding_divide_by_pot(x: I64, exponent: I64) -> I64:
    """gemmlowp's RoundingDivideByPOT: x / 2^exponent, rounding halves away from zero."""
    exponent = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0).astype(np.int64)
    return ((x >> exponent) + (remainder > threshold).astype(np.int64)).astype(np.int64)


def multiply_by_quantized_multiplier(x: I64, multiplier: I64, shift: I64) -> I64:
    """TFLite's MultiplyByQuantizedMultiplier (double rounding), broadcasting per channel."""
    multiplier = np.asarray(multiplier, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    # x·2^left wraps in int32 in C++; accumulators here stay far from that.
    shifted = x << left
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier), right)


def quantize_multipliers(reals: npt.ArrayLike) -> tuple[I64, I64]:
    """Vector form of `quantize_multiplier` (computed once per op at load time)."""
    pairs = [quantize_multiplier(float(r)) for r in np.ravel(np.asarray(reals, dtype=np.float64))]
    mult = np.array([p[0] for p in pairs], dtype=np.int64)
    shift = np.array([p[1] for p in pairs], dtype=np.int64)
    return mult, shift


def quantize_value(value: float, scale: float, zero_point: int) -> int:
    """TFLite's Quantize for activation bounds: zp + round(value/scale), in float32."""
    scaled = float(np.float32(value) / np.float32(scale))
    return int(zero_point + _round_half_away(scaled))


def truncating_divide(numerator: I64, denominator: I64 | int) -> I64:
    """C++ integer division (toward zero) for int64 arrays."""
    den = np.asarray(denominator, dtype=np.int64)
    quotient = np.abs(numerator) // np.abs(den)
    return np.where((numerator < 0) != (den < 0), -quotient, quotient).astype(np.int64)


def multiply_by_quantized_multiplier_single(x: I64, multiplier: I64, shift: I64) -> I64:
    """Single-rounding variant: (x·m + 2^(30−shift)) >> (31−shift), one rounding step.

    LiteRT's int8 FULLY_CONNECTED reference kernel (per-tensor and per-channel) rounds
    this way — measured against ai_edge_litert 2.3 (BUILTIN_REF), where the
    double-rounding form differs by 1 LSB near ties — while CONV_2D and
    DEPTHWISE_CONV_2D round twice (tests/engine/test_model_ops.py pins both).
    """
    multiplier = np.asarray(multiplier, dtype=np.int64)
    total_shift = 31 - np.asarray(shift, dtype=np.int64)
    return ((x * multiplier + (np.int64(1) << (total_shift - 1))) >> total_shift).astype(np.int64)


_KEEP_BUFFERS_UP_TO = 1 << 18
"""Elements (2 MB of int64) up to which a Requantizer keeps its working arrays."""


class Requantizer:
    """An op's whole output stage, precomputed per channel: int32 accumulator + bias →
    TFLite's MultiplyByQuantizedMultiplier → + output zero point → clamp → int8.

    The hot path of every conv/FC, so it is folded into few numpy passes over reused
    buffers (fresh 100+ kB temporaries per call cost more than the arithmetic: large
    allocations go back to the OS and fault their pages in again). Exact identities on
    int64, with a = acc + bias, multiplier m (m·2^left when shift > 0) and r the right
    shift (tested against the literal ports above on random and tie values):
    - SaturatingRoundingDoublingHighMul(a, m) = (a·m + 2^30) >> 31 for m ≥ 0;
    - RoundingDivideByPOT(y, r) = (y + 2^(r−1) − [y < 0]) >> r (halves away from zero);
    - floor(floor(v / 2^31) / 2^r) = floor(v / 2^(31+r)), and adding c·2^31 inside the
      inner floor adds c to it, so both steps are one shift of
      a·m + 2^30 + (2^(r−1) − [y < 0])·2^31 (+ zp·2^(31+r) for the zero point);
    - y < 0 ⟺ a·m + 2^30 < 0 ⟺ acc < T, a per-channel integer threshold.
    The single-rounding form (LiteRT's int8 FC) is (a·m + 2^(30−shift)) >> (31−shift).
    TFLite needs a·2^left within int32 and m < 2^31, so a·m stays below 2^62; offsets
    that could overflow (right shifts beyond about 24) add the zero point separately.
    """

    def __init__(
        self,
        multiplier: I64,
        shift: I64,
        *,
        bias: I64 | None = None,
        zero_point: I64 | int = 0,
        lo: I64 | int = -128,
        hi: I64 | int = 127,
        single_rounding: bool = False,
        shape: tuple[int, ...] = (-1,),
    ) -> None:
        """Per-channel parameters (bias, zero point and bounds may be per channel too),
        reshaped to `shape` for broadcasting, e.g. (-1, 1) for (channels, columns)."""
        mult = [int(v) for v in np.ravel(multiplier)]
        shifts = [int(v) for v in np.ravel(shift)]
        n = len(mult)
        if len(shifts) != n or any(v < 0 for v in mult):
            raise ValueError("need one non-negative multiplier and one shift per channel")

        def per_channel(values: I64 | int | None) -> list[int]:
            flat = [0] if values is None else [int(v) for v in np.ravel(values)]
            return flat * n if len(flat) == 1 else flat

        biases, zps, lows = per_channel(bias), per_channel(zero_point), per_channel(lo)
        scaled, offsets, thresholds, corrections, shifts_out, zp_left = [], [], [], [], [], []
        for m, s, b, zp, low in zip(mult, shifts, biases, zps, lows, strict=True):
            if single_rounding:
                total = 31 - s
                m_eff, base, t, d = m, 1 << (total - 1), -(2**62), 0
            else:
                left, total = max(s, 0), 31 + max(-s, 0)
                m_eff = m << left
                right = total - 31
                # y < 0 ⟺ a·m < −2^30 ⟺ a ≤ ⌊(−2^30 − 1)/m⌋; m = 0 never goes negative.
                t = (-(2**30) - 1) // m_eff + 1 - b if m_eff else -(2**62)
                # The correction only moves results ≤ 0 (y < 0); where the clamp takes
                # every such result to `lo` anyway (ReLU: lo ≥ zp) it is skipped.
                d = 1 << 31 if right and low < zp else 0
                base = (1 << 30) + (((1 << (right - 1)) << 31) if right else 0)
            offset = b * m_eff + base
            fold = abs(offset) + abs(zp << total) < 2**61
            scaled.append(m_eff)
            offsets.append(offset + (zp << total if fold else 0))
            zp_left.append(0 if fold else zp)
            thresholds.append(t)
            corrections.append(d)
            shifts_out.append(total)

        def shaped(values: list[int] | I64 | int) -> I64:
            a = np.asarray(values, dtype=np.int64)
            return a.reshape(shape) if a.size > 1 else a.reshape(())

        self.mult, self.offset, self.shift_out = shaped(scaled), shaped(offsets), shaped(shifts_out)
        self.threshold, self.correction = shaped(thresholds), shaped(corrections)
        self.zero_point = shaped(zp_left) if any(zp_left) else None
        self.corrects = any(corrections)
        self.lo, self.hi = shaped(lows), shaped(per_channel(hi))
        self._scratch: dict[tuple[int, ...], tuple[I64, I64, npt.NDArray[np.bool_]]] = {}

    def _buffers(self, shape: tuple[int, ...]) -> tuple[I64, I64, npt.NDArray[np.bool_]]:
        """Working arrays for `shape`: kept for streaming-sized calls, fresh for big
        batches (training's evaluation) so they are not held on to."""
        buffers = self._scratch.get(shape)
        if buffers is None:
            buffers = (np.empty(shape, np.int64), np.empty(shape, np.int64), np.empty(shape, bool))
            if math.prod(shape) <= _KEEP_BUFFERS_UP_TO:
                if len(self._scratch) >= 8:  # batch sizes come and go: keep a few
                    self._scratch.clear()
                self._scratch[shape] = buffers
        return buffers

    def scale(self, acc: npt.NDArray[Any]) -> I64:
        """Accumulators without bias (int64, or floats holding exact integers) → requantised
        values plus the zero point, before the clamp (int64; overwritten by the next call).

        Exact wherever the clamp can show it: in channels whose clamp takes every result
        at or below the zero point to `lo` (ReLU), results below it skip the
        round-half-away correction and may be one lower than TFLite's."""
        v, tmp, negative = self._buffers(acc.shape)
        np.copyto(v, acc, casting="unsafe")
        if self.corrects:
            np.less(v, self.threshold, out=negative)
        v *= self.mult
        v += self.offset
        if self.corrects:
            np.multiply(negative, self.correction, out=tmp)
            v -= tmp
        v >>= self.shift_out
        if self.zero_point is not None:
            v += self.zero_point
        return v

    def __call__(self, acc: npt.NDArray[Any]) -> npt.NDArray[np.int8]:
        """The int8 output for accumulators `acc` (see `scale`). Not thread-safe: the
        working buffers are reused from call to call."""
        v = self.scale(acc)
        np.maximum(v, self.lo, out=v)
        np.minimum(v, self.hi, out=v)
        return v.astype(np.int8)
