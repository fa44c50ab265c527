"""Every visibility-filtered read: the one place that decides who sees which scans, patients,
predictions and batches. A missing object and someone else's give the same 404."""

from __future__ import annotations

from django.db.models import Count, Max, Min, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from scans.models import BatchJob, Prediction, Review, Scan
from scans.permissions import sees_all_scans


def visible_scans(user) -> QuerySet[Scan]:
    scans = Scan.objects.select_related("prediction", "owner")
    return scans if sees_all_scans(user) else scans.filter(owner=user)


def get_scan_for_user(user, pk: int) -> Scan:
    """The scan, or 404 whether it does not exist or belongs to someone else: no difference shows."""
    try:
        return visible_scans(user).get(pk=pk)
    except Scan.DoesNotExist:
        raise Http404("No such scan") from None


def with_review_status(scans: QuerySet) -> QuerySet:
    """Each scan annotated with `review_status`: its current review's status, or unreviewed."""
    current = Review.objects.filter(scan=OuterRef("pk"), current=True).values("status")[:1]
    return scans.annotate(review_status=Coalesce(Subquery(current), Value(Review.UNREVIEWED)))


def predictions_of(scans: QuerySet[Scan]) -> QuerySet[Prediction]:
    """The predictions of these (already visibility-filtered) scans."""
    return Prediction.objects.filter(scan__in=scans.values("pk"))


def get_prediction_for_user(user, pk: int) -> Prediction:
    prediction = predictions_of(visible_scans(user)).filter(pk=pk).first()
    if prediction is None:
        raise Http404("No such prediction.")
    return prediction


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


def visible_batches(user) -> QuerySet[BatchJob]:
    batches = BatchJob.objects.select_related("owner")
    return batches if sees_all_scans(user) else batches.filter(owner=user)


def get_batch_for_user(user, pk: int) -> BatchJob:
    """The batch, or 404 whether it does not exist or is someone else's."""
    try:
        return visible_batches(user).get(pk=pk)
    except BatchJob.DoesNotExist:
        raise Http404("No such batch") from None
