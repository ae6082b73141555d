"""Motion classifier runtime: the int8 `presence.tflite` via LiteRT or our numpy executor.

See MODEL_CARD.md beside this file for what the model is trained on and how well it does.
"""

from __future__ import annotations

from .classifier import (
    CLASS_NAMES,
    DEFAULT_MODEL_PATH,
    Classifier,
    litert_available,
    load_classifier,
)
from .flatbuffer import ModelError, ModelNotFoundError

__all__ = [
    "CLASS_NAMES",
    "DEFAULT_MODEL_PATH",
    "Classifier",
    "ModelError",
    "ModelNotFoundError",
    "litert_available",
    "load_classifier",
]
