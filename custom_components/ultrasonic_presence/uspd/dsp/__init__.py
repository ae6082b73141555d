"""DSP chain between the microphones and the classifier (numpy/scipy, streaming).

Public API (import the submodules; nothing heavy is imported here):

* `chain.DspChain(sample_rate, carrier_hz, channels, *, temperature_c=20.0,
  cancel_distortion=True, cancel_rotor=True)`; `.process(block) ->
  features.FeatureFrames`, one frame per `frame_hop_s`. Wires `frontend.FrontEnd`
  (demodulate + decimate to 3–4 kHz complex baseband; can run on a sensor node),
  `rotor.RotorCanceller` (a tracked fan's echo removed at its blade period) and
  `features.FeatureExtractor` (clutter notch, carrier normalisation,
  `canceller.DistortionCanceller`, velocity-axis spectrogram).
* `features`: the classifier contract — FEATURE_SHAPE = (CONTEXT_FRAMES, N_BINS,
  N_PLANES) = (24, 64, 2), FRAME_HOP_S = 0.05, dBc/Hz clipped to [FEATURE_FLOOR_DB,
  FEATURE_CEIL_DB], `scale_features` → [0, 1], `ContextWindow`, `velocity_centers()`.
* `carrier.detect_carrier(audio, sample_rate) -> float` for recordings.
* `calibration.calibrate(source, *, max_level_dbfs, band, target_snr_db,
  spl_at_full_scale_db) -> CalibrationResult` (to_dict/from_dict),
  `CalibrationError` / `NoUltrasonicResponseError` (with `.code`).
* `conventional.ConventionalDetector().update(features, valid=None)` — the baseline.
* `bench.realtime_factor(...)`, `bench.canceller_curve(...)`, `bench.rotor_cost_ms()`
  — measured figures.
"""
