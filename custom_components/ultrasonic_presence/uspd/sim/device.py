"""Per-device hardware: array geometry and random ultrasonic speaker/mic responses.

Mass-produced speakers and mics vary in ultrasonic gain and phase, so the best carrier
differs per device (physics.md "Hardware"; Echo article: calibration by sweep). The
speaker rolls off above a random corner (a quarter of devices below 30 kHz: "almost no
output above 30 kHz"), with smooth random ripple in gain and phase; mics share a type
response and differ by a per-mic gain/phase mismatch. The ADC anti-alias filter removes
everything above ≈0.45·fs, as real codecs do.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .randomness import keyed_rng
from .scene import DeviceSpec, Room

FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]

_Z = np.array([0.0, 0.0, 1.0])


class DeviceModel:
    """Geometry and frequency responses of one simulated device."""

    def __init__(self, spec: DeviceSpec, n_mics: int, sample_rate: int, room: Room, seed: int):
        self.spec = spec
        self.n_mics = n_mics
        self.sample_rate = sample_rate
        if spec.position_m is None:
            self.center = np.array([0.3, room.size_m[1] / 2, 0.9])
        else:
            self.center = np.asarray(spec.position_m, dtype=np.float64)
        a = spec.facing_rad
        self.front = np.array([np.cos(a), np.sin(a), 0.0])
        side = np.array([-self.front[1], self.front[0], 0.0])
        if n_mics == 1:
            offsets = [spec.mic_radius_m * side]
        else:
            angles = 2 * np.pi * np.arange(n_mics) / n_mics + np.pi / 4
            offsets = [
                spec.mic_radius_m * (np.cos(x) * self.front + np.sin(x) * side) for x in angles
            ]
        self.mics = self.center + np.array(offsets)
        self.speaker = self.center + 0.012 * self.front + 0.007 * side - 0.04 * _Z
        rng = keyed_rng(spec.hw_seed if spec.hw_seed is not None else seed, 0x4857)
        if spec.speaker_cutoff_hz is not None:
            self.cutoff = spec.speaker_cutoff_hz
        elif rng.uniform() < 0.25:
            self.cutoff = float(rng.uniform(22000, 29000))
        else:
            self.cutoff = float(rng.uniform(32000, 60000))
        self.ripple = self._draw_ripple(rng, spec.ripple_db, 5)
        self.phase_ripple = self._draw_ripple(rng, 0.4, 3)
        self.mic_cutoff = float(rng.uniform(40000, 90000))
        self.mic_ripple = self._draw_ripple(rng, 1.0, 3)
        self.mic_gain_db = rng.normal(0.0, spec.mic_mismatch_db, 8)[:n_mics]
        self.mic_phase = np.radians(rng.normal(0.0, spec.mic_phase_deg, 8))[:n_mics]
        self.mic_phase_slope = np.radians(rng.normal(0.0, spec.mic_phase_deg, 8))[:n_mics] / 2e4

    @staticmethod
    def _draw_ripple(rng: np.random.Generator, size: float, n: int) -> FloatArray:
        """Rows of (amplitude, period Hz, phase) for a smooth random curve over frequency."""
        return np.stack(
            [
                rng.normal(0, size / np.sqrt(n), n),
                rng.uniform(2500, 12000, n),
                rng.uniform(0, 6.3, n),
            ],
            axis=1,
        )

    @staticmethod
    def _curve(rows: FloatArray, f: FloatArray) -> FloatArray:
        out = np.zeros(np.shape(f))
        for a, p, ph in rows:
            out += a * np.cos(2 * np.pi * f / p + ph)
        return out

    def speaker_response(self, f: FloatArray) -> ComplexArray:
        """Speaker drive → radiated pressure, relative (complex) at frequencies f (Hz)."""
        f = np.abs(np.asarray(f, dtype=np.float64))
        x = f / self.cutoff
        mag_db = -10 * np.log10(1 + x**12) + self._curve(self.ripple, f)
        phase = -6 * np.arctan(x) / 2 + self._curve(self.phase_ripple, f)
        return np.asarray(10 ** (mag_db / 20) * np.exp(1j * phase), dtype=np.complex128)

    def mic_response(self, f: FloatArray) -> ComplexArray:
        """Per-mic response (M, len(f)) including the ADC anti-alias filter."""
        f = np.abs(np.atleast_1d(np.asarray(f, dtype=np.float64)))
        x = f / self.mic_cutoff
        common_db = -10 * np.log10(1 + x**4) + self._curve(self.mic_ripple, f)
        nyq = self.sample_rate / 2
        edge = np.clip((f - 0.908 * nyq) / (0.092 * nyq), 0.0, 1.0)
        aa = np.cos(0.5 * np.pi * edge) ** 2
        gain = 10 ** ((common_db[None, :] + self.mic_gain_db[:, None]) / 20) * aa[None, :]
        phase = self.mic_phase[:, None] + self.mic_phase_slope[:, None] * (f[None, :] - 3e4)
        return np.asarray(gain * np.exp(1j * phase), dtype=np.complex128)

    def response(self, f: FloatArray) -> ComplexArray:
        """Speaker × mic × ADC response (M, len(f))."""
        return self.speaker_response(f)[None, :] * self.mic_response(f)
