"""Helpers shared by the tests: accounts, generated images, uploads and stored state."""

from __future__ import annotations

import functools
import io
from pathlib import Path

import numpy as np
import pytest
from django.contrib.auth.models import Group, User
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from ml.data import not_mri
from ml.preprocess import square_resize
from scans.models import Patient, Prediction, Scan

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
PASSWORD = "correct-horse-battery-9"


def make_user(username: str, role: str | None = None, **extra) -> User:
    user = User.objects.create_user(username, f"{username}@example.org", PASSWORD, **extra)
    if role:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- images -------------------------------------------------------------------------------

def encode(img: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


#  Real slices of every class from the larger collection: the pictures the suite uploads where it
#  needs an in-scope image. A drawn "head" would test the guard's mistakes, not the product: a good
#  out-of-scope guard refuses drawings, and a model version that does so must not break the suite.
#  Left out: the CT slices the collections file as MRI (ml/splits/not_mri.csv) and Tr-noTr_0001.jpg
#  (a T2 slice through the orbits, one of the few real slices model 1.2.2's guard refuses).
_POOL_PER_CLASS = 12
_POOL_LEFT_OUT = {"Tr-noTr_0001.jpg"}


@functools.cache
def _slice_pool() -> tuple[Path, ...]:
    """48 slices, the classes in turn (glioma, meningioma, no tumour, pituitary)."""
    ct = {DATASETS / p for p in not_mri()}
    by_class: dict[str, list[Path]] = {}
    for cls, path in dataset_files(per_class=_POOL_PER_CLASS + 4):
        if path.name not in _POOL_LEFT_OUT and path not in ct:
            by_class.setdefault(cls, []).append(path)
    return tuple(paths[i] for i in range(_POOL_PER_CLASS) for paths in by_class.values())


@functools.cache
def _grey(path: Path) -> Image.Image:
    return Image.open(path).convert("L")


def mri_slice(size: int = 256, seed: int = 0, mode: str = "L") -> Image.Image:
    """A real brain MRI slice, padded square and resized as the model's input is: seed picks one of
    48 and also adds faint noise of its own, so that two seeds never give the same bytes (uploads
    are deduplicated by content)."""
    pool = _slice_pool()
    base = square_resize(_grey(pool[seed % len(pool)]), size).astype(np.int16)
    noise = np.random.default_rng(seed).integers(-1, 2, base.shape, dtype=np.int16)
    pixels = np.clip(base + noise * (base > 8), 0, 255).astype(np.uint8)  # the background stays black
    return Image.fromarray(pixels, "L").convert(mode)


def png(size: int = 256, seed: int = 0, mode: str = "L") -> bytes:
    return encode(mri_slice(size, seed, mode), "PNG")


def jpeg(size: int = 256, seed: int = 0) -> bytes:
    return encode(mri_slice(size, seed, "RGB"), "JPEG", quality=90)


def dataset_images(per_class: int = 1) -> list:
    """(class, path) for the first files of each class folder of the larger collection. Used in
    parametrize, so at collection time: without the data sets, one parameter that skips with the
    reason (a skip raised here would abort the whole run's collection)."""
    root = DATASETS / "brain-tumor-mri" / "Training"
    if not root.is_dir():
        return [pytest.param(None, None, marks=pytest.mark.skip(reason=f"the shared data sets are not at {DATASETS}"))]
    return [(cls, path) for cls in ("glioma", "meningioma", "notumor", "pituitary")
            for path in sorted((root / cls).glob("*.jpg"))[:per_class]]


def dataset_files(per_class: int = 1) -> list[tuple[str, Path]]:
    """dataset_images() for a fixture or a test body: skips the test, with the reason, without the data sets."""
    if not (DATASETS / "brain-tumor-mri" / "Training").is_dir():
        pytest.skip(f"the shared data sets are not at {DATASETS}")
    return dataset_images(per_class)


# --- uploads and stored state --------------------------------------------------------------

def upload(client: Client, data: bytes, name: str = "slice.png", htmx: bool = True, **fields):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(
        reverse("scans:upload"), {"image": ContentFile(data, name=name), **fields}, headers=headers
    )


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def make_scan(owner: User, name: str = "scan.png", label: str = "glioma", confidence: float = 0.9,
              out_of_scope: bool = False, created=None, patient_ref: str = "", seed: int = 0,
              model_version: str = "test-rows") -> Scan:
    """A stored scan with a given prediction, for history tests that need many rows quickly."""
    data = png(64, seed)
    patient = Patient.objects.get_or_create(owner=owner, reference=patient_ref)[0] if patient_ref else None
    scan = Scan(owner=owner, original_name=name, sha256=f"{seed:064x}", format="PNG", width=64,
                height=64, size_bytes=len(data), patient_ref=patient_ref, patient=patient)
    if created is not None:
        scan.created = created
    scan.image.save("x.png", ContentFile(data), save=False)
    scan.save()
    rest = (1 - confidence) / 3
    Prediction.objects.create(
        scan=scan, label=label, confidence=confidence, out_of_scope=out_of_scope,
        **{f"prob_{c}": confidence if c == label else rest
           for c in ("glioma", "meningioma", "notumor", "pituitary")},
        model_version=model_version, inference_ms=1.0, created=scan.created,
    )
    return scan
