"""Sanity check on real recordings: the shared UltraGSAttack subset (hand gestures).

Why: everything else is simulated. These 60 clips (44.1 kHz phone, 19 kHz tone, a hand
drawing digits 0.1–0.4 m away, indoors and outdoors; ../shared/data/real-ultragsattack)
all contain minor human motion and nothing else, so they measure how often the model
calls real hand motion human. Skipped when the data is absent (e.g. a user's clone).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-ultragsattack"
CARRIER_HZ = 19_000.0


def check(models: str | Path | bytes | list[bytes], data: Path = DATA) -> dict[str, Any] | None:
    """Per place (lab/out): clips with ≥ 1 human window, share of human windows, classes
    (for one model, or an ensemble given as a list of model files' bytes)."""
    from scipy.io import wavfile

    from uspd.dsp.chain import DspChain
    from uspd.dsp.features import CONTEXT_FRAMES, ContextWindow, scale_features
    from uspd.model import load_ensemble

    files = sorted(data.glob("*.wav"))
    if not files:
        return None
    clf = load_ensemble(models if isinstance(models, list) else [models], prefer="numpy")
    out: dict[str, Any] = {"clips": len(files)}
    per_place: dict[str, dict[str, list[Any]]] = {}
    for f in files:
        rate, audio = wavfile.read(f)
        x = np.asarray(audio, dtype=np.float64)
        x = (x / (np.abs(x).max() + 1e-12)).reshape(len(x), -1).astype(np.float32)
        frames = DspChain(int(rate), CARRIER_HZ, x.shape[1]).process(x)
        window = ContextWindow()
        probs = []
        for i, frame in enumerate(frames.features):
            context = window.push(frame)
            if i >= CONTEXT_FRAMES // 2:  # half a context of real frames at least
                probs.append(clf.predict(scale_features(context)))
        p = np.asarray(probs)
        place = f.name.split("-")[0]
        entry = per_place.setdefault(place, {"hit": [], "human": [], "cls": []})
        human = p[:, 1] + p[:, 2] >= 0.5
        entry["hit"].append(bool(human.any()))
        entry["human"].extend(human.tolist())
        entry["cls"].extend(p.argmax(axis=1).tolist())
    for place, e in per_place.items():
        counts = np.bincount(np.asarray(e["cls"], dtype=np.int64), minlength=4)
        out[place] = {
            "clips": len(e["hit"]),
            "clips_with_human_window": int(sum(e["hit"])),
            "human_window_share": float(np.mean(e["human"])),
            "class_share": (counts / counts.sum()).round(3).tolist(),
        }
    return out
