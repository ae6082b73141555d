"""Interference: ultrasonic tones, key jingles, door slams, audible speech/TV.

SMPS/LED-driver tones sit near the carrier and drift (public tonal sources 17.8-22.4 kHz
[Leighton 2020]; SMPS 25-40 kHz, no published figures, physics.md). Key jingles and
door slams are broadband bursts reaching the ultrasonic band. Speech/TV is audible only
and must not matter to a detector.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.signal import lfilter

from .model import ActorTruth, BuildContext
from .randomness import keyed_rng

FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Tone:
    """A received ultrasonic tone at `freq_hz` (level at the mics), drifting ±`drift_hz`
    over `drift_period_s`, on for `on_s` then off for `off_s` (off_s=0: continuous)."""

    freq_hz: float
    level_dbfs: float = -70.0
    drift_hz: float = 20.0
    drift_period_s: float = 30.0
    on_s: float = 1e12
    off_s: float = 0.0
    start_s: float = 0.0

    def build(self, ctx: BuildContext) -> ToneModel:
        """Draw its arrival pattern over the mics."""
        return ToneModel(self, ctx)


class ToneModel:
    """Closed-form phase, so any block is exact on its own."""

    def __init__(self, spec: Tone, ctx: BuildContext) -> None:
        self.spec = spec
        self.mic_phase = ctx.rng.uniform(0, 2 * np.pi, 8)
        self.mic_gain = 10 ** (ctx.rng.normal(0, 1.0, 8) / 20)

    def gate(self, t: FloatArray) -> FloatArray:
        """0..1 on/off with 10 ms ramps."""
        sp = self.spec
        if sp.off_s <= 0:
            return np.asarray(t >= sp.start_s, dtype=np.float64)
        u = np.mod(t - sp.start_s, sp.on_s + sp.off_s)
        ramp = np.clip(np.minimum(u, sp.on_s - u) / 0.01, 0.0, 1.0)
        return np.where((t >= sp.start_s) & (u < sp.on_s), ramp, 0.0)

    def baseband(self, t: FloatArray, t_ref: float, f_ref: float, n_mics: int) -> ComplexArray:
        """Tone relative to a reference oscillator f_ref that has phase 0 at t_ref: (M, T)."""
        sp = self.spec
        base = np.mod(sp.freq_hz * t_ref, 1.0)
        u = t - t_ref
        ph = 2 * np.pi * (base + (sp.freq_hz - f_ref) * u)
        ph -= sp.drift_hz * sp.drift_period_s * np.cos(2 * np.pi * t / sp.drift_period_s)
        amp = 10 ** (sp.level_dbfs / 20) * self.gate(t)
        x = amp * np.exp(1j * ph)
        m = self.mic_gain[:n_mics] * np.exp(1j * self.mic_phase[:n_mics])
        out: ComplexArray = m[:, None] * x[None, :]
        return out

    def truth(self, t: FloatArray) -> ActorTruth:
        """'tone' while on."""
        return ActorTruth(labels={"tone": self.gate(t) > 0.5})


@dataclass(frozen=True)
class Burst:
    """Broadband bursts at `times`: kind 'jingle' (keys, ≈1.5 s of metallic clinks with
    partials up to 60 kHz) or 'door' (a slam: low thump plus a broadband crack)."""

    kind: str = "jingle"
    times: tuple[float, ...] = ()
    level_dbfs: float = -30.0

    def build(self, ctx: BuildContext) -> BurstModel:
        """Keep the seed for per-event waveforms."""
        return BurstModel(self, ctx)


class BurstModel:
    """Full-rate burst synthesiser; each event's waveform is keyed by its index."""

    def __init__(self, spec: Burst, ctx: BuildContext) -> None:
        self.spec = spec
        self.seed = int(ctx.rng.integers(2**31))
        self.length_s = 1.5 if spec.kind == "jingle" else 0.6
        self._cache: dict[tuple[int, int], FloatArray] = {}

    def _waveform(self, i: int, fs: int) -> FloatArray:
        key = (i, fs)
        if key in self._cache:
            return self._cache[key]
        rng = keyed_rng(self.seed, i, fs)
        n = int(self.length_s * fs)
        out = np.zeros(n)
        if self.spec.kind == "jingle":
            for _ in range(rng.poisson(30)):
                t0 = int(rng.uniform(0, 0.9 * n))
                tau = rng.uniform(0.003, 0.025)
                m = min(n - t0, int(5 * tau * fs))
                tt = np.arange(m) / fs
                for _p in range(5):
                    f = rng.uniform(4000.0, min(60000.0, 0.45 * fs))
                    out[t0 : t0 + m] += (
                        rng.uniform(0.1, 1.0)
                        * np.sin(2 * np.pi * f * tt + rng.uniform(0, 6.3))
                        * np.exp(-tt / tau)
                    )
        else:
            tt = np.arange(n) / fs
            thump = np.sin(2 * np.pi * rng.uniform(50, 90) * tt) * np.exp(-tt / 0.12)
            a = np.exp(-2 * np.pi * 2000.0 / fs)
            noise = rng.standard_normal(n)
            crack = (lfilter([1 - a], [1, -a], noise) + 0.05 * noise) * np.exp(-tt / 0.05)
            out = thump + 2.0 * crack
        out *= 10 ** (self.spec.level_dbfs / 20) / max(float(np.max(np.abs(out))), 1e-12)
        self._cache = {key: out}
        return out

    def render(self, n0: int, n: int, fs: int) -> FloatArray:
        """Samples [n0, n0+n) at rate fs (zeros where no burst)."""
        out = np.zeros(n)
        for i, t in enumerate(self.spec.times):
            s = round(t * fs)
            w_len = int(self.length_s * fs)
            lo, hi = max(s, n0), min(s + w_len, n0 + n)
            if hi > lo:
                out[lo - n0 : hi - n0] += self._waveform(i, fs)[lo - s : hi - s]
        return out

    def truth(self, t: FloatArray) -> ActorTruth:
        """'jingle' / 'door' while a burst sounds."""
        on = np.zeros(t.shape, dtype=bool)
        for ts in self.spec.times:
            on |= (t >= ts) & (t < ts + self.length_s)
        return ActorTruth(labels={self.spec.kind: on})


@dataclass(frozen=True)
class Speech:
    """Audible speech or TV in `intervals` ((start, end), ...) at `level_dbfs` peak."""

    intervals: tuple[tuple[float, float], ...] = ((0.0, 1e12),)
    level_dbfs: float = -25.0

    def build(self, ctx: BuildContext) -> SpeechModel:
        """Keep the seed for per-syllable draws."""
        return SpeechModel(self, ctx)


class SpeechModel:
    """Voiced syllables: harmonics of a 90-230 Hz pitch under two random formants."""

    SLOT_S = 0.22

    def __init__(self, spec: Speech, ctx: BuildContext) -> None:
        self.spec = spec
        self.seed = int(ctx.rng.integers(2**31))

    def _on(self, t: FloatArray) -> FloatArray:
        on = np.zeros(t.shape)
        for a, b in self.spec.intervals:
            on += (t >= a) & (t < b)
        return np.minimum(on, 1.0)

    def audible(self, k: IntArray, fs_int: float) -> FloatArray:
        """Waveform at internal-rate indices k."""
        t = k / fs_int
        out = np.zeros(t.shape)
        on = self._on(t)
        if not np.any(on > 0):
            return out
        for i in range(int(t.min() // self.SLOT_S), int(t.max() // self.SLOT_S) + 1):
            rng = keyed_rng(self.seed, i)
            if rng.uniform() < 0.3:
                continue
            u = t - i * self.SLOT_S
            sel = (u >= 0) & (u < self.SLOT_S)
            if not np.any(sel):
                continue
            us = u[sel]
            f0 = rng.uniform(90, 230)
            f1, f2 = rng.uniform(300, 800), rng.uniform(900, 2500)
            env = np.sin(np.pi * us / self.SLOT_S) ** 2
            for h in range(1, int(min(3500.0, 0.4 * fs_int) / f0)):
                fh = h * f0
                g = np.exp(-(((fh - f1) / 200) ** 2)) + 0.5 * np.exp(-(((fh - f2) / 300) ** 2))
                out[sel] += g * np.sin(2 * np.pi * fh * us) * env / h**0.5
        return 0.3 * 10 ** (self.spec.level_dbfs / 20) * out * on

    def truth(self, t: FloatArray) -> ActorTruth:
        """'speech' while talking."""
        return ActorTruth(labels={"speech": self._on(t) > 0})
