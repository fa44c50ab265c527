"""Studies from a PACS: DICOM network intake, series results, DICOM SR/SC and FHIR back out."""
