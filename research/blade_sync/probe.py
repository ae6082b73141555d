"""Score blade-synchronous cancelling on development scenes (research, not shipped).

Each scene is rendered and demodulated by the shipped front end; the baseband goes
through the shipped features, model and detector three ways: as shipped ("raw"), with
the rotor's echo cancelled while one is tracked ("cancelled"), and the two views' occupancy
ORed ("or"). One JSON line per scene.

    python research/blade_sync/probe.py OUT.jsonl empty PART PARTS   # the dev empty rooms
    python research/blade_sync/probe.py OUT.jsonl walk PART PARTS    # dev walk-ins + seated
    python research/blade_sync/probe.py OUT.jsonl seeds KIND SEED... # chosen walk scenes

Run with the engine on the path (PYTHONPATH=custom_components/ultrasonic_presence) and
this folder too. ≈ 3–8 s a scene on one core.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from blade_sync import cancel, estimated_lag, normalized

from uspd.bench import (
    DEV_SEED_BASE,
    BenchScene,
    _available_t,
    _decide,
    _occupancy,
    _ready_t,
    _render,
    _score,
    build_suite,
    calibrated,
)
from uspd.benchcache import SceneCache
from uspd.dsp.chain import DspChain
from uspd.runner import BLOCK_S
from uspd.scoring import load_default_scorer
from uspd.sim.library import random_scenario

CACHE = "/work/cache/dev"
"""Only the calibrations are read from it (the scenes' carriers and levels)."""


def _outcome(o: Any) -> dict[str, Any]:
    return {
        "detected": o.detected,
        "in_range": o.in_range,
        "latency": o.latency_s,
        "false_alarm_t": list(o.false_alarm_t),
        "continuity": o.continuity,
        "clear_delay_s": o.clear_delay_s,
    }


def run_scene(scene: BenchScene, cache: SceneCache) -> dict[str, Any]:
    """The scene's outcomes raw, cancelled and ORed (cancelled = raw where never active)."""
    sc = cache.calibrated(scene.scenario) or calibrated(scene.scenario)
    scene = BenchScene(scene.group, scene.kind, sc)
    audio, truth = _render(scene)
    front = DspChain(sc.sample_rate, sc.carrier_hz, sc.n_mics).frontend
    baseband = front.process_planar(audio)
    fs, d = front.output_rate, front.decimation
    # Each baseband sample's time in the scene (the front end drops its filter's warm-up).
    t = ((np.arange(baseband.shape[1]) + front.latency_samples // d - 1) * d
         - (front.latency_samples - 1) / 2) / sc.sample_rate  # fmt: skip
    carrier_echo = normalized(baseband, fs)
    lag, active = estimated_lag(carrier_echo[1], fs, t, sc.carrier_hz)
    row: dict[str, Any] = {
        "seed": sc.seed,
        "kind": scene.kind,
        "group": scene.group,
        "active_s": round(float(active.mean()) * t.size / fs, 2),
    }
    views = {"raw": baseband}
    if active.any():
        views["cancelled"] = cancel(baseband, fs, t, lag, active, carrier_echo=carrier_echo)
    decided = {}
    for name, x in views.items():
        chain = DspChain(sc.sample_rate, sc.carrier_hz, sc.n_mics)
        hop = round(BLOCK_S * fs)
        parts = [
            chain.features.process_planar(x[:, s : s + hop]) for s in range(0, x.shape[1], hop)
        ]
        results = _decide(scene, chain, parts, load_default_scorer())
        decided[name] = (_occupancy(results), _ready_t(results), _available_t(chain, len(results)))
    decided.setdefault("cancelled", decided["raw"])
    (raw, ready, available), cancelled = decided["raw"], decided["cancelled"][0]
    n = min(len(raw), len(cancelled))
    ored = [(raw[i][0], raw[i][1] or cancelled[i][1]) for i in range(n)]
    for name, decisions in (("raw", raw), ("cancelled", cancelled), ("or", ored)):
        o = _score(scene, decisions, truth, ready, available_t=available[: len(decisions)])
        row[name] = _outcome(o)
    return row


def main(argv: list[str]) -> None:
    out, what = argv[0], argv[1]
    if what == "seeds":
        kind = argv[2]
        scenes = [
            BenchScene(
                "walk",
                kind,
                random_scenario(kind, int(s), duration_s=20.0, sample_rate=96000, n_mics=4),
            )
            for s in argv[3:]
        ]
    else:
        part, parts = int(argv[2]), int(argv[3])
        if what == "empty":
            suite = build_suite(34.0, frozenset({"empty"}), seed_base=DEV_SEED_BASE, fan_rooms=400)
        else:
            suite = build_suite(40.0, frozenset({"walk", "seated"}), seed_base=DEV_SEED_BASE)
        scenes = suite[part::parts]
    cache = SceneCache(CACHE)
    with Path(out).open("a") as f:
        for scene in scenes:
            start = time.time()
            row = run_scene(scene, cache)
            row["s"] = round(time.time() - start, 1)
            f.write(json.dumps(row) + "\n")
            f.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
