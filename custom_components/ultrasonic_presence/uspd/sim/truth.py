"""Ground truth at 20 Hz (every 50 ms): who is there, how they move, what interferes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .model import MOTION_NAMES, TruthModel

FloatArray = npt.NDArray[np.float64]

FRAME_S = 0.05


@dataclass(frozen=True)
class TruthFrame:
    """Ground truth for the 50 ms frame starting at `t`.

    motion: 'none' | 'still' | 'minor' | 'major' (the strongest among people present);
    distance_m: device to the nearest person (None if nobody); interferers: active
    non-person sources ('floor_fan', 'ceiling_fan', 'curtain', 'hvac', 'music', 'pet',
    'tone', 'jingle', 'door', 'speech'); pet: a pet is moving in the room.
    """

    t: float
    present: bool
    motion: str
    distance_m: float | None
    interferers: frozenset[str]
    pet: bool

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "t": round(self.t, 4),
            "present": self.present,
            "motion": self.motion,
            "distance_m": None if self.distance_m is None else round(self.distance_m, 3),
            "interferers": sorted(self.interferers),
            "pet": self.pet,
        }


def truth_frames(
    models: Sequence[TruthModel], times: FloatArray, scene_times: FloatArray, center: FloatArray
) -> list[TruthFrame]:
    """Combine every model's truth at frame `times` (models see `scene_times`)."""
    n = times.size
    present = np.zeros(n, dtype=bool)
    motion = np.zeros(n, dtype=np.int8)
    dist = np.full(n, np.inf)
    pet = np.zeros(n, dtype=bool)
    labels: dict[str, npt.NDArray[np.bool_]] = {}
    for model in models:
        tr = model.truth(scene_times)
        if tr.person is not None:
            present |= tr.person
            if tr.motion is not None:
                motion = np.maximum(motion, np.where(tr.person, tr.motion, 0).astype(np.int8))
            if tr.position is not None:
                d = np.linalg.norm(tr.position - center, axis=-1)
                dist = np.where(tr.person, np.minimum(dist, d), dist)
        if tr.pet is not None:
            pet |= tr.pet
        for name, on in tr.labels.items():
            labels[name] = labels.get(name, np.zeros(n, dtype=bool)) | on
    labels.pop("reflector", None)
    frames = []
    for i in range(n):
        active = frozenset(k for k, v in labels.items() if v[i])
        frames.append(
            TruthFrame(
                t=float(times[i]),
                present=bool(present[i]),
                motion=MOTION_NAMES[int(motion[i])],
                distance_m=float(dist[i]) if np.isfinite(dist[i]) else None,
                interferers=active,
                pet=bool(pet[i]),
            )
        )
    return frames
