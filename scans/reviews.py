"""Reviewers' verdicts and their worklist.

A verdict is confirmed (the model's class is right), corrected (with the right class) or not
assessable (with a reason: wrong modality, poor quality, not a brain slice, other). The newest is the
scan's status, and its headline everywhere (scans.verdicts); the prediction is never changed.

The worklist is every unreviewed scan, what most needs a human first: a suspected tumour the model
is unsure of, then out-of-scope images, then the rest; oldest first within each. A PACS series is in
it through its key images only (scans.studies.result), each with a link to its series."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When

from audit.models import AuditEvent
from audit.trail import record
from scans import selectors
from scans.models import Review, Scan, Slice

REASONS = {key for key, _ in Review.REASON_CHOICES}


class VerdictInvalid(ValueError):
    """A verdict that does not fit the scan (e.g. confirming a class the model did not give)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def check_verdict(prediction, status: str, corrected_label: str = "", reason: str = "") -> None:
    """VerdictInvalid(field, message) unless this verdict fits the prediction."""
    if status == Review.CONFIRMED and prediction.out_of_scope:
        raise VerdictInvalid("status", "The model gave no class for an out-of-scope image: correct it with the "
                                       "right class, or mark it not assessable.")
    if status == Review.CORRECTED:
        if not corrected_label:
            raise VerdictInvalid("corrected_label", "Say which label is right.")
        if corrected_label == prediction.label and not prediction.out_of_scope:
            raise VerdictInvalid("corrected_label", "That is the model's label: confirm it instead.")
    if status == Review.NOT_ASSESSABLE and reason not in REASONS:
        raise VerdictInvalid("reason", "Say why it cannot be assessed: wrong modality, poor quality, not a brain "
                                       "slice, or other.")


def review_scan(reviewer, scan: Scan, status: str, corrected_label: str = "", reason: str = "",
                comment: str = "") -> Review:
    """Record a reviewer's verdict (VerdictInvalid if it does not fit). The prediction is left as the
    model made it; earlier verdicts are kept, superseded."""
    prediction = scan.prediction
    check_verdict(prediction, status, corrected_label, reason)
    corrected_label = corrected_label if status == Review.CORRECTED else ""
    reason = reason if status == Review.NOT_ASSESSABLE else ""
    label = {Review.CONFIRMED: prediction.label, Review.CORRECTED: corrected_label}.get(status, "")
    with transaction.atomic():
        Scan.objects.select_for_update().filter(pk=scan.pk).first()  # one review at a time per scan
        Review.objects.filter(scan=scan, current=True).update(current=False)
        review = Review.objects.create(scan=scan, prediction=prediction, reviewer=reviewer, status=status,
                                       corrected_label=corrected_label, reason=reason, label=label,
                                       comment=comment.strip())
        record(reviewer, AuditEvent.REVIEWED, scan, f"{status} {corrected_label or reason}".strip())
    return review


def worklist(user) -> QuerySet[Scan]:
    """The unreviewed scans this reviewer sees, most in need of a human first."""
    low = settings.ANALYTICS_LOW_CONFIDENCE_PCT / 100
    need = Case(
        When(Q(prediction__out_of_scope=False) & ~Q(prediction__label="notumor")
             & Q(prediction__confidence__lt=low), then=Value(0)),
        When(prediction__out_of_scope=True, then=Value(1)),
        default=Value(2), output_field=IntegerField())
    scans = selectors.with_review_status(selectors.visible_scans(user)).filter(review_status=Review.UNREVIEWED)
    #  A PACS series is offered through its key images (the series result's most suspicious slices),
    #  not slice by slice; its other slices stay reachable from the series page.
    ordinary = Slice.objects.filter(scan=OuterRef("pk"), key=False)
    key = Slice.objects.filter(scan=OuterRef("pk"), key=True)
    return (scans.filter(~Exists(ordinary)).annotate(need=need, series_id=Subquery(key.values("series_id")[:1]))
            .order_by("need", "created", "id"))


def next_for_review(user, after: Scan | None = None) -> Scan | None:
    """The first scan of the worklist, other than `after`."""
    scans = worklist(user)
    if after is not None:
        scans = scans.exclude(pk=after.pk)
    return scans.first()
