"""Inference cost, measured (not asserted in tests): used by `uspd bench`."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .classifier import Prefer, load_classifier


def ms_per_inference(
    runtime: Prefer = "auto",
    *,
    path: str | Path | None = None,
    repeats: int = 200,
    warmup: int = 20,
    seed: int = 0,
) -> float:
    """Median wall-clock milliseconds for one single-window `predict` on this machine."""
    clf = load_classifier(path, prefer=runtime)
    rng = np.random.default_rng(seed)
    windows = rng.normal(0.0, 1.0, size=(warmup + repeats, *clf.input_shape)).astype(np.float32)
    for w in windows[:warmup]:
        clf.predict(w)
    times = []
    for w in windows[warmup:]:
        t0 = time.perf_counter()
        clf.predict(w)
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1e3)
