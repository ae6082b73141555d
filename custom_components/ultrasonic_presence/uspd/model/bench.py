"""Inference cost, measured (never asserted in tests): used by `uspd bench`."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .classifier import Prefer, load_classifier


def ms_per_inference(
    runtime: Prefer = "auto",
    *,
    path: str | Path | None = None,
    repeats: int = 300,
    warmup: int = 30,
    seed: int = 0,
) -> float:
    """Process CPU milliseconds per single-window `predict` (quantise, run, softmax).

    CPU time rather than wall time, like the rest of `uspd bench`, so a busy machine
    does not inflate the figure. Raises ModelNotFoundError (a FileNotFoundError) when
    no model is shipped.
    """
    clf = load_classifier(path, prefer=runtime)
    rng = np.random.default_rng(seed)
    windows = rng.uniform(0.0, 1.0, size=(warmup + repeats, *clf.input_shape)).astype(np.float32)
    for w in windows[:warmup]:
        clf.predict(w)
    t0 = time.process_time()
    for w in windows[warmup:]:
        clf.predict(w)
    return (time.process_time() - t0) / repeats * 1e3
