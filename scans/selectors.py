"""Every visibility-filtered read: the one place that decides who sees which scans, patients,
predictions, batches and studies. A missing object and someone else's give the same 404."""

from __future__ import annotations

from django.db.models import Count, Exists, F, Max, Min, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from scans.models import BatchJob, Patient, Prediction, Review, Scan, Series, Slice, Study
from scans.permissions import sees_all_scans


def visible_scans(user) -> QuerySet[Scan]:
    scans = Scan.objects.select_related("prediction", "owner", "patient")
    return scans if sees_all_scans(user) else scans.filter(owner=user)


def standalone(scans: QuerySet[Scan]) -> QuerySet[Scan]:
    """The scans that are not a slice of a PACS series: the flat lists (history, a patient's scans)
    show those, and each series once (`visible_series`); a slice's scan is reached from its series."""
    return scans.filter(~Exists(Slice.objects.filter(scan=OuterRef("pk"))))


def get_scan_for_user(user, pk: int) -> Scan:
    """The scan, or 404 whether it does not exist or belongs to someone else: no difference shows."""
    try:
        return visible_scans(user).get(pk=pk)
    except Scan.DoesNotExist:
        raise Http404("No such scan") from None


def with_review_status(scans: QuerySet) -> QuerySet:
    """Each scan annotated with its current review's `review_status` (or unreviewed), `review_label`
    and `review_reason` (empty without one): what scans.verdicts needs for its headline."""
    current = Review.objects.filter(scan=OuterRef("pk"), current=True)
    return scans.annotate(review_status=Coalesce(Subquery(current.values("status")[:1]), Value(Review.UNREVIEWED)),
                          review_label=Coalesce(Subquery(current.values("label")[:1]), Value("")),
                          review_reason=Coalesce(Subquery(current.values("reason")[:1]), Value("")))


def predictions_of(scans: QuerySet[Scan]) -> QuerySet[Prediction]:
    """The predictions of these (already visibility-filtered) scans."""
    return Prediction.objects.filter(scan__in=scans.values("pk"))


def get_prediction_for_user(user, pk: int) -> Prediction:
    prediction = predictions_of(visible_scans(user)).filter(pk=pk).first()
    if prediction is None:
        raise Http404("No such prediction.")
    return prediction


def patient_scans(user, public_id) -> tuple[Patient, QuerySet[Scan]]:
    """One patient and their visible scans, oldest first; 404 when there are none to see."""
    patient = Patient.objects.select_related("owner").filter(public_id=public_id).first()
    scans = visible_scans(user).filter(patient=patient).order_by("created", "id") if patient else None
    if not scans:
        raise Http404("No such patient")
    return patient, scans


def patient_rows(user) -> QuerySet:
    """One row per patient among the visible scans: their reference, public id and owner (empty for a
    DICOM pseudonym, which is shared), stand-alone scans and PACS series (a series counts once, not
    per slice), first and last upload; latest first."""
    return (visible_scans(user).filter(patient__isnull=False)
            .values(public_id=F("patient__public_id"), reference=F("patient__reference"),
                    owner_name=F("patient__owner__username"))
            .annotate(scans=Count("id", filter=Q(slices__isnull=True), distinct=True),
                      series=Count("slices__series", distinct=True), first=Min("created"), last=Max("created"))
            .order_by("-last", "reference"))


def visible_batches(user) -> QuerySet[BatchJob]:
    batches = BatchJob.objects.select_related("owner")
    return batches if sees_all_scans(user) else batches.filter(owner=user)


def get_batch_for_user(user, pk: int) -> BatchJob:
    """The batch, or 404 whether it does not exist or is someone else's."""
    try:
        return visible_batches(user).get(pk=pk)
    except BatchJob.DoesNotExist:
        raise Http404("No such batch") from None


def visible_studies(user) -> QuerySet[Study]:
    """Studies from a PACS (scans/studies): the scans' rule, owners theirs, reviewers and staff all."""
    pseudonym = Patient.objects.filter(owner__isnull=True, reference=OuterRef("patient_ref")).values("public_id")
    studies = Study.objects.select_related("owner").annotate(patient_public_id=Subquery(pseudonym[:1]))
    return studies if sees_all_scans(user) else studies.filter(owner=user)


def visible_series(user) -> QuerySet[Series]:
    """The series of the visible studies, newest first, each with its study and owner: one row per
    series wherever scans are listed (history, a patient's page)."""
    pseudonym = Patient.objects.filter(owner__isnull=True, reference=OuterRef("study__patient_ref")).values("public_id")
    series = (Series.objects.select_related("study__owner").annotate(patient_public_id=Subquery(pseudonym[:1]))
              .order_by("-created", "-id"))
    return series if sees_all_scans(user) else series.filter(study__owner=user)


def patient_series(user, patient: Patient) -> QuerySet[Series]:
    """A DICOM pseudonym's visible series (a typed reference never names a PACS patient)."""
    if not patient.is_pseudonym:
        return Series.objects.none()
    return visible_series(user).filter(study__patient_ref=patient.reference)


def get_study_for_user(user, pk: int) -> Study:
    try:
        return visible_studies(user).get(pk=pk)
    except Study.DoesNotExist:
        raise Http404("No such study") from None


def get_series_for_user(user, pk: int) -> Series:
    try:
        return Series.objects.select_related("study").get(pk=pk, study__in=visible_studies(user))
    except Series.DoesNotExist:
        raise Http404("No such series") from None


def get_slice_for_user(user, pk: int) -> Slice:
    try:
        return Slice.objects.get(pk=pk, series__study__in=visible_studies(user))
    except Slice.DoesNotExist:
        raise Http404("No such slice") from None
