"""The presence CNN: small enough for a DSP budget, int8-exportable with only ops the
numpy executor implements (CONV_2D, DEPTHWISE_CONV_2D, MAX/AVERAGE_POOL_2D, RESHAPE,
FULLY_CONNECTED). Global pooling is an AveragePooling2D + Flatten rather than
GlobalAveragePooling2D, which converts to MEAN (whose int8 kernel varies by version).
Pooling keeps coarse Doppler-frequency position: the speed of a mover matters.
"""

from __future__ import annotations

from typing import Any


def build_model(
    input_shape: tuple[int, int, int],
    n_classes: int = 4,
    width: int = 16,
    dense: int = 32,
    batch_size: int | None = None,
) -> Any:
    """Keras functional model: (time, doppler bins, channels) → n_classes logits.

    Export uses batch_size=1 so Flatten becomes a static RESHAPE (a dynamic batch adds
    SHAPE/STRIDED_SLICE/PACK ops).
    """
    import keras
    from keras import layers

    t, f, _ = input_shape
    inp = keras.Input(input_shape, batch_size=batch_size, name="features")
    x = layers.Conv2D(width, 3, padding="same", use_bias=False)(inp)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.SeparableConv2D(2 * width, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.SeparableConv2D(4 * width, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    # Average over all remaining time steps, pairs of frequency rows kept apart.
    th, fh = t // 4, f // 4
    x = layers.AveragePooling2D(pool_size=(th, max(1, fh // 8)))(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.2)(x)
    x = layers.Dense(dense, activation="relu")(x)
    out = layers.Dense(n_classes, name="logits")(x)
    return keras.Model(inp, out, name="presence_cnn")
