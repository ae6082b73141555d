"""The feasibility table from measure.py's JSON: per waveform, how many walkers a
translation threshold finds in their first 4 s within 4 m, and how many rooms without a
person it is crossed in.

    python table.py --walk walk.json miss_*.json --empty floor.json ceiling.json ...
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from translation import FRAME_S

THRESHOLDS_DB = (3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 14.0)


def _walk_scores(rows: list[dict[str, object]], config: str) -> list[float]:
    """Each walk-in's best score while its walker is in the first 4 s within 4 m."""
    out = []
    for row in rows:
        enter = row.get("enter_s")
        if not isinstance(enter, float):
            continue
        score = np.asarray(row[config]["full"])  # type: ignore[index]
        ends = (np.arange(len(score)) + 1) * FRAME_S
        window = (ends >= enter) & (ends <= enter + 4.0)
        out.append(float(score[window].max()) if window.any() else -99.0)
    return out


def main() -> None:
    """Print one markdown table per waveform."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--walk", type=Path, nargs="+", required=True)
    parser.add_argument("--empty", type=Path, nargs="+", required=True)
    args = parser.parse_args()
    walks = [r for p in args.walk for r in json.loads(p.read_text())]
    empty = [r for p in args.empty for r in json.loads(p.read_text())]
    kinds = sorted({r["kind"] for r in empty})
    configs = [k for k in walks[0] if isinstance(walks[0][k], dict)]
    for config in configs:
        walk = np.asarray(_walk_scores(walks, config))
        header = f"| {config} | walk-ins ({len(walk)}) | " + " | ".join(
            f"{k} ({sum(r['kind'] == k for r in empty)})" for k in kinds
        )
        print(header + " |")
        print("| --- " * (2 + len(kinds)) + "|")
        best = {
            k: np.asarray([max(r[config]["full"]) for r in empty if r["kind"] == k]) for k in kinds
        }
        for x in THRESHOLDS_DB:
            cells = [f"≥ {x:g} dB", str(int((walk >= x).sum()))]
            cells += [str(int((best[k] >= x).sum())) for k in kinds]
            print("| " + " | ".join(cells) + " |")
        for k in kinds:
            print(f"<!-- {config} {k}: highest {best[k].max():.1f} dB -->")
        print()


if __name__ == "__main__":
    main()
