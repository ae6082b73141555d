"""The README-of-research figure: range-time motion maps, plain LFM against coupling-free.

Needs matplotlib (not a dependency of the project):
    python figure.py OUT.png KIND:SEED ...   (with uspd importable, e.g. PYTHONPATH)
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt

sys.path.insert(0, str(Path(__file__).parent))

from measure import dev_room, motion_maps
from range_profiles import range_frames
from translation import BIN_M, FRAME_S

from uspd.bench import calibrated

TITLES = {"mixed": "walker missed", "floor_fan": "floor fan on", "ceiling_fan": "ceiling fan on"}


def main() -> None:
    """Two rows (LFM, coupling-free) of motion maps, one column per room."""
    out, rooms = Path(sys.argv[1]), sys.argv[2:]
    fig, axes = plt.subplots(2, len(rooms), figsize=(2.3 * len(rooms), 7), sharey=True)
    fig.subplots_adjust(hspace=0.45)
    for j, room in enumerate(rooms):
        kind, seed = room.split(":")
        scenario = calibrated(dev_room(kind, int(seed)))
        for i, coupling in enumerate((1.0, 0.0)):
            frames = range_frames(scenario, coupling=coupling)
            motion = motion_maps(frames, int(seed), 0.04)["full"]
            ax = axes[i, j]
            image = ax.imshow(
                motion.T,
                origin="lower",
                aspect="auto",
                vmin=0,
                vmax=40,
                cmap="magma",
                extent=(0, motion.shape[0] * FRAME_S, 0, motion.shape[1] * BIN_M),
            )
            ax.set_ylim(0, 12)
            label = "plain LFM" if coupling else "coupling-free"
            ax.set_title(f"{TITLES.get(kind, kind)} {seed}\n{label}", fontsize=8)
            if i == 1:
                ax.set_xlabel("s")
        axes[0, 0].set_ylabel("path length, m")
        axes[1, 0].set_ylabel("path length, m")
    fig.colorbar(image, ax=axes, shrink=0.6, label="motion power, dB over noise")
    fig.savefig(out, dpi=60, bbox_inches="tight")
    # 64 colours: a quarter of the bytes, the same picture.
    from PIL import Image

    Image.open(out).convert("RGB").quantize(64).save(out, optimize=True)


if __name__ == "__main__":
    main()
