"""Sensor node: a machine with a sound card that streams only ultrasonic baseband.

`server.NodeServer` owns emission, capture and the DSP front-end; `client.NodeClient`
is the AudioSource Home Assistant reads it through; `protocol` is the secure link
(Noise_NNpsk0_25519_ChaChaPoly_SHA256 over TCP, versioned frames); `keys` holds the
pre-shared key and the public node id derived from it, which `announce` puts in the
zeroconf record.
"""
