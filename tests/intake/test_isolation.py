"""Finding 5 of issue 12, second half: one image the model fails on failed every image in its forward
pass (11 of 11). Now the pass is retried image by image and only that one fails. (Intake makes every
mode safe, tests/intake/test_images.py; here an image whose pixels are gone stands for whatever else
might break a pass.)"""

from __future__ import annotations

import dataclasses

from scans.classify import classify
from scans.intake.errors import InferenceFailed
from scans.intake.ingest import read_image
from tests.helpers import png


def checked(seed: int):
    return read_image(png(256, seed), max_bytes=2**24, min_side=64, max_side=8192)


def test_one_image_that_breaks_the_pass_fails_alone():
    good = [checked(seed) for seed in range(4)]
    broken = dataclasses.replace(checked(9), image=checked(9).image.copy())
    broken.image.close()  # its pixels are gone: converting it raises inside the forward pass
    results = classify([good[0], good[1], broken, good[2], good[3]], heatmaps=False)
    assert [type(r).__name__ for r in results] == ["ImageResult"] * 2 + ["InferenceFailed"] + ["ImageResult"] * 2
    alone = classify(good, heatmaps=False)
    assert [r.probabilities for r in results if not isinstance(r, InferenceFailed)] == [r.probabilities for r in alone]
