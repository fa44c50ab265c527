import operator
from functools import reduce

from django import forms
from django.db.models import Case, CharField, F, Q, QuerySet, Value, When

from scans.intake.errors import ScanRejected
from scans.models import LABEL_CHOICES, Review, Series
from scans.patients import clean_reference
from scans.reviews import VerdictInvalid, check_verdict
from scans.selectors import with_review_status


class UploadForm(forms.Form):
    #  Empty files pass here so that ingest gives the same message as the API will.
    image = forms.FileField(label="MRI slice (JPEG, PNG or DICOM)", allow_empty_file=True)
    patient_ref = forms.CharField(
        label="Patient reference", max_length=64, required=False,
        help_text="Optional. Your own reference, not a name: e.g. a study number. One line, up to 64 characters.",
    )
    note = forms.CharField(label="Note", max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_patient_ref(self) -> str:
        try:
            return clean_reference(self.cleaned_data.get("patient_ref"))
        except ScanRejected as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None


def percent_field() -> forms.DecimalField:
    """A minimum confidence in whole or decimal per cent (87, 87.5), as the pages take it."""
    return forms.DecimalField(label="Min. confidence (%)", min_value=0, max_value=100, max_digits=6, decimal_places=3,
                              required=False, widget=forms.NumberInput(attrs={"step": "any"}))


#  The label a scan stands at: its reviewer's class once reviewed, else the model's unless out of scope.
EFFECTIVE_LABEL = Case(
    When(review_status__in=[Review.CONFIRMED, Review.CORRECTED], then=F("review_label")),
    When(review_status=Review.UNREVIEWED, prediction__out_of_scope=False, then=F("prediction__label")),
    default=Value(""), output_field=CharField())

SORTS = {
    "-created": ("-created", "-id"),
    "created": ("created", "id"),
    "label": ("effective_label", "-created"),
    "-label": ("-effective_label", "-created"),
    "confidence": ("prediction__confidence", "-created"),
    "-confidence": ("-prediction__confidence", "-created"),
}
YES_NO = [("", "Any"), ("yes", "Out of scope only"), ("no", "In scope only")]
REVIEW_STATUSES = [("", "Any"), (Review.UNREVIEWED, "Unreviewed"), *Review.STATUS_CHOICES]


class HistoryFilterForm(forms.Form):
    q = forms.CharField(label="Search", max_length=100, required=False)
    label = forms.ChoiceField(label="Label", choices=[("", "Any label"), *LABEL_CHOICES], required=False)
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    min_confidence = percent_field()
    out_of_scope = forms.ChoiceField(label="Scope", choices=YES_NO, required=False)
    review = forms.ChoiceField(label="Review", choices=REVIEW_STATUSES, required=False)
    sort = forms.ChoiceField(choices=[(k, k) for k in SORTS], required=False, widget=forms.HiddenInput)

    def filter(self, scans: QuerySet) -> QuerySet:
        """The scans matching the valid filters; an invalid one is ignored (and shown as an error)."""
        data = self._valid_data()
        scans = _searched(scans, data, "original_name", "patient_ref")
        if data.get("min_confidence") is not None:  # the model's confidence in its class: none out of scope
            scans = scans.filter(prediction__out_of_scope=False,
                                 prediction__confidence__gte=float(data["min_confidence"]) / 100)
        if data.get("out_of_scope"):
            scans = scans.filter(prediction__out_of_scope=data["out_of_scope"] == "yes")
        scans = with_review_status(scans).annotate(effective_label=EFFECTIVE_LABEL)
        if data.get("label"):  # the label each scan stands at, as the history shows it
            scans = scans.filter(effective_label=data["label"])
        if data.get("review"):
            scans = scans.filter(review_status=data["review"])
        return scans.order_by(*SORTS[data.get("sort") or "-created"])

    def filter_series(self, series: QuerySet) -> QuerySet | None:
        """The PACS series matching the filters a series has (search on its patient reference or
        description, its series label, dates); None when a filter only a single image has (confidence,
        scope, review) is set: those are per slice, shown on the series page."""
        data = self._valid_data()
        if data.get("min_confidence") is not None or data.get("out_of_scope") or data.get("review"):
            return None
        series = _searched(series, data, "description", "study__patient_ref")
        if data.get("label"):
            series = series.filter(label=data["label"], status=Series.DONE)
        return series

    def current_sort(self) -> str:
        return self._valid_data().get("sort") or "-created"

    def _valid_data(self) -> dict:
        if not self.is_bound:
            return {}
        self.is_valid()
        return self.cleaned_data


def _searched(rows: QuerySet, data: dict, *fields: str) -> QuerySet:
    """The rows whose `fields` contain the search text, created within the dates given."""
    if data.get("q"):
        rows = rows.filter(reduce(operator.or_, (Q(**{f"{f}__icontains": data["q"]}) for f in fields)))
    if data.get("date_from"):
        rows = rows.filter(created__date__gte=data["date_from"])
    if data.get("date_to"):
        rows = rows.filter(created__date__lte=data["date_to"])
    return rows


class ReviewForm(forms.Form):
    status = forms.ChoiceField(label="Verdict", choices=Review.STATUS_CHOICES,
                               widget=forms.RadioSelect(attrs={"class": "form-check-input"}))
    corrected_label = forms.ChoiceField(label="Correct label", choices=[("", "—"), *LABEL_CHOICES], required=False)
    reason = forms.ChoiceField(label="Why not assessable", choices=[("", "—"), *Review.REASON_CHOICES], required=False)
    comment = forms.CharField(label="Comment", max_length=2000, required=False,
                              widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, prediction=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.prediction = prediction

    def clean(self):
        data = super().clean()
        if self.prediction is not None and data.get("status"):
            try:
                check_verdict(self.prediction, data["status"], data.get("corrected_label", ""), data.get("reason", ""))
            except VerdictInvalid as exc:
                self.add_error(exc.field, exc.message)
        return data
