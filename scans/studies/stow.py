"""STOW-RS intake (POST /dicomweb/studies): the same per-instance path as the C-STORE receiver.
The request is one unit, as an association is: its series are stored when it has been read whole,
and a request that cannot be read stores nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydicom import dcmread
from pydicom.filebase import DicomBytesIO

from scans.studies.multipart import decode
from scans.studies.receive import CANNOT_UNDERSTAND, Ignored, Refused, receive
from scans.studies.store import store_frames


@dataclass
class StowResult:
    stored: list = field(default_factory=list)  # (sop class, sop instance) as sent, echoed to the sender
    failed: list = field(default_factory=list)  # (sop class, sop instance, status, reason)
    series: list = field(default_factory=list)


def stow(body: bytes, content_type: str, sender: str) -> StowResult:
    result, frames = StowResult(), []
    for part in decode(body, content_type):
        refs = ("", "")
        try:
            ds = dcmread(DicomBytesIO(part), force=False)
            refs = (str(ds.get("SOPClassUID", "")), str(ds.get("SOPInstanceUID", "")))
            frames.extend(receive(ds))
            result.stored.append(refs)
        except Ignored:
            result.stored.append(refs)
        except Refused as exc:
            result.failed.append((*refs, exc.status, exc.message))
        except Exception:  # noqa: BLE001 - not a DICOM file at all
            result.failed.append((*refs, CANNOT_UNDERSTAND, "the part is not a DICOM file"))
    if frames:
        result.series = store_frames(frames, "stow", sender)
    return result


def response_body(result: StowResult) -> dict:
    """The STOW-RS answer in the DICOM JSON model (PS3.18 10.5.3)."""
    body = {}
    if result.stored:
        body["00081199"] = {"vr": "SQ", "Value": [_ref(c, i) for c, i in result.stored]}
    if result.failed:
        body["00081198"] = {"vr": "SQ", "Value": [
            {**_ref(c, i), "00081197": {"vr": "US", "Value": [status]}} for c, i, status, _ in result.failed]}
    return body


def _ref(sop_class: str, instance: str) -> dict:
    return {"00081150": {"vr": "UI", "Value": [sop_class]} if sop_class else {"vr": "UI"},
            "00081155": {"vr": "UI", "Value": [instance]} if instance else {"vr": "UI"}}
