"""Six predictions with hand-checkable figures, spread over two clinicians, two weeks and two
model versions (see `known`). The tests compare every aggregate with values worked out by hand."""

from datetime import UTC, datetime, timedelta

import pytest

from scans.models import Prediction, Scan

MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CLASSES = ("glioma", "meningioma", "notumor", "pituitary")


def add_prediction(owner, label: str, confidence: float, day: int, version: str = "v1", ms: float = 10.0,
                   out_of_scope: bool = False, patient_ref: str = "", name: str = "") -> Prediction:
    created = MONDAY + timedelta(days=day)
    n = Scan.objects.count() + 1
    scan = Scan.objects.create(owner=owner, created=created, original_name=name or f"scan-{n}.png",
                               image="demo/none.png", sha256=f"{n:064x}", format="PNG", width=64, height=64,
                               size_bytes=100, patient_ref=patient_ref)
    rest = (1 - confidence) / 3
    return Prediction.objects.create(
        scan=scan, label=label, confidence=confidence, out_of_scope=out_of_scope, model_version=version,
        inference_ms=ms, created=created, **{f"prob_{c}": confidence if c == label else rest for c in CLASSES})


@pytest.fixture
def known(owner, colleague):
    """owner: 4 predictions (days 0, 1, 1, 8); colleague: 2 (days 8, 9)."""
    add_prediction(owner, "glioma", 0.95, 0, "v1", 10, patient_ref="PAT-1")
    add_prediction(owner, "glioma", 0.55, 1, "v1", 20)
    add_prediction(owner, "meningioma", 0.70, 1, "v1", 30)
    add_prediction(owner, "notumor", 0.40, 8, "v2", 40, out_of_scope=True)
    add_prediction(colleague, "pituitary", 0.85, 8, "v2", 50, patient_ref="PAT-9")
    add_prediction(colleague, "glioma", 0.65, 9, "v2", 60, name="=HYPERLINK(evil).png")
