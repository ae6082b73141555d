"""Doppler spectrograms of the simulator's named scenarios (docs/sim/spectrograms.png).

Two steps, because matplotlib is not a project dependency:
    .venv/bin/python docs/sim/make_figure.py compute     # → docs/sim/spectrograms.npz
    /tmp/figvenv/bin/python docs/sim/make_figure.py plot # any Python with matplotlib
96 kHz, 40 kHz carrier, mic 0 of a 4-mic array; ±1.5 kHz around the carrier, dB re
the carrier (static clutter left in, as in the Echo article's figures).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PANELS = (
    ("walk_in", 14.0, "walk-in (enters at 2 s, sits down at 4.7 s)"),
    ("seated_typing", 14.0, "seated: typing, reaching, breathing"),
    ("floor_fan", 14.0, "oscillating floor fan"),
    ("ceiling_fan", 14.0, "ceiling fan switched on at 1 s"),
    ("music_only", 14.0, "music only (bass AM/FM sidebands)"),
    ("music_walk_in", 14.0, "music + walk-in"),
)


def compute() -> None:
    """Render the scenarios and store their baseband spectrograms."""
    from scipy.signal import resample_poly, stft

    from uspd.sim import SimulatedSource
    from uspd.sim.library import build_scenario

    fs, f0, out = 96000, 40000.0, {}
    for name, dur, _ in PANELS:
        sc = build_scenario(name, seed=1, duration_s=dur, sample_rate=fs, n_mics=4, carrier_hz=f0)
        x = SimulatedSource(sc).read(int(dur * fs))[:, 0].astype(np.float64)
        bb = x * np.exp(-2j * np.pi * f0 * np.arange(x.size) / fs)
        bb = resample_poly(bb, 1, 24)  # 4 kHz complex baseband
        f, t, z = stft(bb, 4000, nperseg=400, noverlap=200, return_onesided=False)
        p = np.abs(np.fft.fftshift(z, axes=0)) ** 2
        f = np.fft.fftshift(f)
        keep = np.abs(f) <= 1500
        ref = p[np.argmin(np.abs(f))].max()
        out[name] = 10 * np.log10(p[keep] / ref + 1e-20).astype(np.float32)
        out[name + "_f"], out[name + "_t"] = f[keep], t
        print(name, "done")
    np.savez_compressed(HERE / "spectrograms.npz", **out)


def plot() -> None:
    """Draw the 2×3 figure from the stored spectrograms."""
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    data = np.load(HERE / "spectrograms.npz")
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.2), sharey=True, constrained_layout=True)
    image = None
    for ax, (name, _dur, title) in zip(axes.flat, PANELS, strict=True):
        image = ax.pcolormesh(data[name + "_t"], data[name + "_f"], data[name], vmin=-110,
                              vmax=-20, cmap="magma", shading="auto")  # fmt: skip
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("time (s)")
    for ax in axes[:, 0]:
        ax.set_ylabel("offset from 40 kHz carrier (Hz)")
    assert image is not None
    fig.colorbar(image, ax=axes, label="dB re carrier", shrink=0.8)
    fig.suptitle("Simulated Doppler spectrograms, 96 kHz, 40 kHz carrier, mic 0", fontsize=10)
    fig.savefig(HERE / "spectrograms.png", dpi=60)
    from PIL import Image  # matplotlib's own dependency: 64-colour palette keeps it small

    img = Image.open(HERE / "spectrograms.png").convert("RGB")
    img.quantize(colors=64).save(HERE / "spectrograms.png", optimize=True)


if __name__ == "__main__":
    {"compute": compute, "plot": plot}[sys.argv[1] if len(sys.argv) > 1 else "compute"]()
