"""The administrator's hand-over of a study (who sees a study is decided in scans.selectors)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet

from audit.models import AuditEvent
from audit.trail import record
from scans.models import Prediction, Scan, Study
from scans.permissions import CLINICIAN, has_role


def clinicians() -> QuerySet:
    return get_user_model().objects.filter(groups__name=CLINICIAN, is_active=True).order_by("username")


def hand_over(admin, study: Study, clinician) -> None:
    """An administrator gives a study (its slices' scans and predictions too) to a clinician."""
    if not admin.is_staff:
        raise PermissionError("Only administrators hand studies over.")
    if not has_role(clinician, CLINICIAN):
        raise ValueError("Studies are handed to clinicians.")
    with transaction.atomic():
        previous = study.owner.get_username()
        scans = Scan.objects.filter(slices__series__study=study)
        Prediction.objects.filter(scan__in=scans).update(owner=clinician)
        Scan.objects.filter(pk__in=scans.values("pk")).update(owner=clinician)
        Study.objects.filter(pk=study.pk).update(owner=clinician)
        record(admin, AuditEvent.ASSIGNED, study, f"handed over from {previous} to {clinician.get_username()}")
