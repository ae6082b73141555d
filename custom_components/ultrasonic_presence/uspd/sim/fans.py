"""Floor and ceiling fans: blades as rotating point scatterers, switched on/off.

Ceiling fans 90-200 rpm (tip ≈ 13.6 m/s at 200 rpm, blade-pass 4.5-17 Hz); floor fans
≈ 10-22 rev/s with a smaller radius, often oscillating (physics.md "Interferers").
Each blade is two points (mid-span and tip) so the Doppler fills the band between the
two speeds; a specular term makes blades "flash" when their face turns to the device.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .model import ActorTruth, BuildContext
from .randomness import SpinProfile, Switches

FloatArray = npt.NDArray[np.float64]


def _blades(
    *,
    hub: FloatArray,
    axis: FloatArray,
    e1: FloatArray,
    e2: FloatArray,
    turns: FloatArray,
    n_blades: int,
    radius: float,
    pitch: float,
    device: FloatArray,
    amp: float,
) -> tuple[FloatArray, FloatArray]:
    """Blade points (2B, T, 3) and amplitudes for hub/axis frames given per time (T, 3)."""
    pos, amps = [], []
    for b in range(n_blades):
        theta = 2 * np.pi * (turns + b / n_blades)
        c, s = np.cos(theta)[:, None], np.sin(theta)[:, None]
        radial = c * e1 + s * e2
        tangent = -s * e1 + c * e2
        normal = np.cos(pitch) * axis + np.sin(pitch) * tangent
        for frac, share in ((0.55, 0.6), (0.9, 0.4)):
            p = hub + frac * radius * radial
            d = device - p
            d /= np.linalg.norm(d, axis=-1, keepdims=True)
            spec = np.abs(np.sum(normal * d, axis=-1)) ** 4
            pos.append(p)
            amps.append(amp * share * (0.25 + 0.75 * spec))
    return np.stack(pos), np.stack(amps)


@dataclass(frozen=True)
class FloorFan:
    """A pedestal fan at floor position `position` (x, y), optionally oscillating.

    `switches` toggles it (initially on by default); spin-up ≈ 2 s, run-down ≈ 8 s.
    `yaw_rad` None points it at the device.
    """

    position: tuple[float, float]
    height_m: float = 0.95
    radius_m: float = 0.18
    blades: int = 3
    rev_per_s: float = 15.0
    oscillate_deg: float = 70.0
    oscillate_period_s: float = 14.0
    yaw_rad: float | None = None
    switches: Switches = field(default_factory=lambda: Switches(initial=True))
    blade_rcs_m2: float = 0.02

    def build(self, ctx: BuildContext) -> FloorFanModel:
        """Make the renderable model."""
        return FloorFanModel(self, ctx)


class FloorFanModel:
    """Renderable floor fan: 2 points per blade + the motor housing (geometry every 2 ms;
    echo error ≈ -45 dB anechoic, ≈ -30 dB with wall images, re exact rendering)."""

    decimation = 16

    def __init__(self, spec: FloorFan, ctx: BuildContext) -> None:
        self.spec = spec
        self.device = ctx.device_center
        self.pivot = np.array([*spec.position, spec.height_m])
        if spec.yaw_rad is None:
            d = self.device - self.pivot
            self.yaw0 = float(np.arctan2(d[1], d[0]))
        else:
            self.yaw0 = spec.yaw_rad
        self.spin = SpinProfile(spec.rev_per_s, spec.switches, 2.0, 8.0)
        self.osc = SpinProfile(1.0 / spec.oscillate_period_s, spec.switches, 0.5, 0.5)
        self.phase0 = float(ctx.rng.uniform(0, 1))
        self.amp = float(np.sqrt(spec.blade_rcs_m2 / (4 * np.pi)))

    def scatterers(self, t: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Blades and housing."""
        sp = self.spec
        yaw = self.yaw0 + np.radians(sp.oscillate_deg / 2) * np.sin(2 * np.pi * self.osc.angle(t))
        axis = np.stack([np.cos(yaw), np.sin(yaw), np.zeros_like(yaw)], axis=-1)
        e1 = np.stack([-np.sin(yaw), np.cos(yaw), np.zeros_like(yaw)], axis=-1)
        e2 = np.broadcast_to(np.array([0.0, 0.0, 1.0]), axis.shape)
        hub = self.pivot + 0.12 * axis
        turns = self.spin.angle(t) + self.phase0
        pos, amp = _blades(
            hub=hub, axis=axis, e1=e1, e2=e2, turns=turns, n_blades=sp.blades,
            radius=sp.radius_m, pitch=np.radians(30), device=self.device, amp=self.amp,
        )  # fmt: skip
        housing = (self.pivot - 0.05 * axis)[None]
        return (
            np.concatenate([pos, housing]),
            np.concatenate([amp, np.full((1, t.size), 0.05)]),
        )

    def truth(self, t: FloatArray) -> ActorTruth:
        """'floor_fan' while the blades turn faster than 0.5 rev/s."""
        return ActorTruth(labels={"floor_fan": self.spin.rate(t) > 0.5})


@dataclass(frozen=True)
class CeilingFan:
    """A ceiling fan centred at floor position `position`, 0.35 m below the ceiling."""

    position: tuple[float, float]
    radius_m: float = 0.65
    blades: int = 4
    rpm: float = 150.0
    switches: Switches = field(default_factory=lambda: Switches(initial=True))
    blade_rcs_m2: float = 0.05

    def build(self, ctx: BuildContext) -> CeilingFanModel:
        """Make the renderable model."""
        return CeilingFanModel(self, ctx)


class CeilingFanModel:
    """Renderable ceiling fan (slow spin-up ≈ 6 s, run-down ≈ 20 s)."""

    decimation = 16

    def __init__(self, spec: CeilingFan, ctx: BuildContext) -> None:
        self.spec = spec
        self.device = ctx.device_center
        self.hub = np.array([*spec.position, ctx.room.size_m[2] - 0.35])
        self.spin = SpinProfile(spec.rpm / 60.0, spec.switches, 6.0, 20.0)
        self.phase0 = float(ctx.rng.uniform(0, 1))
        self.amp = float(np.sqrt(spec.blade_rcs_m2 / (4 * np.pi)))

    def scatterers(self, t: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Blades."""
        shape = (t.size, 3)
        axis = np.broadcast_to(np.array([0.0, 0.0, 1.0]), shape)
        e1 = np.broadcast_to(np.array([1.0, 0.0, 0.0]), shape)
        e2 = np.broadcast_to(np.array([0.0, 1.0, 0.0]), shape)
        hub = np.broadcast_to(self.hub, shape)
        turns = self.spin.angle(t) + self.phase0
        return _blades(
            hub=hub, axis=axis, e1=e1, e2=e2, turns=turns, n_blades=self.spec.blades,
            radius=self.spec.radius_m, pitch=np.radians(12), device=self.device, amp=self.amp,
        )  # fmt: skip

    def truth(self, t: FloatArray) -> ActorTruth:
        """'ceiling_fan' while turning."""
        return ActorTruth(labels={"ceiling_fan": self.spin.rate(t) > 0.2})
