"""`Scenario`: everything needed to render a scene, deterministic from `seed`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .air import Curtain, Hvac
from .fans import CeilingFan, FloorFan
from .interference import Burst, Speech, Tone
from .music import Music
from .people import HandGesture, Pet, PointReflector, SeatedPerson, WalkingPerson
from .scene import DeviceSpec, Room

Actor = (
    WalkingPerson
    | SeatedPerson
    | HandGesture
    | Pet
    | PointReflector
    | FloorFan
    | CeilingFan
    | Curtain
    | Hvac
    | Music
    | Tone
    | Burst
    | Speech
)

SAMPLE_RATES: tuple[int, ...] = (44100, 48000, 96000, 192000)


@dataclass(frozen=True)
class Scenario:
    """A scene: room, device, actors and the initial emission.

    `loop`: after `duration_s` the scene restarts (actors, music, events; noise keeps
    running) — for the endless Home Assistant demo room. Without it, `read()` past the
    end raises SourceError (a read that starts before the end is still served whole).
    """

    sample_rate: int = 48000
    carrier_hz: float = 20000.0
    level_dbfs: float = -10.0
    n_mics: int = 1
    duration_s: float = 10.0
    seed: int = 0
    room: Room = field(default_factory=Room)
    device: DeviceSpec = field(default_factory=DeviceSpec)
    actors: tuple[Actor, ...] = ()
    loop: bool = False
    name: str = "custom"

    def __post_init__(self) -> None:
        if not 1 <= self.n_mics <= 8:
            raise ValueError(f"n_mics must be 1..8, got {self.n_mics}")
        if self.sample_rate < 8000:
            raise ValueError(f"sample_rate too low: {self.sample_rate}")
        if self.duration_s <= 0:
            raise ValueError("duration_s must be positive")
        if not 0 < self.carrier_hz < self.sample_rate / 2:
            raise ValueError(f"carrier {self.carrier_hz} Hz outside (0, fs/2)")

    def replace(self, **changes: Any) -> Scenario:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def summary(self) -> dict[str, Any]:
        """JSON-ready description (for the truth file and diagnostics)."""
        out = dataclasses.asdict(self)
        out["actors"] = [{"type": type(a).__name__, **dataclasses.asdict(a)} for a in self.actors]
        return out
