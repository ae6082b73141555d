"""Inference cost, measured (never asserted in tests): used by `uspd bench`."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from .classifier import Prefer, load_classifier
from .ensemble import load_ensemble


class _Predictor(Protocol):
    input_shape: tuple[int, ...]

    def predict(self, features: npt.ArrayLike) -> npt.NDArray[np.float32]: ...


def _ms_per_predict(
    model: _Predictor, repeats: int, warmup: int, seed: int, rounds: int = 3
) -> float:
    """Process CPU milliseconds per single-window `predict` (quantise, run, softmax).

    CPU time rather than wall time, like the rest of `uspd bench`, so a busy machine
    does not inflate the figure; the best of `rounds` passes over the windows, as for
    the live pipeline (other tenants of a shared host only ever slow a pass down).
    """
    rng = np.random.default_rng(seed)
    windows = rng.uniform(0.0, 1.0, size=(warmup + repeats, *model.input_shape)).astype(np.float32)
    for w in windows[:warmup]:
        model.predict(w)
    best = math.inf
    for _ in range(max(1, rounds)):
        t0 = time.process_time()
        for w in windows[warmup:]:
            model.predict(w)
        best = min(best, time.process_time() - t0)
    return best / repeats * 1e3


def ms_per_inference(
    runtime: Prefer = "auto",
    *,
    path: str | Path | None = None,
    repeats: int = 300,
    warmup: int = 30,
    seed: int = 0,
) -> float:
    """Milliseconds per inference of one network (default: the newest shipped round).

    Raises ModelNotFoundError (a FileNotFoundError) when no model is shipped.
    """
    return _ms_per_predict(load_classifier(path, prefer=runtime), repeats, warmup, seed)


def ms_per_decision(
    runtime: Prefer = "auto", *, repeats: int = 300, warmup: int = 30, seed: int = 0
) -> float:
    """Milliseconds per frame's classification: every member of the shipped ensemble."""
    return _ms_per_predict(load_ensemble(prefer=runtime), repeats, warmup, seed)
