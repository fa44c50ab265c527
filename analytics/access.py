"""Who sees which predictions in the analytics, and which columns."""

from __future__ import annotations

from django.db.models import QuerySet

from scans.models import Prediction
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


def visible_predictions(user) -> QuerySet[Prediction]:
    preds = Prediction.objects.order_by()
    return preds if sees_everything(user) else preds.filter(scan__owner=user)
