"""Shadow predictions: what another model version says about a stored scan, kept beside its result.

`manage.py rescore` runs the served model (or any kept version, ml.versions) over stored scans and
writes one ShadowPrediction per scan and version. A shadow never replaces the scan's Prediction:
nothing that shows or counts a scan's result (history, detail, reports, exports, the analytics
rollups and their triggers, the API) reads this table. Only the version comparison does
(analytics.agreement). Deleting a scan deletes its shadows (CASCADE).
"""

from django.conf import settings
from django.db import models

from scans.models.clinical import ModelOutput, PredictionQuerySet, Scan


class ShadowPrediction(ModelOutput):
    RESCORE = "rescore"
    KIND_CHOICES = [(RESCORE, "Re-scored over stored scans (manage.py rescore)")]

    scan = models.ForeignKey(Scan, on_delete=models.CASCADE, related_name="shadows", related_query_name="shadow")
    #  The scan's owner, copied as on Prediction: the comparison's visibility filter needs no join.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                              editable=False, db_index=False)
    kind = models.CharField(max_length=16, choices=KIND_CHOICES, default=RESCORE)

    objects = PredictionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scan", "model_version", "kind"], name="shadow_once_per_scan_version"),
        ]
        indexes = [
            models.Index(fields=["model_version", "scan"], name="shadow_version_scan"),
            models.Index(fields=["owner", "model_version"], name="shadow_owner_version"),
        ]
