"""Named scenarios (tests, figures, demo) and randomised generators (training corpora).

Every builder is a function of (seed, duration_s, sample_rate, n_mics, carrier_hz) and
returns a `Scenario`; `build_scenario(name, ...)` looks one up by name (KeyError if
unknown). Rooms are shoeboxes with the device on wall x=0 facing +x and the door on the
opposite wall.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from .air import Curtain, Hvac
from .fans import CeilingFan, FloorFan
from .interference import Burst, Speech, Tone
from .music import GENRES, Music
from .people import HandGesture, Pet, SeatedPerson, WalkingPerson
from .randomness import Switches, keyed_rng
from .scenario import Actor, Scenario
from .scene import DeviceSpec, Room

Builder = Callable[..., Scenario]


def default_carrier(sample_rate: int) -> float:
    """40 kHz where the rate allows it (≥ 96 kHz, Echo uses ≥ 32 kHz), else 20 kHz."""
    return 40000.0 if sample_rate >= 96000 else 20000.0


def _base(name: str, *args: object) -> Scenario:
    seed, duration_s, sample_rate, n_mics, carrier_hz = args
    assert isinstance(seed, int) and isinstance(sample_rate, int) and isinstance(n_mics, int)
    assert isinstance(duration_s, (int, float))
    assert carrier_hz is None or isinstance(carrier_hz, (int, float))
    return Scenario(
        sample_rate=sample_rate,
        carrier_hz=carrier_hz if carrier_hz is not None else default_carrier(sample_rate),
        n_mics=n_mics,
        duration_s=duration_s,
        seed=seed,
        room=Room(),
        device=DeviceSpec(speaker_cutoff_hz=55000.0),
        name=name,
    )


def _door(room: Room) -> tuple[float, float]:
    return (room.door_m[0] - 0.1, room.door_m[1])


def _walk_to_seat(
    room: Room, start_s: float, seat: tuple[float, float], speed: float = 1.2
) -> tuple[WalkingPerson, float]:
    door = _door(room)
    mid = (0.5 * (door[0] + seat[0]), 0.5 * (door[1] + seat[1]) - 0.4)
    walker = WalkingPerson(path=(door, mid, seat), speed_mps=speed, start_s=start_s, leaves=False)
    return walker, walker.end_s


def _leave(
    room: Room, start_s: float, seat: tuple[float, float], speed: float = 1.2
) -> WalkingPerson:
    door = _door(room)
    mid = (0.5 * (door[0] + seat[0]), 0.5 * (door[1] + seat[1]) + 0.3)
    return WalkingPerson(path=(seat, mid, door), speed_mps=speed, start_s=start_s)


def empty(seed: int = 0, duration_s: float = 10.0, sample_rate: int = 96000, n_mics: int = 4,
          carrier_hz: float | None = None) -> Scenario:  # fmt: skip
    """Nobody, nothing moving: the static clutter and noise floor."""
    return _base("empty", seed, duration_s, sample_rate, n_mics, carrier_hz)


def walk_in(seed: int = 0, duration_s: float = 20.0, sample_rate: int = 96000, n_mics: int = 4,
            carrier_hz: float | None = None) -> Scenario:  # fmt: skip
    """A person enters at 2 s, walks to a desk 2 m away, sits down and types."""
    sc = _base("walk_in", seed, duration_s, sample_rate, n_mics, carrier_hz)
    seat = (2.3, 1.4)
    walker, arrive = _walk_to_seat(sc.room, 2.0, seat)
    sitter = SeatedPerson(position=seat, start_s=arrive, activity="typing", sit_down=True)
    return sc.replace(actors=(walker, sitter))


def walk_past(seed: int = 0, duration_s: float = 15.0, sample_rate: int = 96000, n_mics: int = 4,
              carrier_hz: float | None = None) -> Scenario:  # fmt: skip
    """A person walks in, crosses the room 1.5 m in front of the device and leaves."""
    sc = _base("walk_past", seed, duration_s, sample_rate, n_mics, carrier_hz)
    door = _door(sc.room)
    path = (door, (1.8, 3.3), (1.8, 0.6), (3.5, 0.8), door)
    return sc.replace(actors=(WalkingPerson(path=path, speed_mps=1.3, start_s=1.0),))


def seated_typing(seed: int = 0, duration_s: float = 20.0, sample_rate: int = 96000,
                  n_mics: int = 4, carrier_hz: float | None = None) -> Scenario:  # fmt: skip
    """A person already seated 2 m away, typing, reaching, breathing (minor/still)."""
    sc = _base("seated_typing", seed, duration_s, sample_rate, n_mics, carrier_hz)
    return sc.replace(actors=(SeatedPerson(position=(2.3, 1.6), activity="typing"),))


def floor_fan(seed: int = 0, duration_s: float = 15.0, sample_rate: int = 96000, n_mics: int = 4,
              carrier_hz: float | None = None) -> Scenario:  # fmt: skip
    """An oscillating floor fan running in an empty room."""
    sc = _base("floor_fan", seed, duration_s, sample_rate, n_mics, carrier_hz)
    return sc.replace(actors=(FloorFan(position=(2.5, 3.2), rev_per_s=15.0),))


def ceiling_fan(seed: int = 0, duration_s: float = 15.0, sample_rate: int = 96000,
                n_mics: int = 4, carrier_hz: float | None = None) -> Scenario:  # fmt: skip
    """A ceiling fan switched on at 1 s (spins up over several seconds), empty room."""
    sc = _base("ceiling_fan", seed, duration_s, sample_rate, n_mics, carrier_hz)
    fan = CeilingFan(position=(2.5, 2.0), rpm=160.0, switches=Switches((1.0,)))
    return sc.replace(actors=(fan,))


def curtain_hvac(seed: int = 0, duration_s: float = 20.0, sample_rate: int = 96000,
                 n_mics: int = 4, carrier_hz: float | None = None) -> Scenario:  # fmt: skip
    """Curtain in gusts from an open window; HVAC airflow switches on at 3 s."""
    sc = _base("curtain_hvac", seed, duration_s, sample_rate, n_mics, carrier_hz)
    actors: tuple[Actor, ...] = (
        Curtain(wall="y1", center_m=2.5, gusts_per_min=6.0),
        Hvac(switches=Switches((3.0,)), strength=1.5),
    )
    return sc.replace(actors=actors)


def music_only(seed: int = 0, duration_s: float = 15.0, sample_rate: int = 96000,
               n_mics: int = 4, carrier_hz: float | None = None) -> Scenario:  # fmt: skip
    """Bass-heavy music from the device in an empty room (carrier AM/FM sidebands)."""
    sc = _base("music_only", seed, duration_s, sample_rate, n_mics, carrier_hz)
    return sc.replace(actors=(Music(genre="edm", level_dbfs=-10.0, excursion_mm=0.8),))


def music_walk_in(seed: int = 0, duration_s: float = 20.0, sample_rate: int = 96000,
                  n_mics: int = 4, carrier_hz: float | None = None) -> Scenario:  # fmt: skip
    """Music plays while a person walks in and sits down."""
    sc = walk_in(seed, duration_s, sample_rate, n_mics, carrier_hz)
    music = Music(genre="edm", level_dbfs=-10.0, excursion_mm=0.8)
    return sc.replace(name="music_walk_in", actors=(*sc.actors, music))


def fan_walk_in(seed: int = 0, duration_s: float = 20.0, sample_rate: int = 96000,
                n_mics: int = 4, carrier_hz: float | None = None) -> Scenario:  # fmt: skip
    """The Echo article's hard case: a floor fan runs while a person walks in and sits."""
    sc = walk_in(seed, duration_s, sample_rate, n_mics, carrier_hz)
    fan = FloorFan(position=(2.5, 3.2), rev_per_s=15.0)
    return sc.replace(name="fan_walk_in", actors=(*sc.actors, fan))


def pet(seed: int = 0, duration_s: float = 15.0, sample_rate: int = 96000, n_mics: int = 4,
        carrier_hz: float | None = None) -> Scenario:  # fmt: skip
    """A cat wanders in, past the device and out; nobody is present."""
    sc = _base("pet", seed, duration_s, sample_rate, n_mics, carrier_hz)
    door = _door(sc.room)
    path = (door, (2.0, 2.8), (1.2, 1.5), (2.5, 0.8), door)
    return sc.replace(actors=(Pet(path=path, speed_mps=0.9, start_s=1.0, kind="cat"),))


def hand_gesture(seed: int = 0, duration_s: float = 3.0, sample_rate: int = 44100,
                 n_mics: int = 1, carrier_hz: float | None = 19000.0) -> Scenario:  # fmt: skip
    """A hand drawing in the air 0.25 m in front of a tablet (UltraGSAttack-like)."""
    rng = keyed_rng(seed, 0x4A)
    sc = _base("hand_gesture", seed, duration_s, sample_rate, n_mics, carrier_hz)
    hand = HandGesture(
        start_s=0.3,
        duration_s=max(0.5, duration_s - 0.6),
        distance_m=float(rng.uniform(0.15, 0.35)),
        max_speed_mps=float(rng.uniform(0.5, 1.0)),
        azimuth_rad=float(rng.uniform(-0.4, 0.4)),
    )
    # A tablet, not an Echo: speaker close to the mic (strong coupling), a weaker 1 m
    # echo reference and a noisy phone mic. Calibrated against the 60 UltraGSAttack
    # recordings (tests/engine/test_sim_realdata.py): Doppler-band energy re carrier and
    # spectral spread of the hand echoes match them (the defaults gave +8 dB).
    tablet = replace(
        sc.device, speaker_cutoff_hz=30000.0, direct_db=-14.0, echo_ref_db=-32.0,
        mic_noise_dbfs_hz=-101.0, adc_bits=16,
    )  # fmt: skip
    return sc.replace(actors=(hand,), device=tablet)


def demo_room(seed: int = 0, duration_s: float = 600.0, sample_rate: int = 96000,
              n_mics: int = 4, carrier_hz: float | None = None) -> Scenario:  # fmt: skip
    """A scripted 10-minute day that loops forever (Home Assistant demo room).

    0-20 s empty; a person walks in and works at the desk; the floor fan runs
    60-400 s; music 120-300 s; the person leaves at ≈200 s; someone walks past at
    240 s; the cat visits at 320 s; a second person reads 365-540 s (keys jingle on
    arrival, speech 380-450 s); empty again from ≈550 s. Starts and ends empty, so the
    loop is seamless.
    """
    sc = _base("demo_room", seed, 600.0, sample_rate, n_mics, carrier_hz)
    room = sc.room
    scale = duration_s / 600.0 if duration_s < 600.0 else 1.0

    def at(t: float) -> float:
        return t * scale

    desk, chair = (2.3, 1.4), (3.0, 2.6)
    w1, arrive1 = _walk_to_seat(room, at(20.0), desk)
    leave1 = max(at(200.0), arrive1 + 5.0)
    w2, arrive2 = _walk_to_seat(room, at(365.0), chair, speed=1.0)
    leave2 = max(at(540.0), arrive2 + 5.0)
    door = _door(room)
    actors: tuple[Actor, ...] = (
        w1,
        SeatedPerson(
            desk, start_s=arrive1, end_s=leave1, activity="typing", sit_down=True, stand_up=True
        ),
        _leave(room, leave1, desk),
        WalkingPerson(path=(door, (1.8, 3.3), (1.8, 0.7), door), start_s=at(240.0)),
        Pet(path=(door, (2.0, 2.5), (1.0, 1.2), door), start_s=at(320.0)),
        w2,
        SeatedPerson(
            chair, start_s=arrive2, end_s=leave2, activity="reading", sit_down=True, stand_up=True
        ),
        _leave(room, leave2, chair, speed=1.0),
        FloorFan(position=(3.6, 3.3), switches=Switches((at(60.0), at(400.0)))),
        Music(start_s=at(120.0), end_s=at(300.0), genre="pop", level_dbfs=-14.0),
        Burst("door", (at(19.0), at(364.0)), -25.0),
        Burst("jingle", (at(366.0),), -35.0),
        Speech(((at(380.0), at(450.0)),), -25.0),
        Tone(freq_hz=sc.carrier_hz + 900.0, level_dbfs=-95.0, on_s=20.0, off_s=40.0),
    )
    return sc.replace(actors=actors, loop=True, duration_s=600.0 * scale)


SCENARIOS: dict[str, Builder] = {
    "empty": empty,
    "walk_in": walk_in,
    "walk_past": walk_past,
    "seated_typing": seated_typing,
    "floor_fan": floor_fan,
    "ceiling_fan": ceiling_fan,
    "curtain_hvac": curtain_hvac,
    "music_only": music_only,
    "music_walk_in": music_walk_in,
    "fan_walk_in": fan_walk_in,
    "pet": pet,
    "hand_gesture": hand_gesture,
    "demo_room": demo_room,
}


def build_scenario(
    name: str,
    *,
    seed: int = 0,
    duration_s: float | None = None,
    sample_rate: int = 96000,
    n_mics: int = 4,
    carrier_hz: float | None = None,
) -> Scenario:
    """The named scenario (KeyError with the list of names if unknown)."""
    if name not in SCENARIOS:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    kwargs: dict[str, object] = {"seed": seed, "sample_rate": sample_rate, "n_mics": n_mics}
    if duration_s is not None:
        kwargs["duration_s"] = duration_s
    if carrier_hz is not None:
        kwargs["carrier_hz"] = carrier_hz
    return SCENARIOS[name](**kwargs)


# ---------------------------------------------------------------------- randomised
RANDOM_KINDS: tuple[str, ...] = (
    "empty", "walk", "walk_past", "seated", "hand", "floor_fan", "ceiling_fan", "curtain",
    "hvac", "music", "music_walk", "pet", "mixed",
)  # fmt: skip


def _random_room(rng: np.random.Generator) -> Room:
    size = (rng.uniform(3.0, 7.0), rng.uniform(3.0, 6.5), rng.uniform(2.4, 3.0))
    walls = rng.uniform(0.3, 0.85, 4)
    return Room(
        size_m=size,
        reflection=(*walls, rng.uniform(0.2, 0.7), rng.uniform(0.5, 0.85)),
        temperature_c=rng.uniform(17.0, 28.0),
        humidity_pct=rng.uniform(25.0, 70.0),
        door_m=(size[0], rng.uniform(0.6, size[1] - 0.6)),
    )


def _random_device(rng: np.random.Generator, room: Room) -> DeviceSpec:
    return DeviceSpec(
        position_m=(
            rng.uniform(0.15, 0.6),
            rng.uniform(0.5, room.size_m[1] - 0.5),
            rng.uniform(0.5, 1.5),
        ),
        facing_rad=rng.uniform(-0.5, 0.5),
        mic_radius_m=rng.uniform(0.02, 0.05),
        hw_seed=int(rng.integers(2**31)),
        direct_db=rng.uniform(-27.0, -13.0),
        echo_ref_db=rng.uniform(-34.0, -26.0),
        mic_mismatch_db=rng.uniform(0.3, 2.0),
        mic_phase_deg=rng.uniform(2.0, 15.0),
        mic_noise_dbfs_hz=rng.uniform(-142.0, -128.0),
        adc_bits=int(rng.choice([16, 24])),
    )


def _spot(rng: np.random.Generator, room: Room, max_m: float = 6.0) -> tuple[float, float]:
    """A floor point in the room no farther than max_m from the device wall."""
    x = rng.uniform(0.8, min(room.size_m[0] - 0.4, max_m))
    return (x, rng.uniform(0.4, room.size_m[1] - 0.4))


def random_spot(rng: np.random.Generator, room: Room, max_m: float = 6.0) -> tuple[float, float]:
    """A floor point drawn as the random generator draws its people and fans (for scenes
    built on top of its rooms, e.g. uspd.bench's clearing scenes)."""
    return _spot(rng, room, max_m)


def _walker(rng: np.random.Generator, room: Room, start: float, leaves: bool) -> WalkingPerson:
    door = _door(room)
    pts = [door] + [_spot(rng, room) for _ in range(int(rng.integers(1, 4)))]
    if leaves:
        pts.append(door)
    return WalkingPerson(
        path=tuple(pts),
        speed_mps=float(rng.uniform(0.5, 1.6)),
        start_s=start,
        height_m=float(rng.uniform(1.5, 1.95)),
        leaves=leaves,
    )


def random_scenario(
    kind: str,
    seed: int,
    *,
    duration_s: float = 10.0,
    sample_rate: int = 96000,
    n_mics: int = 4,
    carrier_hz: float | None = None,
) -> Scenario:
    """A random scene of `kind` (one of RANDOM_KINDS) for training corpora.

    Rooms 3-7 m, distances up to ~6 m, walking 0.5-1.6 m/s, fan speeds, music genres,
    levels and excursions, devices (responses, levels, noise) all drawn from `seed`;
    occasional tones, jingles, door slams and speech are added to any kind.
    """
    if kind not in RANDOM_KINDS:
        raise KeyError(f"unknown kind {kind!r}; known: {', '.join(RANDOM_KINDS)}")
    rng = keyed_rng(seed, 0x5EED, RANDOM_KINDS.index(kind))
    room = _random_room(rng)
    device = _random_device(rng, room)
    if carrier_hz is None:
        carrier_hz = float(
            rng.uniform(30000, 45000) if sample_rate >= 96000 else rng.uniform(18000, 21000)
        )
    actors: list[Actor] = []
    t0 = float(rng.uniform(0.0, 0.5 * duration_s))
    if kind in ("walk", "music_walk", "mixed"):
        actors.append(_walker(rng, room, t0, leaves=bool(rng.uniform() < 0.5)))
    if kind == "walk_past":
        actors.append(_walker(rng, room, t0, leaves=True))
    if kind in ("seated", "mixed"):
        actors.append(
            SeatedPerson(
                position=_spot(rng, room, 4.5),
                activity=str(rng.choice(["typing", "reading", "idle", "mixed"])),
                breathing_hz=float(rng.uniform(0.18, 0.35)),
            )
        )
    if kind == "hand":
        actors.append(
            HandGesture(
                start_s=t0,
                duration_s=float(rng.uniform(1.0, 4.0)),
                distance_m=float(rng.uniform(0.1, 0.4)),
                max_speed_mps=float(rng.uniform(0.3, 1.0)),
                azimuth_rad=float(rng.uniform(-0.6, 0.6)),
            )
        )
    if kind in ("floor_fan", "mixed"):
        sw = Switches((t0,)) if rng.uniform() < 0.5 else Switches(initial=True)
        actors.append(
            FloorFan(
                position=_spot(rng, room),
                rev_per_s=float(rng.uniform(8.0, 22.0)),
                radius_m=float(rng.uniform(0.12, 0.22)),
                blades=int(rng.integers(3, 6)),
                oscillate_deg=float(rng.choice([0.0, 60.0, 90.0])),
                switches=sw,
            )
        )
    if kind == "ceiling_fan":
        sw = Switches((t0,)) if rng.uniform() < 0.5 else Switches(initial=True)
        actors.append(
            CeilingFan(
                position=(room.size_m[0] / 2, room.size_m[1] / 2),
                rpm=float(rng.uniform(90, 200)),
                blades=int(rng.integers(3, 6)),
                switches=sw,
            )
        )
    if kind == "curtain":
        wall = str(rng.choice(["y0", "y1", "x1"]))
        actors.append(Curtain(wall, float(rng.uniform(1.0, 3.0)), 1.4, float(rng.uniform(2, 10))))
    if kind == "hvac":
        actors.append(Hvac(switches=Switches((t0,)), strength=float(rng.uniform(0.5, 3.0))))
    if kind in ("music", "music_walk") or (kind == "mixed" and rng.uniform() < 0.5):
        actors.append(
            Music(
                genre=str(rng.choice([*GENRES])),
                level_dbfs=float(rng.uniform(-30.0, -6.0)),
                excursion_mm=float(rng.uniform(0.1, 1.5)),
                am_depth=float(rng.uniform(0.02, 0.2)),
            )
        )
    if kind == "pet":
        door = _door(room)
        actors.append(
            Pet(
                path=(door, _spot(rng, room), _spot(rng, room), door),
                speed_mps=float(rng.uniform(0.5, 1.5)),
                start_s=t0,
                kind=str(rng.choice(["cat", "dog"])),
            )
        )
    if rng.uniform() < 0.3:
        actors.append(
            Tone(
                freq_hz=carrier_hz + float(rng.uniform(-3000, 3000)),
                level_dbfs=float(rng.uniform(-110, -70)),
                drift_hz=float(rng.uniform(0, 100)),
                on_s=float(rng.uniform(0.5, 10)),
                off_s=float(rng.choice([0.0, rng.uniform(0.5, 10)])),
            )
        )
    if rng.uniform() < 0.15:
        when = (float(rng.uniform(0, duration_s)),)
        actors.append(
            Burst(str(rng.choice(["jingle", "door"])), when, float(rng.uniform(-45, -20)))
        )
    if rng.uniform() < 0.2:
        actors.append(Speech(((0.0, duration_s),), float(rng.uniform(-40, -15))))
    return Scenario(
        sample_rate=sample_rate,
        carrier_hz=carrier_hz,
        level_dbfs=float(rng.uniform(-30.0, -6.0)),
        n_mics=n_mics,
        duration_s=duration_s,
        seed=seed,
        room=room,
        device=device,
        actors=tuple(actors),
        name=f"random_{kind}",
    )
