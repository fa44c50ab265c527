"""De-identification of a parsed DICOM dataset, after the DICOM PS3.15 basic confidentiality profile.

Besides the profile's named attributes, three rules catch what a list would miss: every person name
(VR PN), every date and time (DA, DT, TM) and every private element goes, wherever it sits, and
every instance UID is replaced by a new one. Sequences survive only where decoding needs them.
Free-text descriptions are removed, except the series description, which is shown to users and so
is cleaned instead (the profile's "clean descriptors" option): any word of the patient's name or ID
is cut out of it.
"""

from __future__ import annotations

import re

from pydicom import Dataset
from pydicom.dataelem import DataElement
from pydicom.uid import generate_uid

#  PS3.15 Annex E, basic profile: identifying attributes that are not person names, dates or UIDs.
PROFILE = {
    "PatientID", "OtherPatientIDs", "OtherPatientIDsSequence", "IssuerOfPatientID", "PatientAddress",
    "PatientTelephoneNumbers", "PatientAge", "PatientSex", "PatientSize", "PatientWeight",
    "MedicalRecordLocator", "EthnicGroup", "Occupation", "AdditionalPatientHistory", "PatientComments",
    "MilitaryRank", "BranchOfService", "CountryOfResidence", "RegionOfResidence", "PatientReligiousPreference",
    "MedicalAlerts", "Allergies", "PregnancyStatus", "SmokingStatus", "PatientState", "ResponsibleOrganization",
    "PatientInsurancePlanCodeSequence", "InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName",
    "InstitutionCodeSequence", "ReferringPhysicianAddress", "ReferringPhysicianTelephoneNumbers",
    "StationName", "DeviceSerialNumber", "PlateID", "DetectorID", "GantryID", "AccessionNumber", "StudyID",
    "StudyDescription", "ProtocolName", "ImageComments", "FrameComments", "DerivationDescription",
    "AdmittingDiagnosesDescription", "ReasonForStudy", "RequestedProcedureDescription", "RequestedProcedureID",
    "ScheduledProcedureStepDescription", "ScheduledProcedureStepID", "PerformedProcedureStepID",
    "PerformedProcedureStepDescription", "RequestAttributesSequence", "ReferencedPatientSequence",
    "ReferencedStudySequence", "ReferencedPerformedProcedureStepSequence", "ReferencedImageSequence",
    "SourceImageSequence", "OriginalAttributesSequence", "ModifiedAttributesSequence",
    "DigitalSignaturesSequence", "ContentSequence", "AcquisitionContextSequence", "ProcedureCodeSequence",
    "TextString", "TextComments", "InterpretationText", "ImpressionText", "PersonAddress",
    "PersonTelephoneNumbers", "DeviceDescription", "ContrastBolusAgent", "IconImageSequence",
    "CurrentPatientLocation", "PatientInstitutionResidence", "AdmissionID", "ServiceEpisodeID",
    "VisitComments", "ClinicalTrialSponsorName", "ClinicalTrialSubjectID", "ClinicalTrialSiteName",
}
#  Sequences the pixel pipeline reads; every other sequence is dropped whole.
KEEP_SEQUENCES = {"ModalityLUTSequence", "VOILUTSequence"}
#  UIDs that name a kind of object, not a patient's object: kept.
CLASS_UIDS = {"SOPClassUID", "ReferencedSOPClassUID", "MediaStorageSOPClassUID", "TransferSyntaxUID",
              "ImplementationClassUID"}
CLEANED = "SeriesDescription"
#  The curve and overlay groups (50xx, 60xx) can carry burnt-in text; they go too.
_CURVE_OR_OVERLAY = range(0x5000, 0x6100)


def deidentify(ds: Dataset) -> None:
    """Strip `ds` in place, file meta included."""
    identifying = _identifying_words(ds)
    ds.remove_private_tags()
    uids: dict[str, str] = {}
    _strip(ds, uids)
    if ds.file_meta is not None:
        _strip(ds.file_meta, uids)
    if CLEANED in ds:
        ds.SeriesDescription = _clean(str(ds.SeriesDescription), identifying)


def _identifying_words(ds: Dataset) -> list[str]:
    words = []
    for keyword in ("PatientName", "PatientID", "OtherPatientNames", "PatientBirthName"):
        value = str(ds.get(keyword, "") or "")
        words += [w for w in re.split(r"[\^\s,=.]+", value) if len(w) >= 2]
    return sorted(set(words), key=len, reverse=True)


def _clean(text: str, words: list[str]) -> str:
    for word in words:
        text = re.sub(re.escape(word), "", text, flags=re.IGNORECASE)
    text = re.sub(r"\d{6,}", "", text)  # long digit runs: dates and record numbers
    return re.sub(r"\s{2,}", " ", text).strip(" _-^")[:64]


def _strip(ds: Dataset, uids: dict[str, str]) -> None:
    for elem in list(ds):
        if _goes(elem):
            del ds[elem.tag]
        elif elem.VR == "UI" and elem.keyword not in CLASS_UIDS and elem.value:
            values = elem.value if elem.VM > 1 else [elem.value]
            new = [uids.setdefault(str(v), generate_uid()) for v in values]
            elem.value = new if elem.VM > 1 else new[0]
        elif elem.VR == "SQ":
            for item in elem.value:
                _strip(item, uids)


def _goes(elem: DataElement) -> bool:
    if elem.tag.is_private or elem.tag.group in _CURVE_OR_OVERLAY:
        return True
    if elem.VR in ("PN", "DA", "DT", "TM"):
        return True
    if elem.keyword in PROFILE:
        return True
    return elem.VR == "SQ" and elem.keyword not in KEEP_SEQUENCES
