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


class Requantizer:
    """Precomputed per-channel requantisation: the hot path of every conv/FC.

    Same results as `multiply_by_quantized_multiplier` (or the single-rounding form)
    in ~1/3 of the numpy passes, using two exact identities on int64:
    SaturatingRoundingDoublingHighMul(a, m) = (a·m + 2^30) >> 31 for m ≥ 0 (its nudge
    and truncation amount to rounding halves upward), and RoundingDivideByPOT(y, e) =
    (y + 2^(e−1) − [y < 0 and e > 0]) >> e (halves away from zero).
    Tested against the literal ports above on random and tie values.
    """

    def __init__(
        self,
        multiplier: I64,
        shift: I64,
        *,
        single_rounding: bool = False,
        shape: tuple[int, ...] = (-1,),
    ) -> None:
        """Per-channel parameters reshaped to `shape` for broadcasting, e.g. (-1, 1, 1)."""
        mult = np.asarray(multiplier, dtype=np.int64)
        sh = np.asarray(shift, dtype=np.int64)
        if np.any(mult < 0):
            raise ValueError("quantized multipliers must be non-negative")

        def b(a: I64) -> I64:
            return a.reshape(shape) if a.size > 1 else a.reshape(())

        self.single = single_rounding
        self.mult = b(mult)
        left = np.maximum(sh, 0)
        self.left = b(left)
        self.any_left = bool(np.any(left))
        right = np.maximum(-sh, 0)
        self.right = b(right)
        half = (np.int64(1) << right) >> 1
        self.half = b(half)
        self.neg_fix = b((right > 0).astype(np.int64))
        # Common case (every channel shifts right): y + (half − 1) + [y ≥ 0].
        self.all_right = bool(np.all(right > 0))
        self.half_m1 = b(half - 1)
        total_shift = 31 - sh
        self.total_shift = b(total_shift)
        self.round = b(np.int64(1) << (total_shift - 1))

    def __call__(self, x: I64) -> I64:
        """Requantise int64 accumulators (x may be overwritten); returns int64."""
        if self.single:
            y = x * self.mult
            y += self.round
            y >>= self.total_shift
            return y
        y = (x << self.left) if self.any_left else x
        y = y * self.mult
        y += np.int64(1 << 30)
        y >>= 31
        if self.all_right:
            nonneg = y >= 0
            y += self.half_m1
            y += nonneg
            y >>= self.right
            return y
        neg = (y < 0).astype(np.int64)
        neg *= self.neg_fix
        y += self.half
        y -= neg
        y >>= self.right
        return y
