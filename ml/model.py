"""The network: a compact residual CNN with a global-average-pooling head.

Full 3x3 convolutions where the maps are large and channels few, depthwise-separable ones
at 10x10 where channels are many (about 65 M multiply-adds at 160x160); every block has batch norm and a shortcut. The last
feature maps (10x10) feed a GAP + dense head, so a class-activation map is just those maps
weighted by the dense layer: the served model outputs both, and CAM needs no gradients.
"""

from __future__ import annotations

import keras
from keras import layers

from ml.preprocess import INPUT_SIZE

NUM_CLASSES = 4
L2 = 1e-5


def _conv_bn(x, filters: int, kernel: int = 3, stride: int = 1, relu: bool = True):
    x = layers.Conv2D(filters, kernel, stride, padding="same", use_bias=False,
                      kernel_regularizer=keras.regularizers.l2(L2))(x)
    x = layers.BatchNormalization(momentum=0.9)(x)
    return layers.ReLU()(x) if relu else x


def _sep_bn(x, filters: int, relu: bool = True):
    x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False,
                               pointwise_regularizer=keras.regularizers.l2(L2))(x)
    x = layers.BatchNormalization(momentum=0.9)(x)
    return layers.ReLU()(x) if relu else x


def _shortcut(x, filters: int, stride: int):
    if stride == 1 and x.shape[-1] == filters:
        return x
    if stride > 1:
        x = layers.AveragePooling2D(stride, padding="same")(x)
    return _conv_bn(x, filters, 1, relu=False)


def residual_block(x, filters: int, stride: int = 1):
    y = _conv_bn(x, filters, 3, stride)
    y = _conv_bn(y, filters, 3, relu=False)
    return layers.ReLU()(layers.Add()([y, _shortcut(x, filters, stride)]))


def separable_block(x, filters: int):
    y = _sep_bn(x, filters)
    y = _sep_bn(y, filters, relu=False)
    return layers.ReLU()(layers.Add()([y, _shortcut(x, filters, 1)]))


def build_model(input_size: int = INPUT_SIZE, widths=(16, 24, 48, 96, 192), dropout: float = 0.2):
    """Training model: image in [0, 1] -> (logits, feature maps)."""
    w0, w1, w2, w3, w4 = widths
    inp = keras.Input((input_size, input_size, 1), name="image")
    x = _conv_bn(inp, w0, 3, 2)  # 80
    x = residual_block(x, w1, 2)  # 40
    x = residual_block(x, w2, 2)  # 20
    x = residual_block(x, w2)
    x = residual_block(x, w3, 2)  # 10
    x = separable_block(x, w3)
    features = separable_block(x, w4)
    pooled = layers.GlobalAveragePooling2D()(features)
    pooled = layers.Dropout(dropout)(pooled)
    logits = layers.Dense(NUM_CLASSES, name="logits", dtype="float32",
                          kernel_regularizer=keras.regularizers.l2(L2))(pooled)
    return keras.Model(inp, [logits, features], name="neurolens_cnn")


def build_prototype(input_size: int = 128):
    """The Flask prototype's network, rebuilt for speed comparisons (ml.bench)."""
    inp = keras.Input((input_size, input_size, 3))
    x = inp
    for f in (32, 64, 128):
        x = layers.Conv2D(f, 3, activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(512, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    out = layers.Dense(NUM_CLASSES, activation="softmax")(x)
    return keras.Model(inp, out, name="prototype_cnn")
