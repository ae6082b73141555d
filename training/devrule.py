"""The rule a candidate model passes on the development suite before the benchmark runs.

Why: since 2026-12-06 every candidate model has been judged by one rule, declared before
its run (docs/bench/HISTORY.md, "ninth" and later): on the development suite, at the
default sensitivity, no worse than the shipped model on what the targets count. Only a
candidate that passes is run once on the benchmark, as a veto, so the benchmark is
never used to choose. Until now the rule was applied by scripts kept beside the
checkout, which went with each machine; as code it is applied the same way every time
and a verdict can be repeated from the run's two reports:

    uspd bench --dev --only walk --only seated --scale 40 --no-compute --json \\
        --model M --cache DIR > walk.json
    uspd bench --dev --only empty --scale 34 --fan-rooms 400 --no-compute --json \\
        --model M --cache DIR > empty.json
    python -m training.devrule walk.json empty.json [--baseline W0.json E0.json]

The defaults are the shipped model's own figures on that suite (sha256 5f747d7f…):
994 of 1,003 walk-ins within 4 m, 3 alarms in 15.2 h of empty rooms (pets apart).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from uspd.bench import DEV_SEED_BASE  # the rule means nothing on other seeds

WALK_SUITE = {"scale": 40.0, "fan_rooms": 0}
EMPTY_SUITE = {"scale": 34.0, "fan_rooms": 400}


@dataclass(frozen=True)
class Rule:
    """Thresholds, by default the shipped model's development figures."""

    min_walk_ins: int = 994
    """Walk-ins found within 4 m, of 1,003 (the shipped model's count)."""
    max_latency_p95_s: float = 1.0
    """The latency target (p95 within 4 m)."""
    min_seated: float = 0.973
    """Seated continuity at the default hold: the shipped 0.978 less 0.005."""
    max_walk_scene_alarms: int = 0
    """Walk scenes occupied before their walker came in."""
    max_alarms: int = 3
    """Alarms in the empty rooms, pets apart (the shipped model's count)."""


@dataclass(frozen=True)
class Figures:
    """What the rule looks at, read from the two reports of one model."""

    walk_ins: int
    walk_scenes: int
    latency_p50_s: float
    latency_p95_s: float
    seated: float
    walk_scene_alarms: int
    alarms: dict[str, int]
    """Empty-room alarms by interferer kind, pets included (reported apart)."""
    empty_hours: float
    missed: tuple[int, ...]
    """Seeds of the walk-ins within 4 m that were not found."""
    alarm_seeds: tuple[int, ...]
    """Seeds of the empty rooms, pets apart, that raised an alarm."""

    @property
    def alarms_without_pets(self) -> int:
        """The count the false-alarm target is about."""
        return sum(n for kind, n in self.alarms.items() if kind != "pet")


class SuiteMismatch(ValueError):
    """A report is not of the suite the rule was declared on."""


def _check_suite(report: dict[str, Any], want: dict[str, float], name: str) -> None:
    suite = report.get("suite", {})
    got = {key: suite.get(key) for key in want}
    if suite.get("seed_base") != DEV_SEED_BASE or got != want:
        raise SuiteMismatch(
            f"{name}: expected the development suite (seed base {DEV_SEED_BASE}) with "
            f"{want}, got seed base {suite.get('seed_base')} with {got}"
        )


def figures(walk: dict[str, Any], empty: dict[str, Any]) -> Figures:
    """The rule's figures from a model's walk/seated report and its empty-room report."""
    _check_suite(walk, WALK_SUITE, "walk report")
    _check_suite(empty, EMPTY_SUITE, "empty report")
    w = walk["scorers"]["pipeline"]
    e = empty["scorers"]["pipeline"]
    in_range = w["detection_in_range"]
    alarm_seeds = tuple(
        s["seed"]
        for s in e["scenes_to_look_at"]
        if s["group"] == "empty" and s["kind"] != "pet" and s["false_alarms"] > 0
    )
    return Figures(
        walk_ins=int(in_range["detected"]),
        walk_scenes=int(in_range["scenes"]),
        latency_p50_s=float(w["latency_in_range_p50_s"]),
        latency_p95_s=float(w["latency_in_range_p95_s"]),
        seated=float(w["seated_continuity_default_hold"]),
        walk_scene_alarms=int(w["false_alarms_during_walk_scenes"]),
        alarms={kind: int(v["alarms"]) for kind, v in e["false_alarms"].items()},
        empty_hours=float(e["empty_hours"]),
        missed=tuple(s["seed"] for s in w["scenes_to_look_at"] if s["missed_in_range"]),
        alarm_seeds=alarm_seeds,
    )


def checks(fig: Figures, rule: Rule) -> list[tuple[str, str, str, bool]]:
    """(what, figure, required, passed) for each clause of the rule."""
    p95_ok = not math.isnan(fig.latency_p95_s) and fig.latency_p95_s <= rule.max_latency_p95_s
    return [
        (
            "walk-ins within 4 m",
            f"{fig.walk_ins}/{fig.walk_scenes}",
            f">= {rule.min_walk_ins}",
            fig.walk_ins >= rule.min_walk_ins,
        ),
        (
            "latency p95 within 4 m",
            f"{fig.latency_p95_s:.2f} s",
            f"<= {rule.max_latency_p95_s:g} s",
            p95_ok,
        ),
        (
            "seated continuity, default hold",
            f"{fig.seated:.3f}",
            f">= {rule.min_seated:.3f}",
            fig.seated >= rule.min_seated,
        ),
        (
            "walk scenes occupied before the walker",
            str(fig.walk_scene_alarms),
            f"<= {rule.max_walk_scene_alarms}",
            fig.walk_scene_alarms <= rule.max_walk_scene_alarms,
        ),
        (
            f"alarms in {fig.empty_hours:.1f} h of empty rooms, pets apart",
            str(fig.alarms_without_pets),
            f"<= {rule.max_alarms}",
            fig.alarms_without_pets <= rule.max_alarms,
        ),
    ]


def passes(fig: Figures, rule: Rule) -> bool:
    """Every clause holds."""
    return all(ok for *_, ok in checks(fig, rule))


def _kinds(fig: Figures) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in sorted(fig.alarms.items()) if n) or "none"


def report_lines(fig: Figures, rule: Rule, baseline: Figures | None = None) -> list[str]:
    """The verdict as text, with the baseline's figures and the walkers that differ."""
    lines = []
    base = {w: v for w, v, _, _ in checks(baseline, rule)} if baseline is not None else {}
    for what, value, required, ok in checks(fig, rule):
        line = f"{'pass' if ok else 'FAIL'}  {what}: {value} (rule {required})"
        if what in base:
            line += f"; baseline {base[what]}"
        lines.append(line)
    lines.append(f"      latency p50 within 4 m: {fig.latency_p50_s:.2f} s")
    lines.append(f"      alarms by kind: {_kinds(fig)} (pets are reported, not counted)")
    lines.append(f"      missed within 4 m: {', '.join(map(str, fig.missed)) or 'none'}")
    if baseline is not None:
        lost = sorted(set(fig.missed) - set(baseline.missed))
        found = sorted(set(baseline.missed) - set(fig.missed))
        lines.append(f"      missed here, found by the baseline: {lost or 'none'}")
        lines.append(f"      found here, missed by the baseline: {found or 'none'}")
        lines.append(f"      baseline alarms by kind: {_kinds(baseline)}")
    lines.append("verdict: " + ("PASSES the rule" if passes(fig, rule) else "fails the rule"))
    return lines


def _load(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise SystemExit(f"devrule: cannot read {path}: {err}") from err
    return data


def main(argv: list[str] | None = None) -> int:
    """CLI: print the verdict; exit 0 if the candidate passes, 1 if not, 2 on bad input."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("walk", type=Path, help="the candidate's walk/seated report")
    parser.add_argument("empty", type=Path, help="the candidate's empty-room report")
    parser.add_argument(
        "--baseline", nargs=2, type=Path, metavar=("WALK", "EMPTY"),
        help="the shipped model's two reports, shown beside",
    )  # fmt: skip
    args = parser.parse_args(argv)
    rule = Rule()
    try:
        fig = figures(_load(args.walk), _load(args.empty))
        base = figures(*(_load(p) for p in args.baseline)) if args.baseline else None
    except (SuiteMismatch, KeyError) as err:
        print(f"devrule: {err}", file=sys.stderr)
        return 2
    print("\n".join(report_lines(fig, rule, base)))
    return 0 if passes(fig, rule) else 1


if __name__ == "__main__":
    raise SystemExit(main())
