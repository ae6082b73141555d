"""The development-suite rule (training/devrule.py) reads the bench's reports correctly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from training import devrule


def _walk(
    detected: int,
    scenes: int,
    *,
    missed: list[int],
    p95: float = 0.9,
    seated: float = 0.978,
    walk_alarms: int = 0,
    scale: float = 40.0,
) -> dict[str, Any]:
    return {
        "suite": {"scale": scale, "fan_rooms": 0, "seed_base": devrule.DEV_SEED_BASE},
        "scorers": {
            "pipeline": {
                "detection_in_range": {
                    "detected": detected,
                    "scenes": scenes,
                    "rate": detected / scenes,
                },
                "latency_in_range_p50_s": 0.1,
                "latency_in_range_p95_s": p95,
                "seated_continuity_default_hold": seated,
                "false_alarms_during_walk_scenes": walk_alarms,
                "scenes_to_look_at": [
                    {
                        "seed": s,
                        "group": "walk",
                        "kind": "walk",
                        "false_alarms": 0,
                        "missed_in_range": True,
                    }
                    for s in missed
                ]
                + [
                    {
                        "seed": 1,
                        "group": "walk",
                        "kind": "walk",
                        "false_alarms": 1,
                        "missed_in_range": False,
                    }
                ],
            }
        },
    }


def _empty(alarms: dict[str, int]) -> dict[str, Any]:
    scenes = [
        {
            "seed": 100 + i,
            "group": "empty",
            "kind": kind,
            "false_alarms": n,
            "missed_in_range": False,
        }
        for i, (kind, n) in enumerate(alarms.items())
        if n
    ]
    return {
        "suite": {"scale": 34.0, "fan_rooms": 400, "seed_base": devrule.DEV_SEED_BASE},
        "scorers": {
            "pipeline": {
                "false_alarms": {k: {"alarms": n, "hours": 1.0} for k, n in alarms.items()},
                "empty_hours": 15.2,
                "scenes_to_look_at": scenes,
            }
        },
    }


SHIPPED = (_walk(994, 1003, missed=[8100142, 8102126]), _empty({"curtain": 3, "pet": 56}))


def test_the_shipped_figures_pass_and_pets_are_not_counted() -> None:
    fig = devrule.figures(*SHIPPED)
    assert (fig.walk_ins, fig.walk_scenes, fig.alarms_without_pets) == (994, 1003, 3)
    assert fig.missed == (8100142, 8102126)
    assert fig.alarm_seeds == (100,)  # the curtain room, not the pet room
    assert devrule.passes(fig, devrule.Rule())


@pytest.mark.parametrize(
    ("walk", "empty", "failing"),
    [
        (_walk(993, 1003, missed=[]), SHIPPED[1], "walk-ins within 4 m"),
        (_walk(994, 1003, missed=[], p95=1.05), SHIPPED[1], "latency p95 within 4 m"),
        (_walk(994, 1003, missed=[], seated=0.97), SHIPPED[1], "seated continuity, default hold"),
        (
            _walk(994, 1003, missed=[], walk_alarms=1),
            SHIPPED[1],
            "walk scenes occupied before the walker",
        ),
        (
            SHIPPED[0],
            _empty({"curtain": 3, "floor_fan": 1}),
            "alarms in 15.2 h of empty rooms, pets apart",
        ),
    ],
)
def test_each_clause_can_fail_on_its_own(
    walk: dict[str, Any], empty: dict[str, Any], failing: str
) -> None:
    result = devrule.checks(devrule.figures(walk, empty), devrule.Rule())
    assert [what for what, _, _, ok in result if not ok] == [failing]


def test_a_report_of_another_suite_is_refused() -> None:
    with pytest.raises(devrule.SuiteMismatch, match="development suite"):
        devrule.figures(_walk(994, 1003, missed=[], scale=20.0), SHIPPED[1])
    benchmark = json.loads(json.dumps(SHIPPED[1]))
    benchmark["suite"]["seed_base"] = 7_000_000
    with pytest.raises(devrule.SuiteMismatch):
        devrule.figures(SHIPPED[0], benchmark)


def test_cli_compares_with_the_baseline_walker_by_walker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = {}
    candidate = (_walk(995, 1003, missed=[8100142, 8200002]), _empty({"curtain": 2, "pet": 80}))
    for name, (walk, empty) in {"c": candidate, "s": SHIPPED}.items():
        for part, report in (("walk", walk), ("empty", empty)):
            paths[name, part] = tmp_path / f"{name}_{part}.json"
            paths[name, part].write_text(json.dumps(report))
    code = devrule.main(
        [
            str(paths["c", "walk"]),
            str(paths["c", "empty"]),
            "--baseline",
            str(paths["s", "walk"]),
            str(paths["s", "empty"]),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "missed here, found by the baseline: [8200002]" in out
    assert "found here, missed by the baseline: [8102126]" in out
    assert "verdict: PASSES the rule" in out
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(SystemExit, match="cannot read"):
        devrule.main([str(tmp_path / "bad.json"), str(paths["c", "empty"])])
