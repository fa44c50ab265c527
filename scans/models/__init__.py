"""The app's tables, one module per concern; imported from here (`from scans.models import Scan`)."""

from scans.models.batches import BatchItem, BatchJob
from scans.models.clinical import LABEL_CHOICES, Prediction, Review, Scan, scan_upload_to

__all__ = ["LABEL_CHOICES", "BatchItem", "BatchJob", "Prediction", "Review", "Scan", "scan_upload_to"]
