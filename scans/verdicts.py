"""What a scan's result is, in one place: its headline everywhere (pages, PDF, API, exports).

Out of scope is a result of its own: the image is not assessed, and the model's class and
probabilities (kept in the row as computed) are never presented. Once a reviewer has given a verdict,
the verdict is the headline and the model's output is shown beside it as "model said"."""

from __future__ import annotations

from dataclasses import dataclass

from ml.infer import DISPLAY_NAMES
from scans.models import Prediction, Review

OUT_OF_SCOPE_TITLE = "Not assessed: out of scope"
REASONS = dict(Review.REASON_CHOICES)


@dataclass(frozen=True)
class Headline:
    status: str  # unreviewed, confirmed, corrected or not_assessable (the current review's)
    title: str  # "Glioma Tumor", "Not assessed: out of scope", "Not assessable: poor quality"
    label: str | None  # the class the scan stands at (the effective label), None when there is none
    detail: str  # the out-of-scope or not-assessable reason, in words
    model_said: str  # the model's own output in words
    confidence: float | None  # the model's, only while its class is the headline
    reason: str = ""  # not assessable: the reason's key (wrong_modality, poor_quality, not_brain, other)

    @property
    def reviewed(self) -> bool:
        return self.status != Review.UNREVIEWED

    @property
    def kind(self) -> str:
        """For styling: model, out_of_scope, confirmed, corrected, not_assessable."""
        if self.reviewed:
            return self.status
        return "model" if self.label else "out_of_scope"


def model_said(p: Prediction) -> str:
    if p.out_of_scope:
        return OUT_OF_SCOPE_TITLE + (f" ({p.out_of_scope_reason})" if p.out_of_scope_reason else "")
    return f"{DISPLAY_NAMES[p.label]}, {p.confidence * 100:.1f}%"


def out_of_scope_reason(p: Prediction) -> str:
    return p.out_of_scope_reason or "unlike the brain MRI slices the model was trained on"


def headline(p: Prediction, status: str = Review.UNREVIEWED, label: str = "", reason: str = "") -> Headline:
    """The headline of a prediction whose current review has this status, label and reason."""
    said = model_said(p)
    if status == Review.NOT_ASSESSABLE:
        words = REASONS.get(reason, reason).lower()
        return Headline(status, f"Not assessable: {words}", None, words, said, None, reason)
    if status in (Review.CONFIRMED, Review.CORRECTED) and label:
        return Headline(status, DISPLAY_NAMES[label], label, "", said, None)
    if p.out_of_scope:
        return Headline(Review.UNREVIEWED, OUT_OF_SCOPE_TITLE, None, out_of_scope_reason(p), said, None)
    return Headline(Review.UNREVIEWED, DISPLAY_NAMES[p.label], p.label, "", said, p.confidence)


def of_scan(scan) -> Headline:
    """A scan's headline: from the annotations of scans.selectors.with_review_status when present,
    else from its current review (one query)."""
    if hasattr(scan, "review_status"):
        return headline(scan.prediction, scan.review_status, scan.review_label or "", scan.review_reason or "")
    review = current_review(scan)
    if review is None:
        return headline(scan.prediction)
    return headline(scan.prediction, review.status, review.label, review.reason)


def no_review_yet(scan) -> None:
    """Remember that a scan just created has no review, so that current_review need not ask."""
    scan._current_review = None


def current_review(scan) -> Review | None:
    cached = getattr(scan, "_current_review", False)
    if cached is False:
        cached = scan.reviews.filter(current=True).select_related("reviewer").first()
        scan._current_review = cached
    return cached


def counts_line(result: dict) -> str:
    """"glioma 12, no tumour 40; 3 out of scope" from a series_result (empty before there is one)."""
    if not result.get("slices"):
        return ""
    classes = ", ".join(f"{DISPLAY_NAMES.get(c, c).lower()} {n}" for c, n in result.get("counts", {}).items() if n)
    return f"{classes or 'no slice in scope'}; {result.get('out_of_scope', 0)} out of scope"
