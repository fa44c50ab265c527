"""Results are built and sent even from a sender whose patient module breaks its own VRs."""

from __future__ import annotations

import io

import pydicom
import pytest

from scans.models import Series
from scans.studies.sealed import unlock
from tests.api.conftest import token_client
from tests.privacy.phi import planted_dicom
from tests.studies.series import stow

pytestmark = pytest.mark.django_db


def test_an_sr_is_built_when_the_patient_module_holds_free_text_everywhere(owner):
    datasets = [pydicom.dcmread(io.BytesIO(planted_dicom(60 + i))) for i in range(3)]
    assert stow(token_client(owner), datasets).status_code == 200
    series = Series.objects.get()
    assert series.send_error == "" and series.sr
    sr = pydicom.dcmread(io.BytesIO(unlock(series.sr)))
    assert sr.PatientID == datasets[0].PatientID and sr.StudyInstanceUID == datasets[0].StudyInstanceUID
    assert sr.PatientSex == ""  # the planted text is not a sex DICOM allows: left empty, not invented
