"""The original identifiers, kept only sealed.

Objects sent back must file under the original study, so the original Study, Series and SOP
Instance UIDs and the patient/study attributes that PACS match on (Orthanc hashes the Patient ID
into its study id) are kept, but only encrypted with DICOM_ORIGINALS_KEY, and opened only to build
outbound objects (scans.studies.outbound). Lookups (the same study, series or instance again) use
keyed digests, which give nothing back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from cryptography.fernet import Fernet
from django.conf import settings


def _fernet() -> Fernet:
    key = settings.DICOM_ORIGINALS_KEY
    if not key:  # derived from the patient-key secret, under a label of its own
        key = base64.urlsafe_b64encode(hmac.new(settings.PATIENT_KEY_SECRET.encode(), b"dicom-originals",
                                                hashlib.sha256).digest())
    return Fernet(key)


def seal(values: dict) -> bytes:
    return _fernet().encrypt(json.dumps(values, separators=(",", ":")).encode())


def unseal(token: bytes) -> dict:
    return json.loads(_fernet().decrypt(bytes(token)))


def lock(data: bytes) -> bytes:
    """Bytes that hold identifying values (the SR and key image as sent), encrypted at rest."""
    return _fernet().encrypt(bytes(data))


def unlock(token: bytes) -> bytes:
    return _fernet().decrypt(bytes(token))


def digest(*parts: str) -> str:
    """A keyed hash of an identifier: the same UID always gives the same digest, which does not give it back."""
    message = "\x1f".join(parts).encode()
    return hmac.new(settings.PATIENT_KEY_SECRET.encode(), b"uid:" + message, hashlib.sha256).hexdigest()
