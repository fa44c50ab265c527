"""The app's tables, one module per concern; imported from here (`from scans.models import Scan`)."""

from scans.models.batches import BatchItem, BatchJob
from scans.models.clinical import LABEL_CHOICES, Prediction, Review, Scan, scan_upload_to
from scans.models.patients import Patient
from scans.models.shadows import ShadowPrediction
from scans.models.studies import Series, Slice, Study

__all__ = ["LABEL_CHOICES", "BatchItem", "BatchJob", "Patient", "Prediction", "Review", "Scan", "Series", "ShadowPrediction", "Slice", "Study",
           "scan_upload_to"]
