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
#  Model 1 (1.x): about 0.31 M parameters, 67 M multiply-adds. Model 2 (2.x): wider and deeper
#  at 10x10, where channels add parameters but little compute (about 0.6 M parameters, 95 M
#  multiply-adds, inside the serving budget), more dropout, and slower batch-norm statistics.
ARCHITECTURES = {
    "v1": {"widths": (16, 24, 48, 96, 192), "deep_sep": 0, "dropout": 0.2, "bn_momentum": 0.9},
    "v2": {"widths": (16, 24, 48, 128, 320), "deep_sep": 2, "dropout": 0.3, "bn_momentum": 0.99},
}


class _Blocks:
    """Layer helpers sharing one batch-norm momentum."""

    def __init__(self, bn_momentum: float):
        self.momentum = bn_momentum

    def conv_bn(self, x, filters: int, kernel: int = 3, stride: int = 1, relu: bool = True):
        x = layers.Conv2D(filters, kernel, stride, padding="same", use_bias=False,
                          kernel_regularizer=keras.regularizers.l2(L2))(x)
        x = layers.BatchNormalization(momentum=self.momentum)(x)
        return layers.ReLU()(x) if relu else x

    def sep_bn(self, x, filters: int, relu: bool = True):
        x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False,
                                   pointwise_regularizer=keras.regularizers.l2(L2))(x)
        x = layers.BatchNormalization(momentum=self.momentum)(x)
        return layers.ReLU()(x) if relu else x

    def shortcut(self, x, filters: int, stride: int):
        if stride == 1 and x.shape[-1] == filters:
            return x
        if stride > 1:
            x = layers.AveragePooling2D(stride, padding="same")(x)
        return self.conv_bn(x, filters, 1, relu=False)

    def residual(self, x, filters: int, stride: int = 1):
        y = self.conv_bn(x, filters, 3, stride)
        y = self.conv_bn(y, filters, 3, relu=False)
        return layers.ReLU()(layers.Add()([y, self.shortcut(x, filters, stride)]))

    def separable(self, x, filters: int):
        y = self.sep_bn(x, filters)
        y = self.sep_bn(y, filters, relu=False)
        return layers.ReLU()(layers.Add()([y, self.shortcut(x, filters, 1)]))


def build_model(input_size: int = INPUT_SIZE, widths=(16, 24, 48, 96, 192), dropout: float = 0.2,
                deep_sep: int = 0, bn_momentum: float = 0.9):
    """Training model: image in [0, 1] -> (logits, feature maps); ``deep_sep`` extra separable
    blocks at 10x10. ``build_model(**ARCHITECTURES["v2"])`` is model 2."""
    w0, w1, w2, w3, w4 = widths
    b = _Blocks(bn_momentum)
    inp = keras.Input((input_size, input_size, 1), name="image")
    x = b.conv_bn(inp, w0, 3, 2)  # 80
    x = b.residual(x, w1, 2)  # 40
    x = b.residual(x, w2, 2)  # 20
    x = b.residual(x, w2)
    x = b.residual(x, w3, 2)  # 10
    x = b.separable(x, w3)
    for _ in range(deep_sep):
        x = b.separable(x, w3)
    features = b.separable(x, w4)
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
