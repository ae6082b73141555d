"""The whole DSP chain for one sensor: audio blocks in, feature frames out."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .features import FeatureExtractor, FeatureFrames
from .frontend import FrontEnd
from .rotor import RotorCanceller


class DspChain:
    """FrontEnd + RotorCanceller + FeatureExtractor (with the music canceller), streaming.

    `process(block)` takes float32 audio (frames, channels) from an AudioSource and
    returns the FeatureFrames completed by it (one per FRAME_HOP_S). A complex block is
    baseband already demodulated by this same FrontEnd elsewhere (a sensor node, see
    uspd.node): it skips the front end, so both paths decide identically.
    `cancel_rotor`: remove a tracked fan rotor's echo first (dsp.rotor; on by default
    since 2026-12-07, when the benchmark accepted it; off only to compare).
    """

    def __init__(
        self,
        sample_rate: int,
        carrier_hz: float,
        channels: int,
        *,
        temperature_c: float = 20.0,
        cancel_distortion: bool = True,
        cancel_rotor: bool = True,
    ) -> None:
        self.frontend = FrontEnd(sample_rate, carrier_hz, channels)
        self.rotor = RotorCanceller(
            self.frontend.output_rate,
            carrier_hz,
            channels,
            temperature_c=temperature_c,
            enabled=cancel_rotor,
        )
        self.features = FeatureExtractor(
            self.frontend.output_rate,
            carrier_hz,
            channels,
            temperature_c=temperature_c,
            cancel_distortion=cancel_distortion,
        )
        self.frame_hop_s = self.features.frame_hop_s

    def process(self, block: npt.ArrayLike) -> FeatureFrames:
        """Demodulate, decimate and featurise one audio (or complex baseband) block."""
        x = np.asarray(block)
        if np.iscomplexobj(x):
            if x.ndim != 2 or x.shape[1] != self.features.channels:
                raise ValueError(f"expected (n, {self.features.channels}) baseband, got {x.shape}")
            return self.features.process_planar(self.rotor.process(x.T.astype(np.complex128)))
        return self.features.process_planar(self.rotor.process(self.frontend.process_planar(x)))
