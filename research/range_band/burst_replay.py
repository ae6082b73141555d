"""The development suite replayed with on-demand range bursts (burst.py): what they find,
what they cost.

    .venv/bin/python research/range_band/burst_replay.py walk.json --scale 40 \
        --group walk --group seated --cache DIR --jobs 2
    .venv/bin/python research/range_band/burst_replay.py empty.json --scale 34 \
        --group empty --fan-rooms 400 --config lfm_40ms:0:4:10:2.5:fan --cache DIR
    .venv/bin/python research/range_band/burst_replay.py --table walk.json empty.json

Each scene is decided once by the shipped pipeline (model, rotation and burst tests), as
`uspd bench --dev` decides it; then the detector is replayed on those probabilities with
a trigger: when the room is empty and K of the last W frames asked for it, the tone
stops for a burst, the frames of the burst have no evidence, the WARMUP_S after it
cannot turn the room occupied, and a burst whose score reaches X sets it occupied when it
ends. Triggers: p(major) ≥ a threshold, or (`fan`) frames whose motion would have counted
but was ignored as fan-like. Nothing here is used by the engine.
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import sys
from collections import deque
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).parent))

from burst import BURST_S, BURSTS, BurstSweeps, SceneBursts

from uspd.bench import (
    DEV_SEED_BASE,
    HOLD_S,
    BenchScene,
    SceneOutcome,
    _available_t,
    _calibrated,
    _decide,
    _evidence,
    _ready_t,
    _score,
    build_suite,
)
from uspd.benchcache import SceneCache
from uspd.detector import REASON_ROTATING, DetectorOptions, OccupancyDetector
from uspd.pipeline import WARMUP_S
from uspd.scoring import load_default_scorer
from uspd.sim.truth import TruthFrame

MAJOR = np.array([0.0, 0.99, 0.01, 0.0], np.float32)
"""What a burst that found something feeds the detector: two frames of sure major motion."""


@dataclass(frozen=True)
class Trigger:
    """When to range: K of the last W frames of an empty room, then a burst; X: the score
    that sets the room occupied."""

    kind: str
    threshold: float
    k: int
    w: int
    x: float
    fan_like: bool

    @property
    def name(self) -> str:
        """As on the command line."""
        return f"{self.kind}:{self.threshold:g}:{self.k}:{self.w}:{self.x:g}" + (
            ":fan" if self.fan_like else ""
        )

    @classmethod
    def parse(cls, text: str) -> Trigger:
        """`kind:threshold:K:W:X[:fan]`."""
        kind, threshold, k, w, x, *fan = text.split(":")
        return cls(kind, float(threshold), int(k), int(w), float(x), fan == ["fan"])


@dataclass(frozen=True)
class Decided:
    """One scene as the shipped pipeline decided it (what a replay needs)."""

    scene: BenchScene
    truth: list[TruthFrame]
    t: npt.NDArray[np.float64]
    p: npt.NDArray[np.float32]  # NaN rows: no evidence
    rotating: npt.NDArray[np.bool_]
    burst: npt.NDArray[np.bool_]
    warming: npt.NDArray[np.bool_]
    ready_t: float
    available_t: npt.NDArray[np.float64]


def decide(scene: BenchScene, cache: SceneCache | None) -> Decided:
    """The scene calibrated, rendered (or read from `cache`) and decided as the bench does."""
    scene = replace(scene, scenario=_calibrated(scene.scenario, cache))
    chain, parts, truth, _ = _evidence(scene, cache)
    res = _decide(scene, chain, parts, load_default_scorer())
    nan = np.full(4, np.nan, np.float32)
    return Decided(
        scene=scene,
        truth=truth,
        t=np.array([r.decision.t for r in res]),
        p=np.array([nan if r.probabilities is None else r.probabilities for r in res]),
        rotating=np.array([r.rotating for r in res]),
        burst=np.array([r.burst for r in res]),
        warming=np.array([r.warming_up for r in res]),
        ready_t=_ready_t(res),
        available_t=_available_t(chain, len(res)),
    )


def replay(
    d: Decided, trigger: Trigger | None, score: Callable[[BurstSweeps, float], float]
) -> tuple[SceneOutcome, list[tuple[float, float]]]:
    """The detector on `d`'s probabilities with bursts (None: as shipped); the outcome and
    each burst's (start, score)."""
    det = OccupancyDetector(DetectorOptions(hold_time_s=HOLD_S))
    kinds = {b.name: b for b in BURSTS}
    out: list[tuple[float, bool]] = []
    asked: deque[bool] = deque(maxlen=trigger.w if trigger else 1)
    burst_at: float | None = None
    quiet_until = -np.inf
    bursts: list[tuple[float, float]] = []
    for i, t in enumerate(d.t.tolist()):
        if burst_at is not None and t < burst_at + BURST_S:
            out.append((t, det.hold(t, "ranging").occupied))
            continue
        if burst_at is not None and trigger is not None:
            s = score(kinds[trigger.kind], burst_at)
            bursts.append((burst_at, s))
            if s >= trigger.x:
                det.update(t, MAJOR)
                det.update(t, MAJOR)
            quiet_until = burst_at + BURST_S + WARMUP_S
            burst_at = None
        p = d.p[i]
        if np.isnan(p).any():
            out.append((t, det.hold(t, "no evidence").occupied))
            asked.clear()
            continue
        warm = bool(d.warming[i]) or t < quiet_until
        dec = det.update(
            t, p, warming_up=warm, rotating=bool(d.rotating[i]), burst=bool(d.burst[i])
        )
        out.append((t, dec.occupied))
        if trigger is None:
            continue
        wants = dec.reason == REASON_ROTATING if trigger.fan_like else p[1] >= trigger.threshold
        asked.append(not dec.occupied and not warm and bool(wants))
        if sum(asked) >= trigger.k:
            burst_at = t
            asked.clear()
    outcome = _score(d.scene, out, d.truth, d.ready_t, available_t=d.available_t)
    return outcome, bursts


def _row(outcome: SceneOutcome, bursts: list[tuple[float, float]]) -> dict[str, object]:
    return {
        "in_range": outcome.in_range,
        "detected": outcome.detected,
        "latency_s": outcome.latency_s,
        "false_alarm_t": list(outcome.false_alarm_t),
        "bursts": [(round(a, 2), round(s, 1)) for a, s in bursts],
    }


def scene_rows(
    scene: BenchScene, cache_dir: str | None, triggers: tuple[Trigger, ...]
) -> dict[str, object]:
    """One scene: as shipped, and with each trigger (range profiles made when first asked)."""
    d = decide(scene, SceneCache(Path(cache_dir)) if cache_dir else None)
    made: dict[str, SceneBursts] = {}

    @functools.cache
    def score(kind: BurstSweeps, start: float) -> float:
        if kind.name not in made:
            made[kind.name] = SceneBursts(d.scene.scenario, kind)
        return made[kind.name].score(start)

    row: dict[str, object] = {
        "seed": scene.scenario.seed,
        "kind": scene.kind,
        "group": scene.group,
        "duration_s": scene.scenario.duration_s,
        "shipped": _row(*replay(d, None, score)),
    }
    for trigger in triggers:
        row[trigger.name] = _row(*replay(d, trigger, score))
    return row


def table(rows: list[dict[str, Any]]) -> list[str]:
    """Markdown: per trigger, walk-ins within 4 m found, gained, lost, latency, bursts, and
    alarms in empty rooms (pets apart) against the shipped replay."""
    names = [k for k in rows[0] if isinstance(rows[0][k], dict) and k != "shipped"]
    walk = [r for r in rows if r["group"] != "empty" and r["shipped"]["in_range"]]
    empty = [r for r in rows if r["group"] == "empty"]
    hours = sum(float(r["duration_s"]) for r in empty if r["kind"] != "pet") / 3600
    lines = [
        "| trigger | walk-ins within 4 m | gained / lost | latency p50 / p95 | bursts | "
        f"alarms in {hours:.1f} h of empty rooms (pets apart) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]

    def alarms(key: str) -> int:
        return sum(len(r[key]["false_alarm_t"]) for r in empty if r["kind"] != "pet")

    for key in ["shipped", *names]:
        found = [r for r in walk if r[key]["detected"]]
        gained = sum(not r["shipped"]["detected"] for r in found)
        lost = sum(1 for r in walk if r["shipped"]["detected"] and not r[key]["detected"])
        lat = [r[key]["latency_s"] for r in found if r[key]["latency_s"] is not None]
        p50, p95 = (np.percentile(lat, q) if lat else np.nan for q in (50, 95))
        bursts = sum(len(r[key]["bursts"]) for r in rows)
        lines.append(
            f"| {key} | {len(found)}/{len(walk)} | +{gained} / −{lost} | {p50:.2f} / {p95:.2f} s "
            f"| {bursts} | {alarms(key) if empty else '–'} |"
        )
    return lines


DEFAULT_TRIGGERS = (
    "lfm_40ms:0.3:8:12:2.5",
    "lfm_40ms:0.2:10:16:2.5",
    "lfm_40ms:0:4:10:2.5:fan",
    "lfm_10ms_and_5ms_every_40ms:0.3:8:12:2.5",
    "lfm_10ms_and_5ms_every_40ms:0:4:10:2.5:fan",
)


def main() -> None:
    """Replay a development suite (JSON rows), or print the table of such files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, nargs="?")
    parser.add_argument("--table", type=Path, nargs="+")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--group", action="append", choices=("empty", "walk", "seated"))
    parser.add_argument("--fan-rooms", type=int, default=0)
    parser.add_argument("--config", action="append", help="kind:threshold:K:W:X[:fan]")
    parser.add_argument("--cache", type=str, default=None, help="uspd bench's scene cache")
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    if args.table:
        rows = [r for p in args.table for r in json.loads(p.read_text())]
        print("\n".join(table(rows)))
        return
    if args.out is None:
        parser.error("give an output file or --table")
    triggers = tuple(Trigger.parse(c) for c in (args.config or DEFAULT_TRIGGERS))
    suite = build_suite(
        args.scale,
        frozenset(args.group or ("walk", "seated")),
        seed_base=DEV_SEED_BASE,
        fan_rooms=args.fan_rooms,
    )
    work = functools.partial(scene_rows, cache_dir=args.cache, triggers=triggers)
    if args.jobs > 1:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(args.jobs, mp_context=context) as pool:
            rows = list(pool.map(work, suite, chunksize=4))
    else:
        rows = [work(scene) for scene in suite]
    args.out.write_text(json.dumps(rows))
    print("\n".join(table(rows)))


if __name__ == "__main__":
    main()
