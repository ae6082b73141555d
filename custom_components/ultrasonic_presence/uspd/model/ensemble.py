"""Several models run as one, probabilities averaged: the teacher the shipped model is
distilled from (training/teacher/), and what the product shipped before that.

Why an ensemble: each mining round retrains from scratch on a different mix of hard
windows, so the rounds err on *different* windows — one calls a slow walker at 3–4 m
non-human, another a floor fan major. Averaging their probabilities keeps what they
agree on: on the development suite the average of rounds 1–3 has fewer false alarms
than round 2 alone at a higher sensitivity, and a shorter walk-in latency tail
(docs/bench/HISTORY.md). The cost is one inference per member, which distillation
(training/distill.py) removes. The shipped single model runs as an ensemble of one.

Members must share the input quantisation (training calibrates every round on the same
representative windows), so a feature window is quantised once for all of them. On the
numpy runtime the members run as one stacked pass (stacked.py) when their graphs allow.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from .classifier import (
    CLASS_NAMES,
    DEFAULT_MODEL_PATHS,
    Classifier,
    Int8Array,
    Prefer,
    Runtime,
    load_classifier,
)
from .flatbuffer import ModelError
from .stacked import StackedExecutor

_LOGGER = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]


class Ensemble:
    """Classifiers on the same input; `predict*` return their mean probabilities."""

    def __init__(self, members: Sequence[Classifier]) -> None:
        """Check the members are interchangeable on input and output."""
        if not members:
            raise ModelError("an ensemble needs at least one model")
        first = members[0]
        for other in members[1:]:
            if other.input_shape != first.input_shape or other.class_names != first.class_names:
                raise ModelError(
                    f"{other.source}: input {other.input_shape} / classes "
                    f"{other.class_names} differ from {first.source}'s"
                )
            if (other.input_scale, other.input_zero_point) != (
                first.input_scale,
                first.input_zero_point,
            ):
                raise ModelError(
                    f"{other.source}: input quantisation differs from {first.source}'s "
                    "(ensemble members must be calibrated on the same windows)"
                )
        self.members = tuple(members)
        self.runtime: Runtime = first.runtime
        self.input_shape = first.input_shape
        self.class_names = first.class_names
        self.sources = tuple(m.source for m in members)
        self.stacked = self._stack(self.members)
        # Per-member output dequantisation, shaped to broadcast over (members, N, classes):
        # the members' logits become probabilities in one pass (same float32 arithmetic,
        # element by element, as Classifier.probabilities).
        self._logits = not any(m.outputs_probabilities for m in members)
        self._zero = np.array([m.output_zero_point for m in members], np.float32)[:, None, None]
        self._scale = np.array([m.output_scale for m in members], np.float32)[:, None, None]

    @staticmethod
    def _stack(members: Sequence[Classifier]) -> StackedExecutor | None:
        """One numpy pass for all members (same int8 outputs, a fraction of the numpy
        calls); None on LiteRT, for one member, or for graphs that cannot stack."""
        executors = [m.numpy_executor for m in members]
        if len(members) < 2 or any(m.runtime != "numpy" for m in members):
            return None
        try:
            return StackedExecutor([e for e in executors if e is not None])
        except ModelError as err:
            _LOGGER.debug("ensemble members run one by one: %s", err)
            return None

    def quantize(self, features: npt.ArrayLike) -> Int8Array:
        """float features → the members' common int8 input."""
        return self.members[0].quantize(features)

    def predict_quantized(self, q_input: Int8Array) -> F32:
        """Mean probabilities (N, n_classes) of the members on int8 inputs."""
        if self.stacked is not None:
            outputs = self.stacked.run(q_input)
        else:
            outputs = np.stack([m.run_quantized(q_input) for m in self.members])
        if self._logits:
            values = (outputs.astype(np.float32) - self._zero) * self._scale
            each = np.exp(values - np.maximum.reduce(values, axis=2, keepdims=True))
            each /= np.add.reduce(each, axis=2, keepdims=True)
        else:
            pairs = zip(self.members, outputs, strict=True)
            each = np.stack([member.probabilities(out) for member, out in pairs])
        total = each[0]
        for probabilities in each[1:]:
            total = total + probabilities
        mean: F32 = total / np.float32(len(self.members))
        return mean

    def predict(self, features: npt.ArrayLike) -> F32:
        """Mean probabilities for one window, or (N, n_classes) for a batch."""
        # The members share input shape and quantisation: one check, one quantisation.
        x, single = self.members[0].as_batch(features)
        mean = self.predict_quantized(self.quantize(x))
        return mean[0] if single else mean


def load_ensemble(
    paths: Sequence[str | Path | bytes] | str | Path | bytes | None = None,
    prefer: Prefer = "auto",
    *,
    class_names: tuple[str, ...] = CLASS_NAMES,
) -> Ensemble:
    """Load what ships (default: one model), or the given model file(s) as one."""
    if paths is None:
        chosen: Sequence[str | Path | bytes] = DEFAULT_MODEL_PATHS
    elif isinstance(paths, str | Path | bytes):
        chosen = [paths]  # one model (a str is a Sequence too: never its characters)
    else:
        chosen = paths
    return Ensemble([load_classifier(p, prefer, class_names=class_names) for p in chosen])
