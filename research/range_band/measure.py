"""Translation scores of development-suite rooms, for the range-band feasibility table.

    .venv/bin/python research/range_band/measure.py mixed 8102000 8102060 out.json
    .venv/bin/python research/range_band/measure.py floor_fan 8001000 8001200 out.json --switch-ons

Rooms as `uspd bench --dev` draws them (20 s walk-ins, 45 s empty rooms), calibrated as
the bench calibrates them; per room and per waveform (CONFIGS, JOINT): the score per
frame of the whole scene and of the scene without its walker, and for walk-ins when the
walker comes within 4 m. Nothing here is used by the engine.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).parent))

from range_profiles import RangeFrames, noise, range_frames
from translation import joint_translation_score, motion_map, translation_score

from uspd.bench import RANGE_M, WALK_KINDS, _calibrated, _switch_ons, _walker_positions
from uspd.benchcache import SceneCache
from uspd.sim.library import random_scenario
from uspd.sim.scenario import Scenario

CONFIGS: dict[str, tuple[float, float, float, bool, float, bool, float]] = {
    # name: (bandwidth Hz, sweep s, coupling, wrap, period s, phase code, Doppler bank m/s)
    "ideal": (8000.0, 0.04, 0.0, False, 0.04, False, 0.0),  # coupling-free: a bound
    "lfm_8k_40ms": (8000.0, 0.04, 1.0, True, 0.04, False, 0.0),
    "lfm_8k_20ms": (8000.0, 0.02, 1.0, True, 0.02, False, 0.0),
    "lfm_8k_10ms": (8000.0, 0.01, 1.0, True, 0.01, False, 0.0),
    "lfm_8k_10ms_every_40ms": (8000.0, 0.01, 1.0, True, 0.04, False, 0.0),
    "lfm_8k_5ms_every_20ms": (8000.0, 0.005, 1.0, True, 0.02, False, 0.0),
    "lfm_8k_5ms_every_40ms": (8000.0, 0.005, 1.0, True, 0.04, False, 0.0),
    "code_8k_2ms_every_20ms": (8000.0, 0.002, 0.0, True, 0.02, True, 0.0),
    "code_8k_5ms_every_20ms": (8000.0, 0.005, 0.0, True, 0.02, True, 0.0),
    "code_8k_10ms_every_40ms_bank": (8000.0, 0.01, 0.0, True, 0.04, True, 4.0),
    "code_8k_20ms_every_40ms_bank": (8000.0, 0.02, 0.0, True, 0.04, True, 4.0),
}
"""Waveforms measured: LFM sweeps, back to back or with silence between; shorter sweeps
couple range and Doppler less (fc·T/B seconds of path per m/s of path rate) and carry
less energy; a shorter period folds paths beyond c·period. Phase codes do not couple."""
JOINT: dict[str, tuple[tuple[float, float, float, float], ...]] = {
    # name: sweeps interleaved in one period, each (bandwidth Hz, sweep s, period s, offset s)
    "lfm_10ms_and_5ms_every_40ms": ((8000.0, 0.01, 0.04, 0.0), (8000.0, 0.005, 0.04, 0.02)),
    "lfm_10ms_and_2.5ms_every_40ms": ((8000.0, 0.01, 0.04, 0.0), (8000.0, 0.0025, 0.04, 0.02)),
    "lfm_5ms_and_2.5ms_every_40ms": ((8000.0, 0.005, 0.04, 0.0), (8000.0, 0.0025, 0.04, 0.02)),
}
"""Sweeps of one band but different lengths, alternating: the coupling puts a blade's
image fc·T/B·v further, so at different ranges for each length, and a walker's within a
bin for both; the joint score keeps what is new in both maps."""


def dev_room(kind: str, seed: int) -> Scenario:
    """A development-suite room as `uspd bench --dev` draws it, before calibration."""
    duration = 20.0 if kind in WALK_KINDS else 45.0
    return random_scenario(kind, seed, duration_s=duration, sample_rate=96000, n_mics=4)


def motion_maps(
    frames: RangeFrames, noise_seed: int, period: float
) -> dict[str, npt.NDArray[np.float64]]:
    """Motion maps of the whole scene and of the scene without its walker (same noise)."""
    shape = next(iter(frames.profiles.values())).shape
    total = np.sum(list(frames.profiles.values()), axis=0) + noise(shape, noise_seed)
    walkers = [p for key, p in frames.profiles.items() if key.startswith("Walking")]
    walker = np.sum(walkers, axis=0) if walkers else np.zeros(shape, np.complex128)
    return {
        "full": motion_map(total, period),
        "without_walker": motion_map(total - walker, period),
    }


def measure(
    kind: str,
    raw: Scenario,
    cache: SceneCache | None = None,
    configs: frozenset[str] = frozenset(),
    *,
    static: bool = False,
    share_db: float = -3.0,
) -> dict[str, object]:
    """One room's scores (see the module docstring); `raw` as `dev_room` draws it;
    `share_db`: the sweep's drive level against the tone's."""
    seed = raw.seed
    scenario = _calibrated(raw, cache)
    row: dict[str, object] = {"seed": seed, "kind": kind, "switch_ons": _switch_ons(scenario)}
    for name, (bandwidth, sweep_s, coupling, wrap, period, code, bank) in CONFIGS.items():
        if configs and name not in configs:
            continue
        frames = range_frames(
            scenario,
            bandwidth_hz=bandwidth,
            sweep_s=sweep_s,
            coupling=coupling,
            wrap=wrap,
            period_s=period,
            code=code,
            bank_mps=bank,
            static=static,
            share_db=share_db,
        )
        maps = motion_maps(frames, seed, period)
        row[name] = {
            key: translation_score(value, wrap=wrap).round(1).tolist()
            for key, value in maps.items()
        }
        row["fc_hz"] = frames.fc_hz
    for name, sweeps in JOINT.items():
        if configs and name not in configs:
            continue
        pairs: dict[str, list[npt.NDArray[np.float64]]] = {"full": [], "without_walker": []}
        for j, (bandwidth, sweep_s, period, offset) in enumerate(sweeps):
            frames = range_frames(
                scenario,
                bandwidth_hz=bandwidth,
                sweep_s=sweep_s,
                period_s=period,
                offset_s=offset,
                static=static,
                share_db=share_db,
            )
            for key, value in motion_maps(frames, seed * 8 + j, period).items():
                pairs[key].append(value)
        row[name] = {
            key: joint_translation_score(value, wrap=True).round(1).tolist()
            for key, value in pairs.items()
        }
    if kind in WALK_KINDS:
        times = np.arange(0.0, scenario.duration_s, 0.05)
        track = _walker_positions(scenario, tuple(times.tolist()))
        if track is not None:
            walking, distance = track
            near = walking & (distance <= RANGE_M)
            if near.any():
                row["enter_s"] = float(times[near][0])
    return row


def room_range_parser(description: str) -> argparse.ArgumentParser:
    """A command line over development rooms: a kind, seeds [first, stop), a cache."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("kind")
    parser.add_argument("first", type=int)
    parser.add_argument("stop", type=int)
    parser.add_argument("--cache", type=Path, help="uspd bench's calibration cache directory")
    return parser


def main() -> None:
    """Measure a seed range and write the rows as JSON."""
    parser = room_range_parser(__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--switch-ons", action="store_true", help="only rooms with a switch-on")
    parser.add_argument(
        "--static", action="store_true", help="add the direct path and the room's echoes"
    )
    parser.add_argument("--config", action="append", choices=sorted({*CONFIGS, *JOINT}), default=[])
    parser.add_argument(
        "--share-db", type=float, default=-3.0, help="the sweep's level against the tone's (dB)"
    )
    args = parser.parse_args()
    cache = SceneCache(args.cache) if args.cache else None
    rows = []
    for seed in range(args.first, args.stop):
        raw = dev_room(args.kind, seed)
        if args.switch_ons and not _switch_ons(raw):
            continue
        rows.append(
            measure(
                args.kind,
                raw,
                cache,
                frozenset(args.config),
                static=args.static,
                share_db=args.share_db,
            )
        )
        print(seed, flush=True)
    args.out.write_text(json.dumps(rows))


if __name__ == "__main__":
    main()
