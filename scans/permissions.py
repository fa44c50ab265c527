"""Who may do what. Roles are groups; administrators are staff."""

from __future__ import annotations

from django.db.models import Count, Max, Min, QuerySet
from django.http import Http404

from scans.models import Scan

CLINICIAN, REVIEWER, RESEARCHER = "clinician", "reviewer", "researcher"
ROLES = (CLINICIAN, REVIEWER, RESEARCHER)


def has_role(user, role: str) -> bool:
    if not user.is_authenticated:
        return False
    cache = getattr(user, "_neurolens_roles", None)
    if cache is None:
        cache = set(user.groups.values_list("name", flat=True))
        user._neurolens_roles = cache
    return role in cache


def sees_all_scans(user) -> bool:
    return user.is_staff or has_role(user, REVIEWER)


def can_upload(user) -> bool:
    return user.is_staff or has_role(user, CLINICIAN)


def visible_scans(user) -> QuerySet[Scan]:
    scans = Scan.objects.select_related("prediction", "owner")
    return scans if sees_all_scans(user) else scans.filter(owner=user)


def get_scan_for_user(user, pk: int) -> Scan:
    """The scan, or 404 whether it does not exist or belongs to someone else: no difference shows."""
    try:
        return visible_scans(user).get(pk=pk)
    except Scan.DoesNotExist:
        raise Http404("No such scan") from None


def can_delete(user, scan: Scan) -> bool:
    return user.is_staff or scan.owner_id == user.pk


def can_review(user) -> bool:
    return user.is_staff or has_role(user, REVIEWER)


def patient_scans(user, patient_ref: str) -> QuerySet[Scan]:
    """The visible scans of one patient reference, oldest first; 404 when there are none to see."""
    scans = visible_scans(user).filter(patient_ref=patient_ref).order_by("created", "id") if patient_ref else None
    if not scans:
        raise Http404("No such patient")
    return scans


def patient_rows(user) -> QuerySet:
    """One row per patient reference among the visible scans: scans, first and last upload; latest first."""
    return (visible_scans(user).exclude(patient_ref="").values("patient_ref")
            .annotate(scans=Count("id"), first=Min("created"), last=Max("created")).order_by("-last"))
