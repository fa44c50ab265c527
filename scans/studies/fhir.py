"""The study's results as a FHIR R4 transaction Bundle: a DiagnosticReport with its Observations,
the pseudonymous Patient, the ImagingStudy and the model as a Device.

Validated with fhir.resources' R4B models (DiagnosticReport, Observation, ImagingStudy, Device,
Patient and Bundle are the same in R4 and R4B); the required value sets and reference target
types those models do not enforce are checked by `problems`.
"""

from __future__ import annotations

import uuid

from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle

from ml.infer import CLASSES, DISPLAY_NAMES
from scans.models import Series, Study
from scans.studies.result import NO_TUMOUR
from scans.studies.sealed import unseal
from scans.studies.sr import STATEMENT

SYSTEM = "urn:neurolens:codes"
PATIENT_SYSTEM = "urn:neurolens:patient-key"
REQUIRED = {  # resource type -> (element, allowed codes): the required bindings used here
    "Bundle": ("type", {"document", "message", "transaction", "transaction-response", "batch", "batch-response",
                        "history", "searchset", "collection"}),
    "DiagnosticReport": ("status", {"registered", "partial", "preliminary", "final", "amended", "corrected",
                                    "appended", "cancelled", "entered-in-error", "unknown"}),
    "Observation": ("status", {"registered", "preliminary", "final", "amended", "corrected", "cancelled",
                               "entered-in-error", "unknown"}),
    "ImagingStudy": ("status", {"registered", "available", "cancelled", "entered-in-error", "unknown"}),
    "Device": ("status", {"active", "inactive", "entered-in-error", "unknown"}),
}
TARGETS = {  # (resource, reference element) -> the resource types it may point at
    ("DiagnosticReport", "subject"): {"Patient", "Group", "Device", "Location"},
    ("DiagnosticReport", "result"): {"Observation"},
    ("DiagnosticReport", "imagingStudy"): {"ImagingStudy"},
    ("Observation", "subject"): {"Patient", "Group", "Device", "Location"},
    ("Observation", "device"): {"Device", "DeviceMetric"},
    ("Observation", "derivedFrom"): {"DocumentReference", "ImagingStudy", "Media", "QuestionnaireResponse",
                                     "Observation", "MolecularSequence"},
    ("ImagingStudy", "subject"): {"Patient", "Device", "Group"},
}


def _urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _code(code: str, display: str, system: str = SYSTEM) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def bundle(study: Study, series: list[Series]) -> dict:
    """The Bundle as JSON-ready data; `series` are the study's finished series."""
    original = unseal(study.sealed)
    when = max((s.finished for s in series), default=None) or study.created
    effective = when.isoformat()
    urls = {"patient": _urn(), "device": _urn(), "study": _urn(), "report": _urn()}
    entries, results = [], []
    versions = sorted({s.result.get("model_version", "") for s in series} - {""})
    patient = {"resourceType": "Patient", "identifier": [
        {"system": PATIENT_SYSTEM, "value": study.patient_ref or f"study-{study.pk}"}]}
    device = {"resourceType": "Device", "status": "active", "manufacturer": "NeuroLens",
              "deviceName": [{"name": "NeuroLens brain MRI classifier", "type": "model-name"}],
              "version": [{"value": v} for v in versions]}
    imaging = {"resourceType": "ImagingStudy", "status": "available", "subject": {"reference": urls["patient"]},
               "identifier": [{"system": "urn:dicom:uid", "value": f"urn:oid:{original['StudyInstanceUID']}"}],
               "numberOfSeries": len(series),
               "numberOfInstances": sum(s.result.get("slices", 0) for s in series)}
    for s in series:
        r = s.result
        label = r.get("label", "")
        common = {"status": "preliminary", "subject": {"reference": urls["patient"]},
                  "effectiveDateTime": s.finished.isoformat() if s.finished else effective,
                  "device": {"reference": urls["device"]}, "derivedFrom": [{"reference": urls["study"]}],
                  "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                            "code": "imaging", "display": "Imaging"}]}]}
        obs = [{"resourceType": "Observation", **common,
                "code": _code("SERIES-LABEL", f"Series {s.number or s.pk} label (NeuroLens)"),
                "valueCodeableConcept": _code(label.upper() or "NO-RESULT", r.get("label_display", "")),
                "note": [{"text": f"{r.get('rule', '')} {r.get('single_slice_note', '')}"}]}]
        for c in CLASSES:
            if r.get("mean_probabilities", {}).get(c) is not None:
                obs.append({"resourceType": "Observation", **common,
                            "code": _code(f"P-{c.upper()}", f"Series {s.number or s.pk} mean probability of "
                                                             f"{DISPLAY_NAMES[c]}"),
                            "valueQuantity": {"value": r["mean_probabilities"][c], "unit": "1",
                                              "system": "http://unitsofmeasure.org", "code": "1"}})
        for o in obs:
            url = _urn()
            results.append({"reference": url})
            entries.append((url, o))
    labels = [f"series {s.number or s.pk}: {s.result.get('label_display', '')}" for s in series]
    tumour = [s for s in series if s.result.get("label") not in ("", NO_TUMOUR)]
    report = {"resourceType": "DiagnosticReport", "status": "preliminary",
              "code": _code("24590-2", "MR Brain", "http://loinc.org"),
              "subject": {"reference": urls["patient"]}, "effectiveDateTime": effective,
              "issued": timezone.now().isoformat(), "imagingStudy": [{"reference": urls["study"]}],
              "result": results,
              "conclusion": f"NeuroLens {', '.join(versions)}: {'; '.join(labels) or 'no finished series'}. "
                            f"{STATEMENT}",
              "conclusionCode": [_code("TUMOUR-SUSPECTED" if tumour else "NO-TUMOUR-SUSPECTED",
                                       "Tumour suspected" if tumour else "No tumour suspected")]}
    sr_uids = [s.sr_uid for s in series if s.sr_uid]
    if sr_uids:
        report["identifier"] = [{"system": "urn:dicom:uid", "value": f"urn:oid:{u}"} for u in sr_uids]
    fixed = [(urls["patient"], patient), (urls["device"], device), (urls["study"], imaging)]
    data = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": url, "resource": res, "request": {"method": "POST", "url": res["resourceType"]}}
        for url, res in [*fixed, *entries, (urls["report"], report)]]}
    return Bundle.model_validate(data).model_dump(mode="json", exclude_none=True)


def problems(data: dict) -> list[str]:
    """What the models let through: required value sets and reference target types."""
    found = []
    kinds = {e["fullUrl"]: e["resource"]["resourceType"] for e in data.get("entry", [])}
    element, allowed = REQUIRED["Bundle"]
    if data.get(element) not in allowed:
        found.append(f"Bundle.type {data.get(element)!r}")
    for entry in data.get("entry", []):
        res = entry["resource"]
        kind = res["resourceType"]
        if kind in REQUIRED:
            element, allowed = REQUIRED[kind]
            if res.get(element) not in allowed:
                found.append(f"{kind}.{element} {res.get(element)!r} is not in its required value set")
        for (owner, name), targets in TARGETS.items():
            if owner != kind or name not in res:
                continue
            refs = res[name] if isinstance(res[name], list) else [res[name]]
            for ref in refs:
                target = kinds.get(ref.get("reference"))
                if target not in targets:
                    found.append(f"{kind}.{name} points at {target or ref.get('reference')}")
    return found
