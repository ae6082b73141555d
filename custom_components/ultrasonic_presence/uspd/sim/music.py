"""Music played by the device: audible band plus carrier modulation by the speaker.

Loudspeaker nonlinearity lets bass (30-300 Hz) modulate the ultrasonic carrier:
force-factor AM [Purifi] and cone-motion "Doppler distortion" FM [Moir 1976; Lebrun &
Hélie 2020]. Cone excursion x(t) phase-modulates the carrier by k0·x (1 mm at 32 kHz →
0.59 rad, first sidebands ≈ -10 dB at ±f_bass, physics.md "Music"), and amplitude-
modulates it by (1 + am_depth·x/x_peak). The sidebands leave the speaker, so they reach
the mics through the same paths as the carrier (what a multi-mic canceller exploits).
Everything is synthesised per beat from RNGs keyed by beat index: stateless in time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .model import ActorTruth, BuildContext, fade
from .randomness import keyed_rng

FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]
IntArray = npt.NDArray[np.int64]

# tempo range, kick/bass/mid/hat weights, kick pattern (beats of a 4-beat bar)
GENRES: dict[str, tuple[tuple[float, float], float, float, float, float, tuple[int, ...]]] = {
    "edm": ((120.0, 130.0), 1.0, 0.7, 0.4, 0.3, (0, 1, 2, 3)),
    "hiphop": ((85.0, 100.0), 1.0, 1.0, 0.3, 0.4, (0, 2)),
    "rock": ((100.0, 140.0), 0.8, 0.6, 0.8, 0.5, (0, 2)),
    "pop": ((95.0, 125.0), 0.7, 0.6, 0.7, 0.3, (0, 1, 2, 3)),
    "classical": ((60.0, 90.0), 0.0, 0.3, 1.0, 0.0, ()),
}
_BASS_NOTES = np.array([41.2, 43.65, 49.0, 55.0, 61.74, 65.41, 73.42, 82.41, 98.0])


@dataclass(frozen=True)
class Music:
    """Music from the device speaker between `start_s` and `end_s`.

    `genre` is one of GENRES or 'tone' (a pure `tone_hz` bass tone: the test signal).
    `level_dbfs` is the audible peak at the mics; `excursion_mm` the peak cone excursion
    (what sets the FM sideband level); `am_depth` the force-factor AM at that excursion.
    """

    start_s: float = 0.0
    end_s: float | None = None
    genre: str = "edm"
    level_dbfs: float = -12.0
    excursion_mm: float = 0.8
    am_depth: float = 0.1
    tone_hz: float = 60.0

    def build(self, ctx: BuildContext) -> MusicModel:
        """Draw tempo and the track seed."""
        return MusicModel(self, ctx)


class MusicModel:
    """Excursion and audible waveform as functions of internal-rate sample index."""

    def __init__(self, spec: Music, ctx: BuildContext) -> None:
        self.spec = spec
        self.end = spec.end_s if spec.end_s is not None else 1e12
        self.seed = int(ctx.rng.integers(2**31))
        g = GENRES.get(spec.genre, GENRES["edm"])
        self.tempo = float(ctx.rng.uniform(*g[0]))
        self.weights = g[1:5]
        self.kicks = g[5]
        self.x_peak = spec.excursion_mm * 1e-3

    def active(self, t: FloatArray) -> FloatArray:
        """0..1 playback weight (0.2 s fades)."""
        return fade(t, self.spec.start_s, self.end, 0.2)

    def _beats(self, t: FloatArray) -> tuple[float, range]:
        beat = 60.0 / self.tempo
        lo = int(np.floor((float(t.min()) - 2.0) / beat))
        hi = int(np.floor(float(t.max()) / beat))
        return beat, range(lo, hi + 1)

    def _bass(self, t: FloatArray, with_mid: bool = True) -> tuple[FloatArray, FloatArray]:
        """Kick + bass line (normalised to ≈1 peak) and, for the audible band, mid chords."""
        if self.spec.genre == "tone":
            x = np.sin(2 * np.pi * self.spec.tone_hz * t)
            return x, np.zeros_like(t)
        kw, bw, mw, _hw = self.weights
        low = np.zeros_like(t)
        mid = np.zeros_like(t)
        beat, beats = self._beats(t)
        for i in beats:
            rng = keyed_rng(self.seed, i)
            u = t - i * beat
            if kw > 0 and (i % 4) in self.kicks:
                sel = (u >= 0) & (u < 1.0)  # e^(-1/0.15): gone after 1 s
                us = u[sel]
                ph = 2 * np.pi * (50.0 * us + 60.0 * 0.03 * (1 - np.exp(-us / 0.03)))
                attack = np.clip(us / 0.004, 0, 1) ** 2
                low[sel] += kw * np.sin(ph) * np.exp(-us / 0.15) * attack
            note = _BASS_NOTES[rng.integers(len(_BASS_NOTES))]
            sel = (u >= 0) & (u < beat)
            us = u[sel]
            release = np.cos(0.5 * np.pi * np.clip((us - 0.8 * beat) / (0.2 * beat), 0, 1)) ** 2
            env = np.clip(us / 0.01, 0, 1) ** 2 * np.exp(-us / (0.6 * beat)) * release
            low[sel] += bw * rng.uniform(0.6, 1.0) * np.sin(2 * np.pi * note * us) * env
            if mw > 0 and with_mid:
                root = rng.uniform(200.0, 450.0)
                sel = (u >= 0) & (u < 1.5 * beat)
                us = u[sel]
                fall = np.cos(0.5 * np.pi * np.clip((us - beat) / (0.5 * beat), 0, 1)) ** 2
                menv = np.clip(us / 0.02, 0, 1) * np.exp(-us / beat) * fall
                chord = np.zeros_like(us)
                for ratio in (1.0, 1.26, 1.5):
                    for h in (1, 2, 3):
                        chord += 0.3 / h * np.sin(2 * np.pi * root * ratio * h * us)
                mid[sel] += mw * chord * menv
        return low / max(kw + bw, 1e-9), mid

    def excursion(self, t: FloatArray) -> FloatArray:
        """Cone excursion (m) at times t."""
        active = self.active(t)
        if not np.any(active > 0):
            return np.zeros(t.shape)
        low, _ = self._bass(t, with_mid=False)
        return self.x_peak * low * active

    def envelope(self, t: FloatArray, k0: float) -> ComplexArray:
        """Complex carrier envelope a(t): AM (1 + m·x/x_peak) times FM exp(j·k0·x)."""
        x = self.excursion(t)
        am = 1.0 + self.spec.am_depth * x / max(self.x_peak, 1e-12)
        env: ComplexArray = am * np.exp(1j * k0 * x)
        return env

    def audible(self, k: IntArray, fs_int: float) -> FloatArray:
        """Audible waveform (full scale) at internal-rate sample indices k."""
        t = k / fs_int
        active = self.active(t)
        if not np.any(active > 0):
            return np.zeros(t.shape)
        low, mid = self._bass(t)
        out = 0.6 * low + 0.4 * mid
        hw = self.weights[3]
        if hw > 0 and self.spec.genre != "tone":
            beat, beats = self._beats(t)
            k0 = int(k[0])
            for i in beats:
                for half in (0, 1):
                    start = round((i + 0.5 * half) * beat * fs_int)
                    n = int(0.08 * fs_int)
                    lo, hi = max(start, k0), min(start + n, k0 + k.size)
                    if hi <= lo:
                        continue
                    rng = keyed_rng(self.seed, i, 7 + half)
                    burst = np.diff(rng.standard_normal(n + 1)) * np.exp(
                        -np.arange(n) / (0.015 * fs_int)
                    )
                    out[lo - k0 : hi - k0] += 0.15 * hw * burst[lo - start : hi - start]
        return 10 ** (self.spec.level_dbfs / 20) * out * active

    def truth(self, t: FloatArray) -> ActorTruth:
        """'music' while playing."""
        return ActorTruth(labels={"music": (t >= self.spec.start_s) & (t < self.end)})
