"""People (walking, seated, gesturing), pets and a bare point reflector as scatterers.

Motion classes follow the Echo article: major = walking / large body motion, minor =
typing, page turns, reaching, picking up a cup, shifting posture; still = present but
only breathing (chest ≈ 4-5 mm at 0.2-0.3 Hz, physics.md "Targets").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .gait import BODY_AMPS, Polyline, walking_body
from .model import MAJOR, MINOR, STILL, ActorTruth, BuildContext, fade
from .randomness import SmoothNoise, bump, min_jerk

FloatArray = npt.NDArray[np.float64]
_Z = np.array([0.0, 0.0, 1.0])


def _toward(origin: FloatArray, target: FloatArray) -> FloatArray:
    d = np.array([target[0] - origin[0], target[1] - origin[1], 0.0])
    return np.asarray(d / max(float(np.hypot(d[0], d[1])), 1e-9), dtype=np.float64)


@dataclass(frozen=True)
class WalkingPerson:
    """A person walking a floor path (first point usually the door) at constant speed.

    `leaves`: the person exits at the last point (through the door); otherwise they stop
    there and a `SeatedPerson` starting at `end_s` usually takes over.
    """

    path: tuple[tuple[float, float], ...]
    speed_mps: float = 1.3
    start_s: float = 0.0
    height_m: float = 1.75
    leaves: bool = True

    @property
    def end_s(self) -> float:
        """When the walk ends (arrival at the last waypoint)."""
        return self.start_s + Polyline(self.path).total / self.speed_mps

    def build(self, ctx: BuildContext) -> WalkingModel:
        """Make the renderable model."""
        return WalkingModel(self)


class WalkingModel:
    """Renderable walker (geometry every 4 ms; echo error ≈ -40 dB re exact rendering)."""

    decimation = 32

    def __init__(self, spec: WalkingPerson) -> None:
        self.spec = spec
        self.path = Polyline(spec.path)
        self.span = (spec.start_s, spec.end_s)

    def scatterers(self, t: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Eight body parts along the path."""
        sp = self.spec
        s = (t - sp.start_s) * sp.speed_mps
        pos = walking_body(s, self.path, sp.speed_mps, sp.height_m)
        weight = fade(t, sp.start_s, self.spec.end_s, 0.4)
        amp = BODY_AMPS[:, None] * (sp.height_m / 1.75) * weight[None, :]
        return pos, amp

    def truth(self, t: FloatArray) -> ActorTruth:
        """Present and 'major' while walking."""
        sp = self.spec
        on = (t >= sp.start_s) & (t < sp.end_s)
        s = (t - sp.start_s) * sp.speed_mps
        pos = walking_body(s, self.path, sp.speed_mps, sp.height_m)[0]
        return ActorTruth(person=on, motion=np.where(on, MAJOR, 0).astype(np.int8), position=pos)


_ACTIVITY_RATES: dict[str, dict[str, float]] = {
    # events per minute; typing bursts are separate
    "typing": {"reach": 1.5, "posture": 0.8, "cup": 0.5, "page": 0.0},
    "reading": {"reach": 0.5, "posture": 0.8, "cup": 0.7, "page": 2.5},
    "idle": {"reach": 0.3, "posture": 0.5, "cup": 0.4, "page": 0.0},
    "mixed": {"reach": 1.0, "posture": 0.8, "cup": 0.6, "page": 1.0},
}


@dataclass(frozen=True)
class SeatedPerson:
    """A person sitting at `position` (floor x, y), breathing, with minor activity.

    `activity` in 'typing' | 'reading' | 'idle' | 'mixed' sets how often minor motions
    happen (typing bursts, page turns, reaching, picking up a cup, shifting posture).
    `sit_down`/`stand_up` add 2 s of major motion at the start/end.
    """

    position: tuple[float, float]
    start_s: float = 0.0
    end_s: float | None = None
    activity: str = "typing"
    sit_down: bool = False
    stand_up: bool = False
    breathing_hz: float = 0.25
    facing_rad: float | None = None
    height_m: float = 1.75

    def build(self, ctx: BuildContext) -> SeatedModel:
        """Draw the event schedule once."""
        return SeatedModel(self, ctx)


@dataclass(frozen=True)
class _Event:
    kind: str
    t0: float
    dur: float
    vec: FloatArray  # main displacement vector (m)
    hand: int  # 0 left, 1 right


class SeatedModel:
    """Renderable seated person: chest, head, two hands, two forearms."""

    decimation = 32
    AMPS = np.array([0.12, 0.045, 0.03, 0.03, 0.035, 0.035])

    def __init__(self, spec: SeatedPerson, ctx: BuildContext) -> None:
        self.spec = spec
        rng = ctx.rng
        seat = np.array([*spec.position, 0.0])
        if spec.facing_rad is None:
            self.f = _toward(seat, ctx.device_center)
        else:
            self.f = np.array([np.cos(spec.facing_rad), np.sin(spec.facing_rad), 0.0])
        self.w = np.array([-self.f[1], self.f[0], 0.0])
        k = spec.height_m / 1.75
        f, w = self.f, self.w
        self.base = np.stack(
            [
                seat + 0.05 * f + 1.05 * k * _Z,
                seat + 0.02 * f + 1.32 * k * _Z,
                seat + 0.38 * f + 0.2 * w + 0.76 * _Z,
                seat + 0.38 * f - 0.2 * w + 0.76 * _Z,
                seat + 0.22 * f + 0.22 * w + 0.8 * _Z,
                seat + 0.22 * f - 0.22 * w + 0.8 * _Z,
            ]
        )
        self.end = spec.end_s if spec.end_s is not None else ctx.duration_s + 1e9
        self.span = (spec.start_s, self.end)
        self.breath = SmoothNoise.draw(rng, 0.005, 0.03, 6)
        self.sway = [SmoothNoise.draw(rng, 0.05, 0.4, 8) for _ in range(3)]
        self.typing = [SmoothNoise.draw(rng, 3.0, 9.0, 10) for _ in range(2)]
        self.events = self._schedule(rng, min(self.end, ctx.duration_s))

    def _schedule(self, rng: np.random.Generator, horizon: float) -> list[_Event]:
        sp = self.spec
        t_from = sp.start_s + (2.5 if sp.sit_down else 0.5)
        t_to = horizon - (2.5 if sp.stand_up else 0.0)
        events: list[_Event] = []
        f, w = self.f, self.w
        rates = _ACTIVITY_RATES.get(sp.activity, _ACTIVITY_RATES["mixed"])
        for kind, per_min in rates.items():
            if per_min <= 0 or t_to <= t_from:
                continue
            n = rng.poisson(per_min * (t_to - t_from) / 60.0)
            for t0 in np.sort(rng.uniform(t_from, t_to, n)):
                hand = int(rng.integers(2))
                side = 1.0 if hand == 0 else -1.0
                if kind == "reach":
                    vec = rng.uniform(0.25, 0.45) * f + side * rng.uniform(0, 0.2) * w
                    vec += rng.uniform(0.0, 0.1) * _Z
                    dur = rng.uniform(1.6, 3.0)
                elif kind == "cup":
                    vec = rng.uniform(0.2, 0.35) * f
                    dur = rng.uniform(3.0, 5.0)
                elif kind == "page":
                    vec = -side * rng.uniform(0.2, 0.3) * w + 0.08 * _Z
                    dur = rng.uniform(0.7, 1.2)
                else:  # posture shift: persistent offset of the upper body
                    vec = rng.normal(0, 0.04, 3) * np.array([1.0, 1.0, 0.5])
                    dur = rng.uniform(1.0, 2.0)
                events.append(_Event(kind, float(t0), float(dur), vec, hand))
        if sp.activity in ("typing", "mixed"):
            t = t_from + rng.exponential(5.0)
            while t < t_to:
                dur = float(rng.uniform(3.0, 20.0))
                events.append(_Event("typing", t, min(dur, t_to - t), np.zeros(3), 0))
                t += dur + rng.exponential(8.0)
        return sorted(events, key=lambda e: e.t0)

    def _offsets(self, t: FloatArray) -> FloatArray:
        """Displacements (6, T, 3) from breathing, sway, events, sitting down/standing up."""
        sp = self.spec
        off = np.zeros((6, t.size, 3))
        ph = 2 * np.pi * sp.breathing_hz * t + 1.5 * self.breath(t)
        chest = 0.0022 * np.sin(ph)
        off[0] += chest[:, None] * self.f
        off[1] += 0.3 * chest[:, None] * self.f
        sway = np.stack([0.002 * s(t) for s in self.sway], axis=-1)
        off[0] += sway
        off[1] += 1.5 * sway
        t_lo, t_hi = float(t.min()), float(t.max())
        for ev in self.events:
            if ev.t0 > t_hi:
                break
            x = (t - ev.t0) / ev.dur
            if ev.kind == "posture":
                prof = min_jerk(x)[:, None] * ev.vec
                off[:2] += prof
                off[2:] += 0.5 * prof
                continue
            if ev.t0 + ev.dur < t_lo:
                continue
            if ev.kind == "typing":
                env = min_jerk(x * ev.dur / 0.3) * min_jerk((1 - x) * ev.dur / 0.3)
                for hand in range(2):
                    tap = 0.006 * env * self.typing[hand](t)
                    off[2 + hand, :, 2] += tap
                    off[4 + hand, :, 2] += 0.3 * tap
                continue
            h = ev.hand
            if ev.kind == "cup":
                prof = bump(x)[:, None] * ev.vec + 0.3 * bump((x - 0.15) / 0.7)[:, None] * _Z
            else:
                prof = bump(x)[:, None] * ev.vec
            off[2 + h] += prof
            off[4 + h] += 0.6 * prof
            if ev.kind in ("reach", "cup"):
                off[0] += 0.25 * prof
                off[1] += 0.3 * prof
        # sitting down / standing up: the upper body travels 0.35 m down and forward
        lift = 0.35 * _Z - 0.15 * self.f
        if sp.sit_down:
            off += (1 - min_jerk((t - sp.start_s) / 2.0))[None, :, None] * lift
        if sp.stand_up:
            off += min_jerk((t - (self.end - 2.0)) / 2.0)[None, :, None] * lift
        return off

    def scatterers(self, t: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Six upper-body scatterers."""
        pos = self.base[:, None, :] + self._offsets(t)
        amp = self.AMPS[:, None] * fade(t, self.spec.start_s, self.end, 0.5)[None, :]
        return pos, amp

    def truth(self, t: FloatArray) -> ActorTruth:
        """'major' while sitting down / standing up, 'minor' during events, else 'still'."""
        sp = self.spec
        on = (t >= sp.start_s) & (t < self.end)
        motion = np.full(t.shape, STILL, dtype=np.int8)
        for ev in self.events:
            motion[(t >= ev.t0) & (t < ev.t0 + ev.dur)] = MINOR
        if sp.sit_down:
            motion[(t >= sp.start_s) & (t < sp.start_s + 2.0)] = MAJOR
        if sp.stand_up:
            motion[(t >= self.end - 2.0) & (t < self.end)] = MAJOR
        motion[~on] = 0
        pos = np.broadcast_to(self.base[0], (t.size, 3)).copy()
        return ActorTruth(person=on, motion=motion, position=pos)


@dataclass(frozen=True)
class HandGesture:
    """A hand drawing in the air 0.1-0.4 m in front of the device (UltraGSAttack-like).

    Hand and forearm scatterers; peak hand speed ≈ `max_speed_mps` (≤ ~1 m/s).
    """

    start_s: float = 0.5
    duration_s: float = 2.0
    distance_m: float = 0.25
    max_speed_mps: float = 0.8
    azimuth_rad: float = 0.0

    def build(self, ctx: BuildContext) -> HandModel:
        """Draw the stroke shape."""
        return HandModel(self, ctx)


class HandModel:
    """Renderable hand gesture."""

    decimation = 16

    def __init__(self, spec: HandGesture, ctx: BuildContext) -> None:
        self.spec = spec
        self.span = (spec.start_s, spec.start_s + spec.duration_s)
        self.center = ctx.device_center
        a = spec.azimuth_rad
        self.f = np.array([np.cos(a), np.sin(a), 0.0])
        self.w = np.array([-self.f[1], self.f[0], 0.0])
        self.strokes = [SmoothNoise.draw(ctx.rng, 0.6, 2.5, 8) for _ in range(3)]
        rms_speed = float(
            np.mean(
                [np.sqrt(np.sum((2 * np.pi * s.freqs * s.amps) ** 2) / 2) for s in self.strokes]
            )
        )
        self.scale = spec.max_speed_mps / (2.5 * max(rms_speed, 1e-9))

    def _hand(self, t: FloatArray) -> FloatArray:
        sp = self.spec
        x = (t - sp.start_s) / sp.duration_s
        env = min_jerk(x * sp.duration_s / 0.4) * min_jerk((1 - x) * sp.duration_s / 0.4)
        approach = 1.0 - env  # the hand comes in from 0.3 m further and lower
        d = self.strokes
        pos = (
            self.center
            + (sp.distance_m + 0.3 * approach)[:, None] * self.f
            + (self.scale * env * d[0](t))[:, None] * self.f
            + (self.scale * env * d[1](t))[:, None] * self.w
            + (self.scale * env * d[2](t) - 0.2 * approach)[:, None] * _Z
        )
        return np.asarray(pos, dtype=np.float64)

    def scatterers(self, t: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Hand and forearm."""
        hand = self._hand(t)
        fore = 0.6 * hand + 0.4 * (self.center + (self.spec.distance_m + 0.35) * self.f - 0.15 * _Z)
        amp = fade(t, self.spec.start_s, self.spec.start_s + self.spec.duration_s, 0.3)
        return np.stack([hand, fore]), np.stack([0.03 * amp, 0.04 * amp])

    def truth(self, t: FloatArray) -> ActorTruth:
        """A person is there (their hand): 'minor'."""
        sp = self.spec
        on = (t >= sp.start_s) & (t < sp.start_s + sp.duration_s)
        return ActorTruth(
            person=on, motion=np.where(on, MINOR, 0).astype(np.int8), position=self._hand(t)
        )


@dataclass(frozen=True)
class Pet:
    """A cat- or dog-sized walker: small, low, fast cadence. Labelled 'pet', not a person."""

    path: tuple[tuple[float, float], ...]
    speed_mps: float = 0.9
    start_s: float = 0.0
    kind: str = "cat"

    @property
    def end_s(self) -> float:
        """End of the walk."""
        return self.start_s + Polyline(self.path).total / self.speed_mps

    def build(self, ctx: BuildContext) -> PetModel:
        """Make the renderable model."""
        return PetModel(self)


class PetModel:
    """Renderable pet: body, head, four legs (diagonal trot)."""

    decimation = 16

    def __init__(self, spec: Pet) -> None:
        self.spec = spec
        self.span = (spec.start_s, spec.end_s)
        self.path = Polyline(spec.path)
        dog = spec.kind == "dog"
        self.h = 0.4 if dog else 0.22
        self.len = 0.35 if dog else 0.22
        self.amps = np.array([0.05, 0.02, 0.01, 0.01, 0.01, 0.01]) * (1.0 if dog else 0.6)
        self.stride = (0.45 if dog else 0.28) * (0.6 + 0.5 * spec.speed_mps)

    def scatterers(self, t: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Body, head and legs."""
        sp = self.spec
        s = (t - sp.start_s) * sp.speed_mps
        fl = self.path.at(s)
        u2 = self.path.heading(s, 0.15)
        u = np.stack([u2[..., 0], u2[..., 1], np.zeros_like(s)], axis=-1)
        w = np.stack([-u2[..., 1], u2[..., 0], np.zeros_like(s)], axis=-1)
        body = np.concatenate([fl, np.full((*s.shape, 1), self.h)], axis=-1)
        phase = 2 * np.pi * s / self.stride
        body[..., 2] += 0.01 * np.cos(2 * phase)
        parts = [body, body + 0.6 * self.len * u + 0.05 * _Z]
        for k, (fx, side) in enumerate(((0.5, 1), (0.5, -1), (-0.5, 1), (-0.5, -1))):
            diag = np.pi * ((k in (1, 2)) * 1.0)
            swing = 0.35 * np.sin(phase + diag)
            parts.append(
                body
                + (fx * self.len + 0.5 * self.h * np.sin(swing))[..., None] * u
                + side * 0.05 * w
                - 0.5 * self.h * _Z
            )
        weight = fade(t, sp.start_s, sp.end_s, 0.3)
        return np.stack(parts), self.amps[:, None] * weight[None, :]

    def truth(self, t: FloatArray) -> ActorTruth:
        """Pet flag and 'pet' label while visible."""
        on = (t >= self.spec.start_s) & (t < self.spec.end_s)
        return ActorTruth(pet=on, labels={"pet": on})


@dataclass(frozen=True)
class PointReflector:
    """A bare point reflector in straight-line motion (physics tests, calibration targets)."""

    position_m: tuple[float, float, float]
    velocity_mps: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rcs_m2: float = 0.1
    start_s: float = 0.0
    end_s: float = 1e12

    def build(self, ctx: BuildContext) -> PointModel:
        """Make the renderable model."""
        return PointModel(self)


class PointModel:
    """Renderable point reflector (no fade: tests want clean amplitudes)."""

    decimation = 4

    def __init__(self, spec: PointReflector) -> None:
        self.spec = spec
        self.span = (spec.start_s, spec.end_s)
        self.amp = float(np.sqrt(spec.rcs_m2 / (4 * np.pi)))

    def scatterers(self, t: FloatArray) -> tuple[FloatArray, FloatArray]:
        """One scatterer."""
        sp = self.spec
        pos = np.asarray(sp.position_m) + (t - sp.start_s)[:, None] * np.asarray(sp.velocity_mps)
        on = (t >= sp.start_s) & (t < sp.end_s)
        return pos[None], (self.amp * on)[None].astype(np.float64)

    def truth(self, t: FloatArray) -> ActorTruth:
        """Not a person; labelled 'reflector'."""
        return ActorTruth(labels={"reflector": (t >= self.spec.start_s) & (t < self.spec.end_s)})
