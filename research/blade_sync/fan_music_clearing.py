"""Walk in, sit a minute, leave — with a floor fan *and* music playing: does the room
clear with the rotor canceller (uspd/dsp/rotor.py) on as it does with it off?

The benchmark has fans and music in empty rooms and beside walk-ins, but not both while
someone leaves; Home Assistant's demo room has (fan 60–400 s, music 120–300 s), and there
the canceller kept the room occupied after its people had gone. Each scene is the
development suite's walk-sit-leave scene for that seed (seeds 8,200,000+) with a floor
fan and music drawn as `uspd bench`'s "clearing" group draws them (which it inspired;
the group uses other seeds), calibrated as set-up does, rendered once and decided both
ways. One JSON line per scene:

    python research/blade_sync/fan_music_clearing.py 8200000 8200001 ...
    python research/blade_sync/fan_music_clearing.py --no-fan 8200000 ...    # music only
    python research/blade_sync/fan_music_clearing.py --no-music 8200000 ...  # fan only

Run with the engine on the path (PYTHONPATH=custom_components/ultrasonic_presence).
≈ 20 s a scene on one core.
"""

from __future__ import annotations

import itertools
import json
import sys
from typing import Any

from uspd.bench import (
    BenchScene,
    _available_t,
    _decide,
    _features,
    _occupancy,
    _ready_t,
    _render,
    _score,
    calibrated,
    walk_sit_leave_with,
)
from uspd.scoring import load_default_scorer


def scene(seed: int, *, fan: bool = True, music: bool = True) -> BenchScene:
    """The development walk-sit-leave scene `seed`, with a running floor fan and music
    (either left out, for the controls), drawn as `uspd bench`'s clearing group draws
    them (bench.walk_sit_leave_with), calibrated."""
    if not (fan or music):
        raise ValueError("a fan, music or both")
    kind = "leave_fan_music" if fan and music else "leave_fan" if fan else "leave_music"
    return BenchScene("clearing", kind, calibrated(walk_sit_leave_with(kind, seed)))


def outcome(bench_scene: BenchScene) -> dict[str, Any]:
    """Seated continuity, clearing delay (None: never cleared), times turned on, whether
    occupied when the scene ends (hold + 15 s after leaving), and how long the canceller
    was cancelling, with the canceller on and off."""
    audio, truth = _render(bench_scene)
    row: dict[str, Any] = {"seed": None, "seconds": round(bench_scene.scenario.duration_s, 1)}
    for on in (True, False):
        chain, parts = _features(bench_scene, audio, cancel_rotor=on)
        results = _decide(bench_scene, chain, parts, load_default_scorer())
        occupancy = _occupancy(results)
        scored = _score(
            bench_scene,
            occupancy,
            truth,
            _ready_t(results),
            available_t=_available_t(chain, len(results)),
        )
        turned_on = sum(1 for a, b in itertools.pairwise(occupancy) if b[1] and not a[1])
        row["on" if on else "off"] = {
            "continuity": scored.continuity,
            "clear_delay_s": None
            if scored.clear_delay_s is None
            else round(scored.clear_delay_s, 2),
            "turned_on": turned_on,
            "occupied_at_end": bool(occupancy and occupancy[-1][1]),
            "cancelling_s": round(chain.rotor.active_samples / chain.rotor.rate, 1),
        }
    return row


def main() -> None:
    args = sys.argv[1:]
    fan, music = "--no-fan" not in args, "--no-music" not in args
    for seed in (int(a) for a in args if not a.startswith("--")):
        row = outcome(scene(seed, fan=fan, music=music))
        row["seed"] = seed
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
