"""DET plot of `uspd bench` (docs/bench/det.png): false alarms per hour vs walk-in misses.

Two steps, because matplotlib is not a project dependency:
    .venv/bin/uspd bench --only empty --scale 40 --json --jobs 2 \
        > docs/bench/bench_empty_scale40_canceller.json
    .venv/bin/uspd bench --only walk --only seated --scale 40 --json --jobs 2 \
        > docs/bench/bench_walk_scale40_canceller.json
    /tmp/figvenv/bin/python docs/bench/make_det.py      # any Python with matplotlib
The false alarms come from the long empty-room run (12 h without pets) and the misses
from the largest walk-in run (1,018 walk-ins within 4 m): the scale-3 suite's 0.9 h cannot
tell 0 alarms from a few. Without those two files, bench.json (`uspd bench --scale 3`)
gives both. Each curve is one scorer over its operating points (the model pipeline:
the detector's sensitivity option 0…1; the conventional detector: its threshold over
the adaptive floor, 3…20 dB). Zero false alarms cannot sit on a log axis: such points
are drawn at the run's resolution (one alarm in all its empty hours) with a leftward
arrow; zero misses at 3e-3 with a downward one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TARGET_FA_PER_H = 0.1
TARGET_MISS = 0.01
DEFAULTS = {"sensitivity": 0.5, "on_db": 6.0}


def plot() -> None:
    """Draw the DET curves from the stored JSON report."""
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    empty_file = HERE / "bench_empty_scale40_canceller.json"
    walk_file = HERE / "bench_walk_scale40_canceller.json"
    if empty_file.exists() and walk_file.exists():
        report: dict[str, Any] = json.loads(empty_file.read_text())
        walks: dict[str, Any] = json.loads(walk_file.read_text())
        title = (
            f"uspd bench: {report['scorers']['pipeline']['empty_hours']:g} h of empty rooms"
            f" (scale {report['suite']['scale']:g}), {walks['suite']['scenes']} walk scenes"
            f" (scale {walks['suite']['scale']:g})"
        )
    else:
        report = walks = json.loads((HERE / "bench.json").read_text())
        suite = report["suite"]
        title = (
            f"uspd bench, scale {suite['scale']:g}: {suite['scenes']} scenes, "
            f"{suite['audio_hours']:g} h at {suite['sample_rate'] // 1000} kHz × "
            f"{suite['mics']} mics"
        )
    fig, ax = plt.subplots(figsize=(6.4, 4.6), constrained_layout=True)
    resolution = None
    styles = {"pipeline": ("tab:blue", "o"), "conventional": ("tab:red", "s")}
    for name, figures in report["scorers"].items():
        hours = figures["empty_hours"]
        resolution = 1.0 / hours
        # Each setting's alarms from the empty-room run, its misses from the walk run.
        misses = {p["value"]: p["miss_rate"] for p in walks["scorers"][name]["det"]}
        points = [{**p, "miss_rate": misses[p["value"]]} for p in figures["det"]]
        xs = [max(p["false_alarms_per_hour"], resolution) for p in points]
        ys = [max(p["miss_rate"], 3e-3) for p in points]
        color, marker = styles.get(name, ("tab:gray", "^"))
        ax.plot(xs, ys, marker=marker, color=color, label=f"{name} ({figures['runtime']})")
        # Settings that land on the same point get one label ("0.3–0.6"), not a pile.
        labels: dict[tuple[float, float, bool], list[float]] = {}
        for p, x, y in zip(points, xs, ys, strict=True):
            arrow = {"arrowstyle": "->", "color": color}
            if p["false_alarms_per_hour"] == 0:
                ax.annotate("", (x * 0.6, y), (x, y), arrowprops=arrow)
            if p["miss_rate"] == 0:  # no walk-in missed: drawn at 3e-3, pointing down
                ax.annotate("", (x, y * 0.6), (x, y), arrowprops=arrow)
            if p["value"] == DEFAULTS[p["setting"]]:
                ax.plot([x], [y], marker=marker, markersize=13, mfc="none", color=color)
            zero = p["false_alarms_per_hour"] == 0  # drawn at the resolution, not on it
            labels.setdefault((x, y, zero), []).append(p["value"])
        for (x, y, zero), values in labels.items():
            text = f"{min(values):g}" + (f"–{max(values):g}" if len(values) > 1 else "")
            ax.annotate(text, (x, y), textcoords="offset points", xytext=(4, 4 if zero else -9),
                        fontsize=7, color=color)  # fmt: skip
    ax.axvline(TARGET_FA_PER_H, color="green", linestyle=":", linewidth=1)
    ax.axhline(TARGET_MISS, color="green", linestyle=":", linewidth=1)
    ax.fill_between([1e-3, TARGET_FA_PER_H], 1e-3, TARGET_MISS, color="green", alpha=0.15)
    ax.text(TARGET_FA_PER_H * 0.55, TARGET_MISS * 0.8, "target", color="green", fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("false alarms per hour (empty rooms: fans, curtains, HVAC, music)")
    ax.set_ylabel("walk-in miss rate (within 4 m, 4 s)")
    ax.set_title(title, fontsize=9)
    if resolution:
        ax.set_xlim(min(resolution * 0.4, TARGET_FA_PER_H * 0.5), None)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, title="circled: default setting", title_fontsize=7)
    fig.savefig(HERE / "det.png", dpi=90)
    from PIL import Image  # matplotlib's own dependency: 64-colour palette keeps it small

    img = Image.open(HERE / "det.png").convert("RGB")
    img.quantize(colors=64).save(HERE / "det.png", optimize=True)


if __name__ == "__main__":
    plot()
