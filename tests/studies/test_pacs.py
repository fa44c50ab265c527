"""End to end with Orthanc as the PACS: a series stored into Orthanc is sent by Orthanc to the
listener, classified with the real model, and its SR and key image come back into Orthanc under
the original study. Nothing identifying stays in NeuroLens."""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
import time

import highdicom as hd
import pytest
from fhir.resources.R4B.bundle import Bundle

from audit.models import AuditEvent
from ml.infer import DISPLAY_NAMES
from scans.models import Series
from scans.studies import fhir
from scans.studies.sealed import unlock
from tests.helpers import client_for
from tests.studies.conftest import orthanc_call
from tests.studies.phi import database_leaks, found_in, media_leaks
from tests.studies.series import mr_series, to_bytes

pytestmark = pytest.mark.django_db(transaction=True)


def route_to(port: int) -> None:
    orthanc_call("PUT", "/modalities/NEUROLENS", {"AET": "NEUROLENS", "Host": "127.0.0.1", "Port": port,
                                                   "AllowEcho": True, "AllowStore": True})


def lookup(uid: str, kind: str) -> str:
    [hit] = [h for h in orthanc_call("POST", "/tools/lookup", raw=uid.encode()) if h["Type"] == kind]
    return hit["ID"]


@pytest.fixture
def pacs_series(orthanc):
    """A 12-slice MR series stored into Orthanc, under a study of its own."""
    study = int(time.time() * 1000) % 10**9
    datasets = mr_series("glioma", 12, study=study)
    for ds in datasets:
        orthanc_call("POST", "/instances", raw=to_bytes(ds))
    return datasets


def test_orthanc_routes_a_series_in_and_gets_the_sr_and_key_image_back_under_the_same_study(
        orthanc, pacs_series, listener, settings, staff, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    settings.DICOM_RESULTS_AE = "ORTHANC@127.0.0.1:18043"
    run = listener(allowed=["ORTHANC"])
    route_to(run.listener.address[1])
    study_uid = pacs_series[0].StudyInstanceUID
    sent = orthanc_call("POST", "/modalities/NEUROLENS/store",
                        {"Resources": [lookup(pacs_series[0].SeriesInstanceUID, "Series")], "Synchronous": True})
    assert sent["InstancesCount"] == 12 and sent["FailedInstancesCount"] == 0
    [series_id] = run.wait_stored()
    series = Series.objects.select_related("study").get(pk=series_id)
    assert series.status == Series.DONE and series.sent is not None, series.send_error
    assert AuditEvent.objects.filter(action=AuditEvent.SENT, object_id=str(series.pk)).count() == 1

    #  In the PACS: one study (same Study Instance UID and Patient ID), now with MR, SR and the key image.
    orthanc_study = lookup(study_uid, "Study")
    modalities = sorted(s["MainDicomTags"]["Modality"] for s in orthanc_call("GET", f"/studies/{orthanc_study}/series"))
    assert modalities == ["MR", "OT", "SR"]
    sr_id = lookup(series.sr_uid, "Instance")
    report = hd.sr.srread(io.BytesIO(orthanc_call("GET", f"/instances/{sr_id}/file")))
    assert report.StudyInstanceUID == study_uid and report.PatientID == pacs_series[0].PatientID
    said = [str(e.value) for e in report.iterall() if e.keyword in ("TextValue", "CodeMeaning", "TextValue")]
    assert any("not a diagnosis" in s for s in said)
    assert DISPLAY_NAMES[series.label] in said and "Algorithm Version" in said
    [group] = hd.sr.MeasurementReport.from_sequence(report.content).get_image_measurement_groups()
    assert group.finding_type.value == "108369006" and len(group.source_images) == len(series.result["key_slices"])

    #  FHIR: valid against the R4B models and the required value sets.
    response = client_for(staff).get(f"/api/v1/studies/{series.study_id}/fhir")
    assert response.status_code == 200 and response["Content-Type"] == "application/fhir+json"
    bundle = response.json()
    Bundle.model_validate(bundle)
    assert fhir.problems(bundle) == []

    #  Nothing planted is left in NeuroLens: database (bytea included, as hex), media, logs.
    assert database_leaks() == {}
    assert media_leaks(settings.MEDIA_ROOT) == {}
    assert found_in("\n".join(r.getMessage() for r in caplog.records).encode()) == []


@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dciodvfy is not installed (Debian package dicom3tools)")
def test_the_sr_and_key_image_pass_the_dicom_validator(listener, tmp_path):
    run = listener()
    from tests.studies.test_listener import send

    send(run.listener.address[1], mr_series("pituitary", 6))
    series = Series.objects.get(pk=run.wait_stored()[0])
    for data, iod in ((series.sr, "Comprehensive3DSR"), (series.sc, "SCImage")):
        path = tmp_path / f"{iod}.dcm"
        path.write_bytes(unlock(data))
        out = subprocess.run(["dciodvfy", str(path)], check=False, capture_output=True, text=True, timeout=60)
        lines = (out.stdout + out.stderr).splitlines()
        assert lines[0] == iod, lines[:3]  # it recognised the object and checked it against that IOD
        problems = [line for line in lines if line.startswith(("Error", "Abort"))]
        assert problems == [], problems
