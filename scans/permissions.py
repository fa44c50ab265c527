"""Who may do what: the roles (groups; administrators are staff) and the can-do rules. What each
user may see is read through scans.selectors, which asks sees_all_scans here."""

from __future__ import annotations

from scans.models import Scan

CLINICIAN, REVIEWER, RESEARCHER = "clinician", "reviewer", "researcher"
ROLES = (CLINICIAN, REVIEWER, RESEARCHER)


def has_role(user, role: str) -> bool:
    if not user.is_authenticated:
        return False
    cache = getattr(user, "_neurolens_roles", None)
    if cache is None:
        remember_roles(user, set(user.groups.values_list("name", flat=True)))
        cache = user._neurolens_roles
    return role in cache


def remember_roles(user, names: set[str]) -> None:
    """The user's group names, read with the user (API token sign-in): has_role asks no query then."""
    user._neurolens_roles = set(names)


def sees_all_scans(user) -> bool:
    return user.is_staff or has_role(user, REVIEWER)


def can_upload(user) -> bool:
    return user.is_staff or has_role(user, CLINICIAN)


def can_delete(user, scan: Scan) -> bool:
    return user.is_staff or scan.owner_id == user.pk


def can_review(user) -> bool:
    return user.is_staff or has_role(user, REVIEWER)
