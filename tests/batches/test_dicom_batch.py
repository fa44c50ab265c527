"""DICOM in batches: de-identified before it is staged, grouped under the same patient key as the
page and the API give it."""

from django.conf import settings as django_settings
from django.core import serializers
from django.core.files.base import ContentFile
from pydicom.data import get_testdata_file

from scans.intake.dicom import patient_key, read_dicom, staged_upload
from scans.models import BatchItem, BatchJob, Scan
from tests.batches.helpers import post_batch, zip_bytes
from tests.dicom_files import PATIENT_ID, SECRETS, leaked, mr_dataset, mr_file, to_bytes
from tests.helpers import client_for, stored_files


def test_what_is_staged_is_de_identified_and_keeps_the_key():
    secret = django_settings.PATIENT_KEY_SECRET
    staged, name = staged_upload(mr_file(), f"{SECRETS['name']}.dcm", secret, "DICOM")
    assert leaked(staged) == [] and name == "MR"
    read = read_dicom(staged, secret=secret, min_side=64, max_side=8192)
    assert read.patient_key == patient_key(PATIENT_ID, secret)


def test_a_forged_key_is_hashed_like_any_other_id():
    ds = mr_dataset(patient_id="dcm-000000000000000000000000")
    ds.PatientIdentityRemoved, ds.DeidentificationMethod = "YES", "NeuroLens 0123456789abcdef"
    secret = django_settings.PATIENT_KEY_SECRET
    key = read_dicom(to_bytes(ds), secret=secret, min_side=64, max_side=8192).patient_key
    assert key == patient_key("dcm-000000000000000000000000", secret)


def test_a_batch_of_dicom_files_leaves_nothing_identifying(owner, settings, caplog):
    ct = open(get_testdata_file("CT_small.dcm", download=False), "rb").read()  # noqa: SIM115
    files = [ContentFile(mr_file(seed=1), name=f"{SECRETS['name']}_{SECRETS['given']}.dcm"),
             ContentFile(ct, name="ct.dcm"),
             ContentFile(zip_bytes({f"{SECRETS['name']}/slice2.dcm": mr_file(seed=2)}), name="study.zip"),
             ContentFile(mr_file()[:300], name=f"{SECRETS['given']}.dcm")]
    post_batch(client_for(owner), files)
    items = {i.position: i for i in BatchJob.objects.get().items.all()}
    assert items[1].error_code == "unsupported_modality" and items[3].error_code == "corrupt_file"
    assert items[0].status == items[2].status == BatchItem.DONE
    refs = set(Scan.objects.values_list("patient_ref", flat=True))
    assert refs == {patient_key(PATIENT_ID, settings.PATIENT_KEY_SECRET)}
    rows = serializers.serialize("json", [*Scan.objects.all(), *BatchItem.objects.all()])
    assert leaked(rows) == [] and leaked(caplog.text) == []
    for path in stored_files(settings):
        assert leaked(path.read_bytes()) == [], path
