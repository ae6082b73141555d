"""DSP chain between the microphones and the classifier (numpy/scipy, streaming).

FrontEnd (demodulate + decimate) → FeatureExtractor (clutter removal, carrier
normalisation, music canceller, velocity-axis Doppler spectrogram) → classifier input
of FEATURE_SHAPE. DspChain wires both; calibration picks the carrier and level.
"""
