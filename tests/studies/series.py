"""Synthetic MR series for the PACS tests: real slices from the shared data sets, wrapped in DICOM
headers full of planted identifying values (tests.dicom_files.SECRETS and more, in sequences and
private tags too)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage

from tests.dicom_files import PATIENT_ID, PATIENT_NAME, SECRETS
from tests.helpers import DATASETS

ROOT = "1.2.826.0.1.3680043.8.498"
#  More planted values, beyond tests.dicom_files: these sit inside sequences and private blocks.
MORE = {"other_id": "OTHERID-7781", "requested": "REQ-PROC-99173", "sequence_name": "Vantablack^Orlo",
        "comment": "seen by Dr Pembleton"}


def slice_paths(cls: str, count: int) -> list[Path]:
    folder = DATASETS / "brain-tumor-mri" / "Training" / cls
    paths = sorted(folder.glob("*.jpg"))
    if not paths:
        pytest.skip(f"the shared data sets are not at {DATASETS}")
    return [paths[i % len(paths)] for i in range(count)]


def mr_series(cls: str = "glioma", count: int = 12, *, series: int = 1, study: int = 1, modality: str = "MR",
              size: int = 256) -> list[Dataset]:
    """`count` single-frame instances of one series, 12-bit values from the data set's slices."""
    out = []
    for n, path in enumerate(slice_paths(cls, count), start=1):
        with Image.open(path) as img:
            grey = np.asarray(img.convert("L").resize((size, size)), np.uint16) * 16
        out.append(instance(grey, n, series=series, study=study, modality=modality))
    return out


def instance(grey: np.ndarray, number: int, *, series: int = 1, study: int = 1, modality: str = "MR") -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    sop_class = MRImageStorage if modality == "MR" else CTImageStorage
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = f"{ROOT}.{study}.{series}.{number}"
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.StudyInstanceUID = f"{SECRETS['study_uid']}.{study}"
    ds.SeriesInstanceUID = f"{SECRETS['series_uid']}.{study}.{series}"
    ds.FrameOfReferenceUID = f"{ROOT}.9.{study}"
    ds.PatientName, ds.PatientID = PATIENT_NAME, PATIENT_ID
    ds.PatientBirthDate, ds.PatientSex = SECRETS["birth"], "F"
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = SECRETS["study_date"]
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = "101530"
    ds.AccessionNumber, ds.StudyID = SECRETS["accession"], "S1"
    ds.ReferringPhysicianName = f"{SECRETS['physician']}^Gregory"
    ds.OperatorsName = f"{SECRETS['operator']}^X"
    ds.InstitutionName, ds.InstitutionAddress = f"St {SECRETS['institution']}", SECRETS["address"]
    ds.StationName, ds.DeviceSerialNumber = SECRETS["station"], SECRETS["serial"]
    ds.PatientAddress = SECRETS["address"]
    ds.ImageComments = MORE["comment"]
    other = Dataset()
    other.PatientID = MORE["other_id"]
    ds.OtherPatientIDsSequence = [other]
    request = Dataset()
    request.RequestedProcedureID = MORE["requested"]
    request.ScheduledPerformingPhysicianName = MORE["sequence_name"]
    ds.RequestAttributesSequence = [request]
    block = ds.private_block(0x0011, "ACME NEUROLENS TEST", create=True)
    block.add_new(0x01, "LO", SECRETS["private"])
    ds.Modality, ds.Manufacturer = modality, "Acme"
    ds.SeriesNumber, ds.InstanceNumber = series, number
    ds.SeriesDescription = f"T1 AX {PATIENT_NAME.split('^')[0]}"
    ds.BodyPartExamined, ds.PatientPosition = "BRAIN", "HFS"
    ds.ImagePositionPatient = [0, 0, float(number * 5)]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing, ds.SliceThickness = [0.9, 0.9], 5
    ds.ScanningSequence, ds.SequenceVariant, ds.ScanOptions, ds.MRAcquisitionType = "SE", "NONE", "", "2D"
    ds.EchoTrainLength, ds.ImageType = 1, ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.set_pixel_data(grey.astype(np.uint16), "MONOCHROME2", 12, generate_instance_uid=False)
    ds.RescaleSlope, ds.RescaleIntercept = 1, 0
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    return ds


def all_planted() -> dict[str, str]:
    return {**SECRETS, **MORE, "patient_id": PATIENT_ID}


def leaked(text: str | bytes) -> list[str]:
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    low = text.lower()
    return [k for k, v in all_planted().items() if v.lower() in low]


def to_bytes(ds: Dataset) -> bytes:
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def stow(client, datasets, content_type: str | None = None):
    """POST the datasets to /dicomweb/studies as STOW-RS."""
    from scans.studies.multipart import encode

    body, default_type = encode([to_bytes(ds) for ds in datasets])
    return client.post("/dicomweb/studies", body, content_type=content_type or default_type)


def stow_series(client, cls: str, count: int):
    """A series sent by STOW-RS and classified (BATCH_BACKGROUND is off in tests): its Series row."""
    from scans.models import Series

    response = stow(client, mr_series(cls, count))
    assert response.status_code == 200, response.content[:300]
    return Series.objects.latest("pk")
