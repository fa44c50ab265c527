"""Who sees which predictions in the analytics, and which columns."""

from __future__ import annotations

from scans.permissions import CLINICIAN, RESEARCHER, REVIEWER, has_role


def can_view(user) -> bool:
    """Any role (or staff); an account without one sees no analytics at all."""
    return user.is_staff or any(has_role(user, r) for r in (CLINICIAN, REVIEWER, RESEARCHER))


def sees_everything(user) -> bool:
    return user.is_staff or has_role(user, REVIEWER) or has_role(user, RESEARCHER)


def shows_patient_ref(user) -> bool:
    """Researchers study the model, not patients: a patient reference never reaches them."""
    return user.is_staff or has_role(user, REVIEWER) or not sees_everything(user)


def shows_users(user) -> bool:
    """Who uploaded how much is an administrator's question."""
    return user.is_staff


def usage_label(viewer, rank: int, name: str | None) -> str:
    """How a user appears in the usage figures (scans per user and day). Staff see names, as in the
    busiest users; a clinician sees only their own scans, so the one user is "You"; reviewers and
    researchers see the spread of work between users but not who: "User 1" is whoever uploaded most
    under the current filters (a rank, not a stable pseudonym that could be followed across views)."""
    if shows_users(viewer):
        return name or "?"
    if not sees_everything(viewer):
        return "You"
    return f"User {rank}"


def visible_owner(user) -> int | None:
    """Whose predictions the user's analytics count: None for everyone's, else their own id."""
    return None if sees_everything(user) else user.pk
