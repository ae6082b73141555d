"""The rotation test: a fan's new Doppler energy is mirror-symmetric, a walker's is not."""

from __future__ import annotations

import numpy as np

from uspd.dsp.features import BINS_PER_SIGN, FRAME_HOP_S, N_BINS
from uspd.rotation import (
    BACKGROUND_EVERY,
    BACKGROUND_FROM_S,
    BACKGROUND_TO_S,
    ROTATION_BALANCE,
    NewEnergyBalance,
)
from uspd.scoring import load_default_scorer

FLOOR = -130.0


def quiet(rng: np.random.Generator) -> np.ndarray:
    """An empty room's motion plane: noise around the floor, dBc/Hz."""
    return FLOOR + rng.normal(0.0, 1.5, N_BINS)


def reach(frame: np.ndarray, receding: int, approaching: int, level: float) -> np.ndarray:
    """Energy from zero velocity out to `receding` / `approaching` bins on each side."""
    out = frame.copy()
    out[BINS_PER_SIGN - receding : BINS_PER_SIGN] = level
    out[BINS_PER_SIGN : BINS_PER_SIGN + approaching] = level
    return out


def feed(balance: NewEnergyBalance, frames: list[np.ndarray]) -> list[float]:
    return [balance.update(f) for f in frames]


def test_spin_up_is_rotation_like_and_a_walker_is_not() -> None:
    """A fan's blades spreading equally far both ways, louder on one side (a blade's
    specular flash), against a walker reaching far one way and a little the other."""
    rng = np.random.default_rng(1)
    room = [quiet(rng) for _ in range(80)]
    fan = NewEnergyBalance()
    feed(fan, room)
    spin = [reach(quiet(rng), 4 + k, 4 + k, FLOOR + 30) for k in range(20)]
    for k, frame in enumerate(spin):
        frame[BINS_PER_SIGN : BINS_PER_SIGN + 4 + k] += 3.0  # one side louder, not wider
    assert min(feed(fan, spin)) >= ROTATION_BALANCE
    walker = NewEnergyBalance()
    feed(walker, room)
    steps = [reach(quiet(rng), 2, 10 + k // 2, FLOOR + 30) for k in range(20)]
    assert max(feed(walker, steps)) < 0.5


def test_a_running_fan_is_background_for_someone_walking_in() -> None:
    """Once a fan has run for BACKGROUND_TO_S its energy is the background: a walker
    next to it is judged on what they add, which is one-sided."""
    rng = np.random.default_rng(2)
    balance = NewEnergyBalance()
    fan = [reach(quiet(rng), 20, 20, FLOOR + 25) for _ in range(80)]
    feed(balance, fan)
    walker = []
    for _ in range(10):
        frame = reach(quiet(rng), 20, 20, FLOOR + 25)
        frame[BINS_PER_SIGN + 5 : BINS_PER_SIGN + 25] = FLOOR + 45
        walker.append(frame)
    assert max(feed(balance, walker)) < 0.2


def test_background_window_and_start() -> None:
    """No history, no verdict. Energy that appears is new while the background (the
    median of the frames 3 s to 1 s before, taken every BACKGROUND_EVERY frames) is
    still the room without it, and adds nothing once most of that window holds it."""
    quiet_room = np.full(N_BINS, FLOOR)
    fan = reach(quiet_room, 10, 10, FLOOR + 30)
    balance = NewEnergyBalance()
    assert balance.update(fan) == 0.0
    balance = NewEnergyBalance()
    start = 80
    feed(balance, [quiet_room] * start)
    values = feed(balance, [fan] * 80)
    new_for = round(BACKGROUND_TO_S / FRAME_HOP_S)
    assert values[:new_for] == [1.0] * new_for
    # The window [a - 60, a - 20) (a: the latest multiple of BACKGROUND_EVERY) holds more
    # fan frames than quiet ones from a = start + 45 on: its median is the fan itself.
    window = round(BACKGROUND_FROM_S / FRAME_HOP_S) - new_for
    settled = new_for + window // 2 + BACKGROUND_EVERY
    assert values[settled:] == [0.0] * (80 - settled)
    assert all(v > 0.0 for v in values[:settled])


def test_chunking_does_not_matter() -> None:
    """Streaming state: the same frames give the same balances whoever feeds them."""
    rng = np.random.default_rng(4)
    frames = [reach(quiet(rng), int(k % 15), int(k % 9), FLOOR + 20) for k in range(150)]
    first, second = NewEnergyBalance(), NewEnergyBalance()
    assert feed(first, frames) == feed(second, frames[:70]) + feed(second, frames[70:])


def test_fan_spin_up_in_an_empty_room_is_ignored_by_the_pipeline() -> None:
    """A floor fan switched on in an empty room (a benchmark scene whose spin-up the
    shipped model calls major motion at 0.6-0.7 for a few frames): the rotation test
    marks those frames fan-like and the room stays empty."""
    from uspd.bench import BenchScene, _decide, _evidence, _switch_ons, calibrated
    from uspd.detector import REASON_ROTATING, DetectorOptions
    from uspd.sim.library import random_scenario

    scene = calibrated(random_scenario("floor_fan", 7001016, duration_s=45.0))
    (switch_on,) = _switch_ons(scene)
    bench_scene = BenchScene("empty", "floor_fan", scene)
    chain, parts, _, _ = _evidence(bench_scene, None)
    results = _decide(bench_scene, chain, parts, load_default_scorer(), DetectorOptions())
    assert not any(r.decision.occupied for r in results)
    major = DetectorOptions().major_threshold
    spin_up = [
        r
        for r in results
        if switch_on <= r.decision.t <= switch_on + 3.0
        and r.probabilities is not None
        and r.probabilities[1] >= major
    ]
    assert spin_up, "the model no longer calls this spin-up major: pick another scene"
    assert {r.decision.reason for r in spin_up} == {REASON_ROTATING}


def test_music_frames_are_never_fan_like() -> None:
    """Music's distortion sidebands are mirror-symmetric too: while music plays the
    test stands aside, whatever the balance."""
    from uspd.rotation import fan_like

    assert fan_like(ROTATION_BALANCE, music=False)
    assert not fan_like(ROTATION_BALANCE - 0.01, music=False)
    assert not fan_like(1.0, music=True)
