"""Small analytic scene generator for DSP tests and the compute benchmark.

Not the acoustic simulator (uspd.sim): just enough physics to exercise the chain
with known ground truth. Every received component is the emitted signal e(t) delayed
by its exact path length (fractional delays evaluated analytically):

* emitted e(t) = (1 + m·b(t))·cos(2π f0 t + β·b(t)): bass b(t) modulates the carrier in
  amplitude (force-factor AM) and phase (cone-motion FM) [physics notes, Music];
* direct speaker→mic coupling ∝ 1/d, static wall reflections ∝ ρ/L, a walking person
  as torso + two legs, echo ∝ sqrt(σ/4π)/(r1·r2) (spherical spreading both ways);
* white mic noise and optional interfering tones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .physics import speed_of_sound

FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]

COUPLING = 0.004  # direct-path pressure scale: 0.1 full scale at 4 cm for a 0 dBFS emission
BASS_HZ = (41.0, 55.0, 73.0, 98.0, 131.0)  # bass-heavy lines (E1, A1, D2, G2, C3)


@dataclass(frozen=True)
class Walker:
    """A person walking radially between `near_m` and `far_m` at `speed_mps`."""

    near_m: float = 1.4
    far_m: float = 2.6
    speed_mps: float = 1.2
    azimuth_rad: float = 0.7
    torso_rcs_m2: float = 0.5
    leg_rcs_m2: float = 0.1
    gait_hz: float = 0.9
    leg_swing_m: float = 0.3

    def scatterers(self, t: FloatArray) -> list[tuple[FloatArray, float]]:
        """(positions (n, 3), rcs) for torso and legs at times t."""
        span = self.far_m - self.near_m
        period = 2.0 * span / self.speed_mps
        phase = (t % period) / period  # triangle wave: in and out
        radius = self.near_m + span * (1.0 - np.abs(2.0 * phase - 1.0))
        direction = np.array([math.cos(self.azimuth_rad), math.sin(self.azimuth_rad), 0.0])
        torso = radius[:, None] * direction[None, :] + np.array([0.0, 0.0, 0.3])
        swing = self.leg_swing_m * np.sin(2.0 * math.pi * self.gait_hz * t)
        left = torso + (swing[:, None] * direction) + np.array([0.0, 0.1, -0.8])
        right = torso - (swing[:, None] * direction) + np.array([0.0, -0.1, -0.8])
        return [(torso, self.torso_rcs_m2), (left, self.leg_rcs_m2), (right, self.leg_rcs_m2)]


@dataclass(frozen=True)
class Scene:
    """Device geometry, room and sources of one synthetic recording."""

    mics: int = 4
    carrier_hz: float = 40_000.0
    emission_dbfs: float = 0.0
    noise_dbfs: float = -100.0  # white mic noise, RMS per sample
    # (am_index, fm_index_rad) of the bass modulation; (0, 0) = no music.
    music: tuple[float, float] = (0.0, 0.0)
    walker: Walker | None = None
    tones: tuple[tuple[float, float], ...] = ()  # (freq_hz, dBFS peak), at every mic
    speaker: tuple[float, float, float] = (0.015, 0.0, -0.03)
    mic_radius_m: float = 0.035
    walls: tuple[tuple[float, float, float, float], ...] = field(
        default=(
            (2.1, 0.6, 0.1, 0.5),
            (-1.6, 1.2, 0.4, 0.4),
            (0.4, -2.7, -0.5, 0.5),
            (0.0, 0.0, 2.4, 0.3),
        )
    )  # (x, y, z, reflection coefficient) of static image points

    def mic_positions(self) -> FloatArray:
        """Mics on a horizontal circle around the device axis."""
        angles = 2.0 * math.pi * np.arange(self.mics) / self.mics
        pos: FloatArray = np.stack(
            [self.mic_radius_m * np.cos(angles), self.mic_radius_m * np.sin(angles), 0 * angles],
            axis=1,
        )
        return pos


def bass(t: FloatArray) -> FloatArray:
    """Bass-heavy music: lines with a kick-like 2 Hz envelope, peak ≈ 1."""
    out = np.zeros_like(t)
    for i, f in enumerate(BASS_HZ):
        envelope = 0.6 + 0.4 * np.cos(2.0 * math.pi * (2.0 * t + i / len(BASS_HZ)))
        out += envelope * np.cos(2.0 * math.pi * f * t + 1.3 * i) / len(BASS_HZ)
    return 2.0 * out


def emitted(scene: Scene, t: FloatArray) -> FloatArray:
    """Speaker output e(t) for sample times t (already delayed by the caller)."""
    amplitude = 10.0 ** (scene.emission_dbfs / 20.0)
    am, fm = scene.music
    b = bass(t) if (am or fm) else 0.0 * t
    result: FloatArray = (
        amplitude * (1.0 + am * b) * np.cos(2.0 * math.pi * scene.carrier_hz * t + fm * b)
    )
    return result


def render(
    scene: Scene,
    seconds: float,
    sample_rate: int,
    *,
    seed: int = 0,
    temperature_c: float = 20.0,
) -> Float32Array:
    """Render (frames, mics) float32 audio of the scene."""
    c = speed_of_sound(temperature_c)
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    speaker = np.asarray(scene.speaker)
    mics = scene.mic_positions()
    out = np.zeros((t.size, scene.mics))
    scatterers = scene.walker.scatterers(t) if scene.walker else []
    for m, mic in enumerate(mics):
        direct = float(np.linalg.norm(mic - speaker))
        out[:, m] += COUPLING / direct * emitted(scene, t - direct / c)
        for x, y, z, rho in scene.walls:
            image = np.array([x, y, z])
            path = float(np.linalg.norm(image - speaker) + np.linalg.norm(image - mic))
            out[:, m] += COUPLING * rho / path * emitted(scene, t - path / c)
        for pos, rcs in scatterers:
            r1 = np.linalg.norm(pos - speaker, axis=1)
            r2 = np.linalg.norm(pos - mic, axis=1)
            gain = COUPLING * math.sqrt(rcs / (4.0 * math.pi)) / (r1 * r2)
            out[:, m] += gain * emitted(scene, t - (r1 + r2) / c)
    for freq, level in scene.tones:
        out += 10.0 ** (level / 20.0) * np.cos(2.0 * math.pi * freq * t + 0.5)[:, None]
    rng = np.random.default_rng(seed)
    out += 10.0 ** (scene.noise_dbfs / 20.0) * rng.standard_normal(out.shape)
    audio: Float32Array = out.astype(np.float32)
    return audio


def rotor_echo(
    n: int,
    rate: float,
    period_s: float,
    channels: int,
    seed: int,
    *,
    level: float = 0.03,
    sway_hz: float = 0.0,
    top_hz: float = 1700.0,
) -> npt.NDArray[np.complex128]:
    """A fan's echo in the complex baseband (channels, n), relative to the carrier.

    Identical blades repeat every blade pass, so the echo is a comb of lines 1/period_s
    apart out to `top_hz` (blade tips beyond walking speeds), random complex amplitudes
    per mic falling with offset; an oscillating head turns the whole comb by a Doppler
    rising and falling to `sway_hz` and back every 1/0.3 s. RMS `level` per mic.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    ks = np.arange(-int(top_hz * period_s), int(top_hz * period_s) + 1)
    ks = ks[ks != 0]
    sway_rate = 0.3
    # Phase of a Doppler sway_hz·(1 - cos)/2: its integral over time.
    turn = np.exp(
        1j * np.pi * sway_hz * (t - np.sin(2 * np.pi * sway_rate * t) / (2 * np.pi * sway_rate))
    )
    lines = np.exp(2j * np.pi * np.outer(ks / period_s, t))  # (lines, n)
    out = np.empty((channels, n), dtype=np.complex128)
    for m in range(channels):
        amps = (rng.normal(size=ks.size) + 1j * rng.normal(size=ks.size)) / np.sqrt(
            1 + np.abs(ks) / 8
        )
        echo = np.einsum("k,kn->n", amps, lines)  # einsum: no multithreaded BLAS
        out[m] = echo * (level / np.sqrt(np.mean(np.abs(echo) ** 2))) * turn
    return out
