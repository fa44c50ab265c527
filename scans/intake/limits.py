"""The size limits every image meets, whatever its format: checked from the header, before any
pixel is decoded."""

from __future__ import annotations

from django.conf import settings

from scans.intake.errors import ScanRejected


def check_size(width: int, height: int, min_side: int, max_side: int) -> None:
    """Each side at least `min_side`, none over `max_side`, and at most MAX_IMAGE_PIXELS in all:
    one image's working set (decoded, converted, drawn) stays within a known bound."""
    if min(width, height) < min_side:
        raise ScanRejected(
            "image_too_small", f"The image is {width}x{height} pixels; each side must be at least {min_side}."
        )
    if max(width, height) > max_side:
        raise ScanRejected(
            "image_too_large", f"The image is {width}x{height} pixels; no side may exceed {max_side}."
        )
    if width * height > settings.MAX_IMAGE_PIXELS:
        raise ScanRejected(
            "image_too_large", f"The image is {width}x{height} pixels ({width * height / 1e6:.1f} megapixels); "
                               f"at most {settings.MAX_IMAGE_PIXELS / 1e6:.1f} megapixels are accepted.")
