"""The results as DICOM: a TID 1500 Measurement Report in a Comprehensive 3D SR (the IHE AI Results
profile's root template) and a Secondary Capture of the key slice with its heat map.

Both carry the original patient and study attributes and reference the original instances, opened
from their sealed form here and nowhere else, so a PACS files them under the original study.
"""

from __future__ import annotations

import io
import re

import highdicom as hd
import numpy as np
from highdicom.coding_schemes import CodingSchemeIdentificationItem
from PIL import Image
from pydicom import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from ml.infer import CLASSES, DISPLAY_NAMES
from scans.studies.receive import MANUFACTURER, PATIENT_STUDY
from scans.studies.result import NO_TUMOUR

SCHEME = "99NEUROLENS"
STATEMENT = ("NeuroLens output supports a clinician's decision and is not a diagnosis. The model was "
             "trained on single 2-D slices; the series label summarises per-slice results.")
PROCEDURE = hd.sr.CodedConcept("25056-3", "LN", "MRI unspecified body region")
NEOPLASM = hd.sr.CodedConcept("108369006", "SCT", "Neoplasm")
PRESENT, ABSENT = hd.sr.CodedConcept("52101004", "SCT", "Present"), hd.sr.CodedConcept("272519000", "SCT", "Absent")
BRAIN = hd.sr.CodedConcept("12738006", "SCT", "Brain")
CLASS_NAME = hd.sr.CodedConcept("TUMOURCLASS", SCHEME, "Tumour class")
UNITY = hd.sr.CodedConcept("1", "UCUM", "no units")
SLICES = hd.sr.CodedConcept("{slices}", "UCUM", "slices")
DEVICE_UID = generate_uid(entropy_srcs=["NeuroLens classifier device"])
SR_SERIES, SC_SERIES = 9100, 9101


def class_code(c: str) -> hd.sr.CodedConcept:
    return hd.sr.CodedConcept(c.upper(), SCHEME, DISPLAY_NAMES[c])


_DATE = re.compile(r"^\d{8}$")
_TIME = re.compile(r"^\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?$")


def conforming(study: dict) -> dict:
    """The sealed patient/study attributes with values their VR does not allow left empty (a sender's
    PatientSex of "unknown", a date of "none"): an outbound object must still be valid DICOM. The
    Patient ID and Study Instance UID, which the PACS files by, are kept as sent."""
    out = dict(study)
    if str(out.get("PatientSex", "")).strip().upper() not in ("M", "F", "O"):
        out["PatientSex"] = ""
    for keyword in ("PatientBirthDate", "StudyDate"):
        if not _DATE.match(str(out.get(keyword, ""))):
            out[keyword] = ""
    if not _TIME.match(str(out.get("StudyTime", ""))):
        out["StudyTime"] = ""
    out["AccessionNumber"], out["StudyID"] = str(out.get("AccessionNumber", ""))[:16], str(out.get("StudyID", ""))[:16]
    return out


def evidence(study: dict, series: dict, instance: dict) -> Dataset:
    """A stand-in for an original instance: the attributes a reference and the patient module need."""
    ds = Dataset()
    for keyword in PATIENT_STUDY:
        setattr(ds, keyword, study.get(keyword, ""))
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study["StudyInstanceUID"], series["SeriesInstanceUID"]
    ds.SOPInstanceUID, ds.SOPClassUID = instance["SOPInstanceUID"], instance["SOPClassUID"]
    ds.Modality = "MR"
    return ds


def build_sr(study: dict, series: dict, instances: list[dict], key: list[dict], result: dict) -> Dataset:
    """`instances`: every original instance of the series (sealed form opened); `key` the key slices'."""
    label, study = result["label"], conforming(study)
    evaluations = [hd.sr.QualitativeEvaluation(NEOPLASM, ABSENT if label == NO_TUMOUR else PRESENT),
                   hd.sr.QualitativeEvaluation(CLASS_NAME, class_code(label))]
    measurements = []
    for c in CLASSES:
        if result["mean_probabilities"][c] is not None:
            measurements.append(hd.sr.Measurement(
                hd.sr.CodedConcept(f"P-{c.upper()}", SCHEME, f"Mean probability of {DISPLAY_NAMES[c]}"),
                float(result["mean_probabilities"][c]), UNITY))
        measurements.append(hd.sr.Measurement(
            hd.sr.CodedConcept(f"N-{c.upper()}", SCHEME, f"In-scope slices labelled {DISPLAY_NAMES[c]}"),
            float(result["counts"][c]), SLICES))
    measurements.append(hd.sr.Measurement(
        hd.sr.CodedConcept("N-OUTOFSCOPE", SCHEME, "Slices out of scope"), float(result["out_of_scope"]), SLICES))
    group = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=generate_uid(), identifier="NeuroLens series result"),
        finding_type=NEOPLASM, finding_sites=[hd.sr.FindingSite(BRAIN)],
        algorithm_id=hd.sr.AlgorithmIdentification(name=MANUFACTURER, version=result["model_version"]),
        measurements=measurements, qualitative_evaluations=evaluations,
        source_images=[hd.sr.SourceImageForMeasurementGroup(
            k["SOPClassUID"], k["SOPInstanceUID"], [k["frame"]] if k["frames"] > 1 else None) for k in key])
    context = hd.sr.ObservationContext(observer_device_context=hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=DEVICE_UID, name=MANUFACTURER, manufacturer_name=MANUFACTURER, model_name=result["model_version"])))
    report = hd.sr.MeasurementReport(observation_context=context, procedure_reported=PROCEDURE,
                                     imaging_measurements=[group])
    statement = hd.sr.ContainerContentItem(
        name=hd.sr.CodedConcept("C0034375", "UMLS", "Qualitative Evaluations"),
        relationship_type=hd.sr.RelationshipTypeValues.CONTAINS)
    statement.ContentSequence = [hd.sr.TextContentItem(
        name=codes.DCM.Comment, value=f"{STATEMENT} {result['rule']}"[:1024],
        relationship_type=hd.sr.RelationshipTypeValues.CONTAINS)]
    report[0].ContentSequence.append(statement)
    seen, refs = set(), []
    for i in instances:
        if i["SOPInstanceUID"] not in seen:
            seen.add(i["SOPInstanceUID"])
            refs.append(evidence(study, series, i))
    sr = hd.sr.Comprehensive3DSR(
        evidence=refs, content=report[0], series_instance_uid=generate_uid(), series_number=SR_SERIES,
        sop_instance_uid=generate_uid(), instance_number=1, manufacturer=MANUFACTURER, is_complete=True,
        coding_schemes=[CodingSchemeIdentificationItem(SCHEME, name="NeuroLens classifier codes")])
    sr.SeriesDescription = "NeuroLens AI result (decision support)"
    return sr


def build_sc(study: dict, series: dict, key: dict, rgb: np.ndarray, result: dict) -> Dataset:
    """The key slice with its heat map: a labelled convenience image, not the result itself."""
    study = conforming(study)
    sc = hd.sc.SCImage(
        pixel_array=rgb, photometric_interpretation="RGB", bits_allocated=8, coordinate_system="PATIENT",
        study_instance_uid=study["StudyInstanceUID"], series_instance_uid=generate_uid(), series_number=SC_SERIES,
        sop_instance_uid=generate_uid(), instance_number=1, manufacturer=MANUFACTURER,
        patient_id=study["PatientID"], patient_name=study["PatientName"] or None,
        patient_birth_date=study["PatientBirthDate"] or None, patient_sex=study["PatientSex"] or None,
        accession_number=study["AccessionNumber"] or None, study_id=study["StudyID"] or None,
        study_date=study["StudyDate"] or None, study_time=study["StudyTime"] or None,
        referring_physician_name=study["ReferringPhysicianName"] or None,
        patient_orientation=("L", "P"), transfer_syntax_uid=ExplicitVRLittleEndian)
    sc.BodyPartExamined = "BRAIN"
    sc.SeriesDescription = "NeuroLens key slice heat map (not for diagnosis)"
    sc.ImageComments = (f"NeuroLens {result['model_version']}: series label {result['label_display']}; heat map "
                        f"of the key slice. Decision support, not a diagnosis.")[:10240]
    source = Dataset()
    source.ReferencedSOPClassUID, source.ReferencedSOPInstanceUID = key["SOPClassUID"], key["SOPInstanceUID"]
    if key["frames"] > 1:
        source.ReferencedFrameNumber = key["frame"]
    sc.SourceImageSequence = [source]
    sc.BurnedInAnnotation = "NO"
    return sc


def to_bytes(ds: Dataset) -> bytes:
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def overlay_rgb(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as img:
        return np.asarray(img.convert("RGB"), np.uint8)



def warm() -> None:
    """Build a throw-away SR and SC once: highdicom reads its IOD tables on first use (seconds),
    which would otherwise land on the first series' results."""
    study = {k: "" for k in PATIENT_STUDY} | {"StudyInstanceUID": generate_uid(), "PatientID": "WARM"}
    series = {"SeriesInstanceUID": generate_uid()}
    one = {"SOPInstanceUID": generate_uid(), "SOPClassUID": "1.2.840.10008.5.1.4.1.1.4", "frame": 1, "frames": 1}
    result = {"label": NO_TUMOUR, "label_display": "No tumour", "model_version": "warm", "rule": "",
              "mean_probabilities": dict.fromkeys(CLASSES, 0.25), "counts": dict.fromkeys(CLASSES, 0),
              "out_of_scope": 0}
    build_sr(study, series, [one], [one], result)
    build_sc(study, series, one, np.zeros((16, 16, 3), np.uint8), result)
