"""An on-disk cache of the benchmark's per-scene work: calibration and DSP evidence.

Why: checking a candidate model on the development suite's 10 h of empty rooms spends
nearly all its time calibrating, rendering and featurising scenes that do not depend on
the model. With `uspd bench --cache DIR` each scene's calibrated carrier/level and its
feature frames (the DSP output every scorer decides on; never audio) are kept, so the
next run with another model or detector setting only decides.

Entries are keyed by the scene itself (its full description) and by a fingerprint of
everything else that shapes them: the simulator, DSP and calibration code, the bench's
calibrate/render/featurise steps, numpy and scipy. Any change to those gives new keys,
so a stale entry is never read.
Entries are Python pickles: point `--cache` only at a directory you trust (your own).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .dsp.features import FeatureFrames
    from .sim.scenario import Scenario
    from .sim.truth import TruthFrame

_PACKAGE = Path(__file__).resolve().parent
_SHAPING_CODE = ("sim", "dsp", "audio")
"""The packages that render, calibrate and featurise a scene."""


@dataclass(frozen=True)
class SceneEvidence:
    """One rendered scene, as every scorer sees it."""

    truth: list[TruthFrame]
    frames: FeatureFrames
    dsp_cpu_s: float
    """Process CPU seconds the DSP took when the entry was made (for the suite's
    real-time factor)."""


@cache
def code_fingerprint() -> str:
    """sha256 over the code that shapes entries and the numeric libraries' versions:
    the sim, dsp and audio packages, and the benchmark's own calibrate/render/featurise
    steps with the block size they feed."""
    import inspect

    import numpy as np
    import scipy

    from . import bench
    from .runner import BLOCK_S

    digest = hashlib.sha256(f"numpy {np.__version__} scipy {scipy.__version__}".encode())
    for step in (bench.calibrated, bench._render, bench._features):
        digest.update(inspect.getsource(step).encode())
    digest.update(f"block {BLOCK_S!r}".encode())
    for name in _SHAPING_CODE:
        for path in sorted((_PACKAGE / name).rglob("*.py")):
            digest.update(path.relative_to(_PACKAGE).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


class SceneCache:
    """Calibrated scenarios and scene evidence under one directory."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.hits = 0
        self.misses = 0

    def _path(self, kind: str, scenario: Scenario) -> Path | None:
        """Where the entry lives; None for a scene whose description is not all in its
        repr (an object shown by address): such a scene is never cached."""
        description = repr(scenario)
        if " at 0x" in description:
            return None
        key = hashlib.sha256(f"{code_fingerprint()}|{description}".encode()).hexdigest()
        return self.directory / kind / key[:2] / f"{key}.pickle"

    def _load(self, path: Path | None) -> object | None:
        if path is None:
            self.misses += 1
            return None
        try:
            with path.open("rb") as f:
                value: object = pickle.load(f)
        except FileNotFoundError:
            self.misses += 1
            return None
        except Exception:
            # A corrupt pickle can raise almost anything: truncated by a killed run, or
            # from another version. Made again.
            self.misses += 1
            return None
        self.hits += 1
        return value

    def _store(self, path: Path | None, value: object) -> None:
        """Written under a temporary name and renamed: never a half entry."""
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def calibrated(self, scenario: Scenario) -> Scenario | None:
        """The calibrated version of `scenario`, if cached."""
        from .sim.scenario import Scenario

        value = self._load(self._path("calibrated", scenario))
        return value if isinstance(value, Scenario) else None

    def store_calibrated(self, scenario: Scenario, calibrated: Scenario) -> None:
        """Keep `calibrated` as the calibration of `scenario`."""
        self._store(self._path("calibrated", scenario), calibrated)

    def evidence(self, scenario: Scenario, variant: str = "") -> SceneEvidence | None:
        """The rendered, featurised scene, if cached. `variant` names a non-default
        DSP setting (e.g. "rotor"): its evidence is kept apart."""
        value = self._load(self._path(_evidence_kind(variant), scenario))
        return value if isinstance(value, SceneEvidence) else None

    def store_evidence(
        self, scenario: Scenario, evidence: SceneEvidence, variant: str = ""
    ) -> None:
        """Keep a scene's evidence (under `variant`, see `evidence`)."""
        self._store(self._path(_evidence_kind(variant), scenario), evidence)


def _evidence_kind(variant: str) -> str:
    return f"evidence-{variant}" if variant else "evidence"
