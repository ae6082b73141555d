"""Motion scorers: feature context → class probabilities for the occupancy detector.

Two implementations behind one interface, so the benchmark can put them side by side
and the product can fall back:
- `ModelScorer`: the shipped int8 TFLite model(s) (LiteRT or the numpy executor).
- `ConventionalScorer`: Doppler-band energy over an adaptive floor (SoundWave style),
  the baseline — it cannot tell a fan from a person, which is the point of comparing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .detector import MotionClass
from .dsp.conventional import ConventionalDetector, ConventionalOptions
from .dsp.features import FeatureFrames, scale_features

if TYPE_CHECKING:
    from .model.classifier import Prefer

F32 = npt.NDArray[np.float32]


class ConventionalScorer:
    """Energy detector decisions as probabilities: motion → 'major', else 'none'."""

    runtime: str = "conventional"

    def __init__(self, options: ConventionalOptions | None = None) -> None:
        """Fresh adaptive floor (options: thresholds, for the benchmark's DET sweep)."""
        self.detector = ConventionalDetector(options)

    def score(self, contexts: Sequence[F32], frames: FeatureFrames, indices: Sequence[int]) -> F32:
        """Feed frames `indices` to the energy detector in order (it keeps its own
        floor/hysteresis); one-hot rows."""
        p = np.zeros((len(indices), len(MotionClass)), dtype=np.float32)
        for row, i in enumerate(indices):
            out = self.detector.update(frames.features[i : i + 1])
            p[row, MotionClass.HUMAN_MAJOR if out.motion[0] else MotionClass.NO_MOTION] = 1.0
        return p


class ModelScorer:
    """The int8 classifier (one model or an ensemble) on the scaled context window."""

    def __init__(
        self, paths: Sequence[str | Path] | str | Path | None = None, prefer: Prefer = "auto"
    ) -> None:
        """Load the model(s) (default: what ships, model.DEFAULT_MODEL_PATHS)."""
        from .model import load_ensemble

        self.classifier = load_ensemble(paths, prefer)
        self.runtime: str = self.classifier.runtime

        self._context: F32 | None = None
        self._quantized: npt.NDArray[np.int8] | None = None

    def score(self, contexts: Sequence[F32], frames: FeatureFrames, indices: Sequence[int]) -> F32:
        """Probabilities (k, classes) in MotionClass order, one inference call for all.

        Quantization is elementwise, so when a context is the previous one moved on by a
        frame only the new frame is quantized (bit-identical, a fraction of the cost),
        and what is new in the whole block is quantized in one call: at a few frames a
        block, a quantization's dozen tiny numpy calls cost more than its arithmetic.
        The int8 outputs do not depend on the batch (integer arithmetic, row by row).
        """
        previous = self._context
        fresh: list[F32] = []  # per context: its new last frame, or all of it
        moved_on: list[bool] = []
        for context in contexts:
            shifted = (
                previous is not None
                and previous.shape == context.shape
                and bool((context[:-1] == previous[1:]).all())
            )
            moved_on.append(shifted)
            fresh.append(context[-1:] if shifted else context)
            previous = context
        new = self.classifier.quantize(scale_features(np.concatenate(fresh)))
        rows = []
        quantized, start = self._quantized, 0
        for shifted, part in zip(moved_on, fresh, strict=True):
            end = start + len(part)
            if shifted:
                assert quantized is not None  # kept with the context it follows
                quantized = np.concatenate([quantized[1:], new[start:end]])
            else:
                quantized = new[start:end]
            rows.append(quantized)
            start = end
        self._context, self._quantized = previous, quantized
        probabilities: F32 = self.classifier.predict_quantized(np.stack(rows))
        return probabilities


def load_default_scorer(prefer: Prefer = "auto") -> ModelScorer | ConventionalScorer:
    """The shipped models (on the `prefer` runtime) if they are there, else the
    conventional detector."""
    from .model import DEFAULT_MODEL_PATHS

    if DEFAULT_MODEL_PATHS:  # the model file(s) found beside the runtime
        return ModelScorer(prefer=prefer)
    return ConventionalScorer()
