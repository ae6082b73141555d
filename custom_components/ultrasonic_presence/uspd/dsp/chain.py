"""The whole DSP chain for one sensor: audio blocks in, feature frames out."""

from __future__ import annotations

import numpy.typing as npt

from .features import FeatureExtractor, FeatureFrames
from .frontend import FrontEnd


class DspChain:
    """FrontEnd + FeatureExtractor (with the music canceller), streaming.

    `process(block)` takes float32 audio (frames, channels) from an AudioSource and
    returns the FeatureFrames completed by it (one per FRAME_HOP_S).
    """

    def __init__(
        self,
        sample_rate: int,
        carrier_hz: float,
        channels: int,
        *,
        temperature_c: float = 20.0,
        cancel_distortion: bool = True,
    ) -> None:
        self.frontend = FrontEnd(sample_rate, carrier_hz, channels)
        self.features = FeatureExtractor(
            self.frontend.output_rate,
            carrier_hz,
            channels,
            temperature_c=temperature_c,
            cancel_distortion=cancel_distortion,
        )
        self.frame_hop_s = self.features.frame_hop_s

    def process(self, block: npt.ArrayLike) -> FeatureFrames:
        """Demodulate, decimate and featurise one audio block."""
        return self.features.process(self.frontend.process(block))
