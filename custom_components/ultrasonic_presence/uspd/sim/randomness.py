"""Block-size-independent random processes and schedules.

Everything random in a scene is either drawn once when the scene is built or is a
stateless function of absolute time / sample index (sums of random sinusoids, RNGs
keyed by segment index). That is what makes a render in blocks of any size identical
to one long render.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def keyed_rng(seed: int, *keys: int) -> np.random.Generator:
    """An RNG that depends only on (seed, keys): segment k is the same whoever asks first."""
    return np.random.default_rng(
        np.random.SeedSequence([seed & 0xFFFFFFFF, *(k % (1 << 62) for k in keys)])
    )


def min_jerk(x: FloatArray) -> FloatArray:
    """Minimum-jerk 0→1 profile on x∈[0,1] (clipped): how people move limbs (Flash & Hogan)."""
    u = np.clip(x, 0.0, 1.0)
    return u * u * u * (10.0 - 15.0 * u + 6.0 * u * u)


def bump(x: FloatArray) -> FloatArray:
    """Smooth 0→1→0 pulse on x∈[0,1]: out-and-back movements (reach, page turn)."""
    u = np.clip(x, 0.0, 1.0)
    return np.sin(np.pi * u) ** 2


@dataclass(frozen=True)
class SmoothNoise:
    """Zero-mean unit-RMS band-limited random process as a sum of random sinusoids.

    Stateless in time, so any block can be evaluated on its own.
    """

    freqs: FloatArray
    phases: FloatArray
    amps: FloatArray

    @classmethod
    def draw(cls, rng: np.random.Generator, f_lo: float, f_hi: float, n: int = 12) -> SmoothNoise:
        """Frequencies log-uniform in [f_lo, f_hi], Rayleigh amplitudes normalised to RMS 1."""
        freqs = np.exp(rng.uniform(np.log(f_lo), np.log(f_hi), n))
        amps = rng.rayleigh(1.0, n)
        amps *= np.sqrt(2.0 / np.sum(amps**2))
        return cls(freqs, rng.uniform(0, 2 * np.pi, n), amps)

    def __call__(self, t: FloatArray) -> FloatArray:
        """Values at times t (any shape)."""
        out = np.zeros(np.shape(t))
        for f, p, a in zip(self.freqs, self.phases, self.amps, strict=True):
            out += a * np.sin(2 * np.pi * f * t + p)
        return out


@dataclass(frozen=True)
class Switches:
    """An on/off schedule: `times` (sorted) toggle the state, starting from `initial`."""

    times: tuple[float, ...] = ()
    initial: bool = False

    def state(self, t: FloatArray) -> BoolArray:
        """On/off at times t."""
        flips = np.searchsorted(np.asarray(self.times, dtype=np.float64), t, side="right")
        on: BoolArray = (flips % 2 == 1) ^ self.initial
        return on

    def intervals(self, horizon: float) -> list[tuple[float, float]]:
        """The on-intervals up to `horizon`."""
        edges = [0.0, *[x for x in self.times if x < horizon], horizon]
        out: list[tuple[float, float]] = []
        on = self.initial
        for a, b in itertools.pairwise(edges):
            if on and b > a:
                out.append((a, b))
            on = not on
        return out


@dataclass(frozen=True)
class SpinProfile:
    """Rotation of a motor switched on/off, with first-order spin-up/down (closed form).

    angle(t) in revolutions is exact at any t, so blades stay phase-continuous across
    blocks and switch events.
    """

    rate_hz: float
    switches: Switches
    tau_up_s: float = 3.0
    tau_down_s: float = 10.0

    def _segments(self) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
        starts = [0.0, *self.switches.times]
        on = self.switches.initial
        rate = self.rate_hz if on else 0.0
        angle = 0.0
        s, a0, r0, tgt, tau = [], [], [], [], []
        for i, t0 in enumerate(starts):
            if i > 0:
                on = not on
            target = self.rate_hz if on else 0.0
            tc = self.tau_up_s if on else self.tau_down_s
            s.append(t0)
            a0.append(angle)
            r0.append(rate)
            tgt.append(target)
            tau.append(tc)
            if i + 1 < len(starts):
                dt = starts[i + 1] - t0
                decay = np.exp(-dt / tc)
                angle += target * dt + (rate - target) * tc * (1 - decay)
                rate = target + (rate - target) * decay
        return (np.array(s), np.array(a0), np.array(r0), np.array(tgt), np.array(tau))

    def angle(self, t: FloatArray) -> FloatArray:
        """Revolutions turned since t=0 (negative t extrapolates the initial state)."""
        s, a0, r0, tgt, tau = self._segments()
        i = np.clip(np.searchsorted(s, t, side="right") - 1, 0, len(s) - 1)
        dt = t - s[i]  # negative only before 0, where segment 0 is steady
        decay = np.exp(-np.maximum(dt, 0.0) / tau[i])
        return np.asarray(
            a0[i] + tgt[i] * dt + (r0[i] - tgt[i]) * tau[i] * (1 - decay), dtype=np.float64
        )

    def rate(self, t: FloatArray) -> FloatArray:
        """Revolutions per second at t."""
        s, _a0, r0, tgt, tau = self._segments()
        i = np.clip(np.searchsorted(s, t, side="right") - 1, 0, len(s) - 1)
        dt = np.maximum(t - s[i], 0.0)
        return np.asarray(tgt[i] + (r0[i] - tgt[i]) * np.exp(-dt / tau[i]), dtype=np.float64)
