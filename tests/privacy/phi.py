"""Files with identifying data planted in every place a file can carry it, and the search for it.

DICOM: a value in every attribute of DICOM PS3.15's basic confidentiality profile (Annex E, table
E.1-1) that pydicom knows, text and dates and UIDs that cannot occur by chance, plus free text in
the series description. JPEG: EXIF (artist, description, comment), a COM segment, XMP, and text
after the end. PNG: tEXt, zTXt and iTXt chunks and text after IEND. File and folder names carry
their own marker (ZQFILE), which clinicians may see of their own uploads but nobody else may.
"""

from __future__ import annotations

import io
import zlib
from contextlib import suppress

import numpy as np
import pydicom
from PIL import Image, PngImagePlugin
from pydicom import Dataset
from pydicom.datadict import dictionary_VR, keyword_dict
from pydicom.dataset import FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage

from tests.helpers import mri_slice

MARK = "ZQPHI"  # in every planted text value: cannot occur by chance in 5 letters
FILE_MARK = "ZQFILE"  # in every planted file or folder name
UID_ROOT = "2.25.99977"  # every planted UID
DATES = ("19610203", "1961-02-03", "03 Feb 1961")
SERIES_FREE_TEXT = f"T1 AX {MARK}NAME dob 1961-02-03 MRN {MARK}MRN77 ward {MARK}WARD"

#  PS3.15 Annex E, table E.1-1: the basic profile's attributes (those in pydicom's dictionary).
BASIC_PROFILE = """
AccessionNumber AcquisitionComments AcquisitionContextSequence AcquisitionDate AcquisitionDateTime
AcquisitionDeviceProcessingDescription AcquisitionProtocolDescription AcquisitionTime ActualHumanPerformersSequence
AdditionalPatientHistory AdmissionID AdmittingDate AdmittingDiagnosesCodeSequence AdmittingDiagnosesDescription
AdmittingTime AffectedSOPInstanceUID Allergies AuthorObserverSequence BranchOfService CassetteID
CommentsOnThePerformedProcedureStep ConcatenationUID ConfidentialityConstraintOnPatientDataDescription
ContentCreatorName ContentCreatorIdentificationCodeSequence ContentDate ContentSequence ContentTime
ContextGroupExtensionCreatorUID ContrastBolusAgent ContributionDescription CountryOfResidence CurrentPatientLocation
CurveDate CurveTime CustodialOrganizationSequence DerivationDescription DetectorID DeviceSerialNumber DeviceUID
DigitalSignaturesSequence DimensionOrganizationUID DischargeDiagnosisDescription DistributionAddress
DistributionName DoseReferenceUID EthnicGroup FailedSOPInstanceUIDList FiducialUID
FillerOrderNumberImagingServiceRequest FrameComments FrameOfReferenceUID GantryID GeneratorID
GraphicAnnotationSequence HumanPerformerName HumanPerformerOrganization IconImageSequence IdentifyingComments
ImageComments ImagePresentationComments ImagingServiceRequestComments Impressions InstanceCreatorUID
InstitutionAddress InstitutionCodeSequence InstitutionName InstitutionalDepartmentName InsurancePlanIdentification
IntendedRecipientsOfResultsIdentificationSequence InterpretationApproverSequence InterpretationAuthor
InterpretationDiagnosisDescription InterpretationIDIssuer InterpretationRecorder InterpretationText
InterpretationTranscriber IrradiationEventUID IssuerOfAdmissionID IssuerOfPatientID IssuerOfServiceEpisodeID
LargePaletteColorLookupTableUID MAC MedicalAlerts MedicalRecordLocator MilitaryRank ModifiedAttributesSequence
ModifiedImageDescription ModifyingDeviceID NameOfPhysiciansReadingStudy NamesOfIntendedRecipientsOfResults
Occupation OperatorIdentificationSequence OperatorsName OriginalAttributesSequence OrderCallbackPhoneNumber
OrderEnteredBy OrderEntererLocation OtherPatientIDs OtherPatientIDsSequence OtherPatientNames
OverlayDate OverlayTime ParticipantSequence PatientAddress PatientAge PatientBirthDate PatientBirthName
PatientBirthTime PatientComments PatientID PatientInstitutionResidence PatientInsurancePlanCodeSequence
PatientMotherBirthName PatientName PatientPrimaryLanguageCodeSequence PatientPrimaryLanguageModifierCodeSequence
PatientReligiousPreference PatientSex PatientSexNeutered PatientSize PatientState PatientTelecomInformation
PatientTelephoneNumbers PatientTransportArrangements PatientWeight PerformedLocation
PerformedProcedureStepDescription PerformedProcedureStepEndDate PerformedProcedureStepEndTime
PerformedProcedureStepID PerformedProcedureStepStartDate PerformedProcedureStepStartTime PerformedStationAETitle
PerformedStationGeographicLocationCodeSequence PerformedStationName PerformedStationNameCodeSequence
PerformingPhysicianIdentificationSequence PerformingPhysicianName PersonAddress PersonIdentificationCodeSequence
PersonName PersonTelecomInformation PersonTelephoneNumbers PhysicianApprovingInterpretation PhysiciansOfRecord
PhysiciansOfRecordIdentificationSequence PhysiciansReadingStudyIdentificationSequence
PlacerOrderNumberImagingServiceRequest PlateID PreMedication PregnancyStatus ProtocolName
ReasonForTheImagingServiceRequest ReasonForStudy ReasonForTheRequestedProcedure ReferencedDigitalSignatureSequence
ReferencedFrameOfReferenceUID ReferencedImageSequence ReferencedPatientAliasSequence ReferencedPatientPhotoSequence
ReferencedPatientSequence ReferencedPerformedProcedureStepSequence ReferencedSOPInstanceMACSequence
ReferencedSOPInstanceUID ReferencedStudySequence ReferringPhysicianAddress ReferringPhysicianIdentificationSequence
ReferringPhysicianName ReferringPhysicianTelephoneNumbers RegionOfResidence RelatedFrameOfReferenceUID
RequestAttributesSequence RequestedContrastAgent RequestedProcedureComments RequestedProcedureDescription
RequestedProcedureID RequestedProcedureLocation RequestedSOPInstanceUID RequestingPhysician RequestingService
RequestingServiceCodeSequence ResponsibleOrganization ResponsiblePerson ResultsComments
ResultsDistributionListSequence ResultsIDIssuer ReviewerName ScheduledHumanPerformersSequence
ScheduledPatientInstitutionResidence ScheduledPerformingPhysicianIdentificationSequence
ScheduledPerformingPhysicianName ScheduledProcedureStepDescription ScheduledProcedureStepEndDate
ScheduledProcedureStepEndTime ScheduledProcedureStepID ScheduledProcedureStepLocation
ScheduledProcedureStepStartDate ScheduledProcedureStepStartTime ScheduledStationAETitle
ScheduledStationGeographicLocationCodeSequence ScheduledStationName ScheduledStationNameCodeSequence
ScheduledStudyLocation ScheduledStudyLocationAETitle SeriesDate SeriesDescription SeriesInstanceUID SeriesTime
ServiceEpisodeDescription ServiceEpisodeID SmokingStatus SourceImageSequence SpecialNeeds StationName
StorageMediaFileSetUID StudyComments StudyDate StudyDescription StudyID StudyIDIssuer StudyInstanceUID StudyTime
SynchronizationFrameOfReferenceUID TemplateExtensionCreatorUID TemplateExtensionOrganizationUID TextComments
TextString TimezoneOffsetFromUTC TopicAuthor TopicKeywords TopicSubject TopicTitle TransactionUID UID
VerifyingObserverIdentificationCodeSequence VerifyingObserverName VerifyingObserverSequence VerifyingOrganization
VisitComments
""".split()  # noqa: SIM905 - the table, as read
#  Replaced rather than removed: a new UID (the first three), or the patient's keyed pseudonym.
REPLACED = {"SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "PatientID"}
TEXT_VRS = {"LO", "SH", "LT", "ST", "UT", "UC", "AE", "CS", "PN", "UR"}


def _value(keyword: str, n: int):
    vr = dictionary_VR(keyword)
    if vr == "PN":
        return f"{MARK}{n}^Quorvena"
    if vr in TEXT_VRS:
        return f"{MARK}{n}"
    if vr == "DA":
        return DATES[0]
    if vr == "DT":
        return DATES[0] + "101530"
    if vr == "TM":
        return "101530"
    if vr == "UI":
        return f"{UID_ROOT}{n:04d}"
    if vr == "SQ":
        item = Dataset()
        item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = f"{MARK}C{n}", "99ZQ", f"{MARK}{n} meaning"
        return Sequence([item])
    if vr == "AS":
        return "061Y"
    if vr in ("DS", "FL", "FD"):
        return "77.7" if vr == "DS" else 77.7
    if vr in ("IS", "US", "UL", "SS", "SL"):
        return 77
    if vr in ("OB", "OW", "UN", "OB or OW"):
        return f"{MARK}{n}".encode()
    if vr == "SQ or OB":
        return None
    return f"{MARK}{n}"


def planted_dicom(seed: int, size: int = 128, patient_id: str = f"{MARK}PID77") -> bytes:
    """An MR slice with every attribute of the basic profile filled, and free text in its description."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = MRImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = f"{UID_ROOT}9{seed:03d}"
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.SourceApplicationEntityTitle = f"{MARK}AET"
    ds.SOPClassUID = MRImageStorage
    for n, keyword in enumerate(BASIC_PROFILE):
        if keyword_dict[keyword] >> 16 == 0:
            continue  # a command element (0000,xxxx): a network message's, never in a file
        value = _value(keyword, n)
        if value is not None:
            setattr(ds, keyword, value)
    ds.PatientID = patient_id
    ds.SOPInstanceUID = f"{UID_ROOT}9{seed:03d}"
    ds.SeriesDescription = SERIES_FREE_TEXT
    ds.Modality, ds.InstanceNumber = "MR", 12
    block = ds.private_block(0x0011, f"{MARK} PRIVATE", create=True)
    block.add_new(0x01, "LO", f"{MARK}PRIVATE")
    ds.add_new(0x60000022, "LO", f"{MARK}OVERLAY")  # overlay description (group 60xx: not in the dictionary)
    ds.add_new(0x60004000, "LT", f"{MARK}OVERLAYCOMMENTS")  # overlay comments, in the profile
    grey = np.asarray(mri_slice(size, seed), np.uint16) * 8
    ds.Rows = ds.Columns = size
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelSpacing, ds.SliceThickness = [0.5, 0.5], 5
    ds.PixelData = grey.tobytes()
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True, implicit_vr=False, little_endian=True)
    return buf.getvalue()


def planted_jpeg(seed: int) -> bytes:
    img = mri_slice(256, seed, "RGB")
    exif = Image.Exif()
    exif[0x013B] = f"{MARK}ARTIST"  # Artist
    exif[0x010E] = f"{MARK}DESCRIPTION dob 1961-02-03"  # ImageDescription
    exif[0x8298] = f"{MARK}COPYRIGHT"
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, exif=exif, comment=f"{MARK}COMMENT".encode())
    data = buf.getvalue()
    xmp = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>" + f"{MARK}XMP".encode() + b"</x:xmpmeta>"
    data = data[:2] + b"\xff\xe1" + (len(xmp) + 2).to_bytes(2, "big") + xmp + data[2:]
    return data + f"{MARK}TRAILER".encode()


def planted_png(seed: int, mode: str = "L") -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", f"{MARK}AUTHOR")
    info.add_text("Comment", f"{MARK}ZTXT dob 1961-02-03", zip=True)
    info.add_itxt("Description", f"{MARK}ITXT", lang="en", tkey="Description")
    buf = io.BytesIO()
    mri_slice(256, seed, mode).save(buf, "PNG", pnginfo=info)
    return buf.getvalue() + f"{MARK}TRAILER".encode()


def found(text: str | bytes) -> list[str]:
    """The planted values in `text` (bytes read as Latin-1; compressed PNG text is read by file_text)."""
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    low = text.lower()
    return [m for m in (MARK, UID_ROOT, *DATES) if m.lower() in low]


def file_text(data: bytes) -> str:
    """Everything readable in a stored file: its bytes, and for images and DICOM what a reader decodes
    (PNG's compressed text chunks, EXIF, every DICOM element)."""
    parts = [data.decode("latin-1")]
    with suppress(Exception), Image.open(io.BytesIO(data)) as img:  # not an image: its bytes alone
        parts += [repr(img.info), repr(dict(img.getexif()))]
        for chunk in img.info.values():
            if isinstance(chunk, bytes):
                parts.append(zlib.decompress(chunk).decode("latin-1") if chunk[:1] == b"x" else "")
    with suppress(Exception):  # not DICOM
        parts.append(str(pydicom.dcmread(io.BytesIO(data), force=True)))
    return "\n".join(parts)


def profile_keywords() -> list[str]:
    missing = [k for k in BASIC_PROFILE if k not in keyword_dict]
    assert not missing, missing
    return BASIC_PROFILE
