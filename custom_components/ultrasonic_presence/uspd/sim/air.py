"""Curtains in gusts and HVAC airflow.

No measured numbers exist (physics.md "Curtains / airflow"); guides only say to keep
detectors away from curtains and vents. Curtains are patches swaying a few cm at
0.3-1.5 Hz during gusts. Airflow is a slow random phase wander of the static paths that
grows with path length (refractive-index turbulence), applied by the renderer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .model import ActorTruth, BuildContext
from .randomness import SmoothNoise, Switches, bump

FloatArray = npt.NDArray[np.float64]

_WALLS = {"x0": (0, 0.0, 1.0), "x1": (0, 1.0, -1.0), "y0": (1, 0.0, 1.0), "y1": (1, 1.0, -1.0)}


@dataclass(frozen=True)
class Curtain:
    """A curtain on wall `wall` ('x0','x1','y0','y1') centred at `center_m` along it.

    Gusts arrive at `gusts_per_min` (window open), last 3-12 s, push up to
    `sway_m` × strength.
    """

    wall: str = "y1"
    center_m: float = 2.0
    width_m: float = 1.4
    gusts_per_min: float = 3.0
    sway_m: float = 0.05

    def build(self, ctx: BuildContext) -> CurtainModel:
        """Draw gusts and patch motions."""
        return CurtainModel(self, ctx)


class CurtainModel:
    """Renderable curtain: 2×3 patches."""

    decimation = 64

    def __init__(self, spec: Curtain, ctx: BuildContext) -> None:
        self.spec = spec
        rng = ctx.rng
        ax, frac, sign = _WALLS.get(spec.wall, _WALLS["y1"])
        size = ctx.room.size_m
        self.normal = np.zeros(3)
        self.normal[ax] = sign
        along = 1 - ax
        pts = []
        for z in (1.3, 1.9):
            for k in (-1, 0, 1):
                p = np.zeros(3)
                p[ax] = frac * size[ax] + sign * 0.1
                p[along] = spec.center_m + k * spec.width_m / 3
                p[2] = z
                pts.append(p)
        self.base = np.array(pts)
        self.common = SmoothNoise.draw(rng, 0.3, 1.2, 8)
        self.local = [SmoothNoise.draw(rng, 0.4, 1.8, 8) for _ in range(len(pts))]
        n = rng.poisson(spec.gusts_per_min * ctx.duration_s / 60.0)
        self.gust_t = np.sort(rng.uniform(-5.0, ctx.duration_s, n))
        self.gust_d = rng.uniform(3.0, 12.0, n)
        self.gust_a = rng.uniform(0.3, 1.0, n)

    def envelope(self, t: FloatArray) -> FloatArray:
        """Gust strength 0..~1 at t."""
        env = np.zeros(t.shape)
        for t0, d, a in zip(self.gust_t, self.gust_d, self.gust_a, strict=True):
            if t0 > t.max() or t0 + d < t.min():
                continue
            env += a * bump((t - t0) / d)
        return env

    def scatterers(self, t: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Six patches moving along the wall normal."""
        env = self.envelope(t)
        common = self.common(t)
        disp = np.stack([env * (0.6 * common + 0.4 * loc(t)) for loc in self.local])
        pos = self.base[:, None, :] + (self.spec.sway_m * disp)[..., None] * self.normal
        return pos, np.full(disp.shape, 0.035)

    def truth(self, t: FloatArray) -> ActorTruth:
        """'curtain' while a gust moves it noticeably."""
        return ActorTruth(labels={"curtain": self.envelope(t) > 0.1})


@dataclass(frozen=True)
class Hvac:
    """Air conditioning / heating airflow: phase wander on long static paths while on.

    `strength` 1 ≈ 5e-6 RMS relative path-length jitter at 0.1-4 Hz: 0.03 rad on an
    8 m path at 40 kHz, i.e. a -30 dB skirt of a few Hz around each reflection.
    """

    switches: Switches = field(default_factory=lambda: Switches(initial=True))
    strength: float = 1.0

    def build(self, ctx: BuildContext) -> HvacModel:
        """Draw the turbulence processes (one per static path group)."""
        return HvacModel(self, ctx)


class HvacModel:
    """Airflow model; the renderer calls `jitter(t)` for each static path group."""

    GROUPS = 4

    def __init__(self, spec: Hvac, ctx: BuildContext) -> None:
        self.spec = spec
        self.noise = [SmoothNoise.draw(ctx.rng, 0.1, 4.0, 14) for _ in range(self.GROUPS)]

    def level(self, t: FloatArray) -> FloatArray:
        """0..1 fan level with 5 s ramps at switch events."""
        on = self.spec.switches.state(t).astype(np.float64)
        for ts in self.spec.switches.times:
            x = np.clip((t - ts) / 5.0, 0.0, 1.0)
            near = (t >= ts) & (t < ts + 5.0)
            on = np.where(near, np.where(on > 0, x, 1 - x), on)
        return on

    def jitter(self, t: FloatArray, group: int) -> FloatArray:
        """Relative path-length fluctuation of static path group `group`."""
        return 5e-6 * self.spec.strength * self.level(t) * self.noise[group % self.GROUPS](t)

    def truth(self, t: FloatArray) -> ActorTruth:
        """'hvac' while on."""
        return ActorTruth(labels={"hvac": self.level(t) > 0.05})
