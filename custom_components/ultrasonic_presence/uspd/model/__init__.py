"""Motion classifier runtime: the int8 `presence.tflite` (or an ensemble of models run as
one) via LiteRT or our numpy executor.

See MODEL_CARD.md beside this file for what the model is trained on and how well it does.
"""

from __future__ import annotations

from .classifier import (
    CLASS_NAMES,
    DEFAULT_MODEL_PATH,
    DEFAULT_MODEL_PATHS,
    Classifier,
    litert_available,
    load_classifier,
)
from .ensemble import Ensemble, load_ensemble
from .flatbuffer import ModelError, ModelNotFoundError

__all__ = [
    "CLASS_NAMES",
    "DEFAULT_MODEL_PATH",
    "DEFAULT_MODEL_PATHS",
    "Classifier",
    "Ensemble",
    "ModelError",
    "ModelNotFoundError",
    "litert_available",
    "load_classifier",
    "load_ensemble",
]
