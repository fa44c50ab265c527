"""Who sees which study, and the administrator's hand-over. The rules are the scans' own
(scans.permissions): owners see theirs, reviewers and administrators see every study."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404

from audit.models import AuditEvent
from audit.trail import record
from scans.models import Prediction, Scan
from scans.permissions import CLINICIAN, has_role, sees_all_scans
from scans.studies.models import Series, Study


def visible_studies(user) -> QuerySet[Study]:
    studies = Study.objects.select_related("owner")
    return studies if sees_all_scans(user) else studies.filter(owner=user)


def get_study_for_user(user, pk: int) -> Study:
    """The study, or 404 whether it does not exist or is not the user's to see."""
    try:
        return visible_studies(user).get(pk=pk)
    except Study.DoesNotExist:
        raise Http404("No such study") from None


def get_series_for_user(user, pk: int) -> Series:
    try:
        return Series.objects.select_related("study").get(pk=pk, study__in=visible_studies(user))
    except Series.DoesNotExist:
        raise Http404("No such series") from None


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
