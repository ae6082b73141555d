"""DET plot of `uspd bench` (docs/bench/det.png): false alarms per hour vs walk-in misses.

Two steps, because matplotlib is not a project dependency:
    .venv/bin/uspd bench --scale 3 --json > docs/bench/bench.json
    /tmp/figvenv/bin/python docs/bench/make_det.py      # any Python with matplotlib
Each curve is one scorer over its operating points (the model pipeline: the detector's
sensitivity option 0…1; the conventional detector: its threshold over the adaptive
floor, 3…20 dB). Zero false alarms cannot sit on a log axis: such points are drawn at
the suite's resolution (one alarm in all its empty hours) with a leftward arrow; zero
misses at 3e-3 with a downward one.
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

    report: dict[str, Any] = json.loads((HERE / "bench.json").read_text())
    fig, ax = plt.subplots(figsize=(6.4, 4.6), constrained_layout=True)
    resolution = None
    styles = {"pipeline": ("tab:blue", "o"), "conventional": ("tab:red", "s")}
    for name, figures in report["scorers"].items():
        hours = figures["empty_hours"]
        resolution = 1.0 / hours
        points = figures["det"]
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
    suite = report["suite"]
    ax.set_title(
        f"uspd bench, scale {suite['scale']:g}: {suite['scenes']} scenes, "
        f"{suite['audio_hours']:g} h at {suite['sample_rate'] // 1000} kHz × {suite['mics']} mics",
        fontsize=9,
    )
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
