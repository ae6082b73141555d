"""Walking kinematics: a Boulic-like gait driven along a floor path.

Boulic et al. 1990 (via V.C. Chen's micro-Doppler code, physics.md "Targets"): relative
cycle length RLc = 1.346·sqrt(v/HT) with HT the hip height, so a 1.8 m person at
1.3 m/s has a ~1.1 s cycle and ~1.45 m stride. The leg swing is phase-warped (60 %
stance, 40 % swing) so the foot moves back while planted and forward fast while
swinging: peak knee ≈ 2.4 m/s and ankle ≈ 4 m/s at 1.3 m/s, close to
Boulic's 2.35 and 4.65 m/s. All joint curves are C² (no acceleration steps), which
keeps the renderer's per-block phase polynomials accurate. Micro-Doppler then comes out
of the geometry.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class Polyline:
    """A floor path traversed by arc length."""

    def __init__(self, points: tuple[tuple[float, float], ...]) -> None:
        self.points = np.asarray(points, dtype=np.float64)
        seg = np.diff(self.points, axis=0)
        self.lengths = np.hypot(seg[:, 0], seg[:, 1])
        self.cum = np.concatenate([[0.0], np.cumsum(self.lengths)])
        self.total = float(self.cum[-1])

    def at(self, s: FloatArray) -> FloatArray:
        """Floor positions (…, 2) at arc lengths s (clamped to the path)."""
        s = np.clip(s, 0.0, self.total)
        i = np.clip(np.searchsorted(self.cum, s, side="right") - 1, 0, len(self.lengths) - 1)
        frac = (s - self.cum[i]) / np.maximum(self.lengths[i], 1e-9)
        return np.asarray(
            self.points[i] + (self.points[i + 1] - self.points[i]) * frac[..., None],
            dtype=np.float64,
        )

    def smooth(self, s: FloatArray, half_m: float = 0.4) -> FloatArray:
        """Positions rounded at corners (triangular average over ±half_m of path): people
        turn in an arc, and the echo phase stays smooth."""
        offsets = np.linspace(-half_m, half_m, 9)
        weights = 1.0 - np.abs(offsets) / (half_m * 1.25)
        weights /= weights.sum()
        out = np.zeros((*np.shape(s), 2))
        for o, wgt in zip(offsets, weights, strict=True):
            out += wgt * self.at(s + o)
        return out

    def heading(self, s: FloatArray, smooth_m: float = 0.3) -> FloatArray:
        """Unit walking direction (…, 2), smoothed over ±smooth_m so turns are not jumps."""
        d = self.at(s + smooth_m) - self.at(s - smooth_m)
        n = np.hypot(d[..., 0], d[..., 1])[..., None]
        fallback = self.points[-1] - self.points[0]
        fallback = fallback / max(float(np.hypot(*fallback)), 1e-9)
        return np.asarray(np.where(n > 1e-6, d / np.maximum(n, 1e-9), fallback), dtype=np.float64)


def stride_m(speed: float, height: float) -> float:
    """Boulic stride length: RLc·HT with RLc = 1.346·sqrt(v/HT), HT ≈ 0.51·height."""
    ht = 0.51 * height
    return float(1.346 * np.sqrt(speed / ht) * ht)


_WARP = -0.347  # ψ(0.6) = π: the leg sweeps back for 60 % of the cycle (stance)


def _warp(phase: FloatArray) -> FloatArray:
    """Cycle phase → leg angle phase: stance (60 %) slow, swing (40 %) fast, smooth."""
    return np.asarray(2 * np.pi * phase + _WARP * (1 - np.cos(2 * np.pi * phase)), dtype=np.float64)


def _window(x: FloatArray) -> FloatArray:
    """cos⁴ bump on [-1, 1]: C² at its edges, so no acceleration steps in the limbs."""
    u = np.clip(x, -1.0, 1.0)
    return np.asarray(np.cos(0.5 * np.pi * u) ** 4, dtype=np.float64)


def _knee(phase: FloatArray) -> FloatArray:
    """Knee flexion (rad): ~15° in loading, ~48° in mid-swing."""
    f = np.mod(phase, 1.0)
    stance = np.radians(15.0) * _window((f - 0.15) / 0.15)
    swing = np.radians(48.0) * (_window((f - 0.8) / 0.2) + _window((f + 0.2) / 0.2))
    return np.asarray(stance + swing, dtype=np.float64)


# Amplitudes sqrt(σ/4π) in m for a 1.75 m adult. Human target strength at ultrasound is
# not published (physics.md); torso, thighs and shanks are the strongest 40 kHz returns
# [Sabatier & Bradley 2012], so they get the largest values.
BODY_PARTS: tuple[str, ...] = (
    "torso", "head", "thigh_l", "thigh_r", "shank_l", "shank_r", "arm_l", "arm_r",
)  # fmt: skip
BODY_AMPS = np.array([0.14, 0.05, 0.07, 0.07, 0.055, 0.055, 0.04, 0.04])


def walking_body(s: FloatArray, path: Polyline, speed: float, height: float) -> FloatArray:
    """Body-part positions (8, T, 3) for arc lengths s along `path`."""
    floor = path.smooth(s)
    u2 = path.heading(s)
    u = np.stack([u2[..., 0], u2[..., 1], np.zeros_like(s)], axis=-1)
    w = np.stack([-u2[..., 1], u2[..., 0], np.zeros_like(s)], axis=-1)
    z = np.array([0.0, 0.0, 1.0])
    ht = 0.51 * height
    phase = s / stride_m(speed, height)
    pelvis = np.concatenate([floor, np.full((*s.shape, 1), ht)], axis=-1)
    pelvis[..., 2] += 0.02 * np.cos(4 * np.pi * phase)
    l_thigh, l_shank, l_arm = 0.245 * height, 0.246 * height, 0.3 * height
    amp = np.radians(23.0) * min(1.0, 0.55 + 0.35 * speed)
    parts = np.empty((8, *s.shape, 3))
    parts[0] = pelvis + 0.22 * height * z
    parts[1] = pelvis + 0.42 * height * z
    for k, (side, offset) in enumerate(((+1.0, 0.0), (-1.0, 0.5))):
        ph = phase + offset
        theta = amp * np.cos(_warp(ph))
        shank = theta - _knee(ph)
        hip = pelvis + side * 0.09 * w
        along = np.sin(theta)[..., None] * u - np.cos(theta)[..., None] * z
        knee = hip + l_thigh * along
        parts[2 + k] = hip + 0.5 * l_thigh * along
        shank_dir = np.sin(shank)[..., None] * u - np.cos(shank)[..., None] * z
        parts[4 + k] = knee + 0.5 * l_shank * shank_dir
        # The arm on this side swings with the opposite leg.
        alpha = -0.7 * amp * np.cos(2 * np.pi * ph)
        shoulder = pelvis + 0.3 * height * z + side * 0.19 * w
        arm_dir = np.sin(alpha)[..., None] * u - np.cos(alpha)[..., None] * z
        parts[6 + k] = shoulder + 0.75 * l_arm * arm_dir
    return parts
