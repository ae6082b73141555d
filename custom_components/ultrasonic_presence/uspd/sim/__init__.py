"""Acoustic scene simulator: rooms, people, fans, curtains, music, noise → mic samples.

Public API:
    Scenario, Room, DeviceSpec and the actors (WalkingPerson, SeatedPerson, HandGesture,
    Pet, PointReflector, FloorFan, CeilingFan, Curtain, Hvac, Music, Tone, Burst, Speech)
    SimulatedSource(scenario)  -- AudioSource + truth_until/truth_frames/device_response
    library.scenario(name, ...), library.random_scenario(kind, seed, ...)
"""

from .air import Curtain, Hvac
from .fans import CeilingFan, FloorFan
from .interference import Burst, Speech, Tone
from .music import Music
from .people import HandGesture, Pet, PointReflector, SeatedPerson, WalkingPerson
from .randomness import Switches
from .scenario import Scenario
from .scene import DeviceSpec, Room
from .source import SimulatedSource
from .truth import TruthFrame

__all__ = [
    "Burst",
    "CeilingFan",
    "Curtain",
    "DeviceSpec",
    "FloorFan",
    "HandGesture",
    "Hvac",
    "Music",
    "Pet",
    "PointReflector",
    "Room",
    "Scenario",
    "SeatedPerson",
    "SimulatedSource",
    "Speech",
    "Switches",
    "Tone",
    "TruthFrame",
    "WalkingPerson",
]
