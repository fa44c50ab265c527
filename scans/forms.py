from django import forms
from django.db.models import Q, QuerySet

from scans.models import LABEL_CHOICES, Review
from scans.selectors import with_review_status


class UploadForm(forms.Form):
    #  Empty files pass here so that ingest gives the same message as the API will.
    image = forms.FileField(label="MRI slice (JPEG, PNG or DICOM)", allow_empty_file=True)
    patient_ref = forms.CharField(
        label="Patient reference", max_length=64, required=False,
        help_text="Optional. Your own reference, not a name: e.g. a study number.",
    )
    note = forms.CharField(label="Note", max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))


SORTS = {
    "-created": ("-created", "-id"),
    "created": ("created", "id"),
    "label": ("prediction__label", "-created"),
    "-label": ("-prediction__label", "-created"),
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
    min_confidence = forms.IntegerField(
        label="Min. confidence (%)", min_value=0, max_value=100, required=False,
        widget=forms.NumberInput(attrs={"step": 5}),
    )
    out_of_scope = forms.ChoiceField(label="Scope", choices=YES_NO, required=False)
    review = forms.ChoiceField(label="Review", choices=REVIEW_STATUSES, required=False)
    sort = forms.ChoiceField(choices=[(k, k) for k in SORTS], required=False, widget=forms.HiddenInput)

    def filter(self, scans: QuerySet) -> QuerySet:
        """The scans matching the valid filters; an invalid one is ignored (and shown as an error)."""
        data = self._valid_data()
        if data.get("q"):
            scans = scans.filter(Q(original_name__icontains=data["q"]) | Q(patient_ref__icontains=data["q"]))
        if data.get("label"):
            scans = scans.filter(prediction__label=data["label"])
        if data.get("date_from"):
            scans = scans.filter(created__date__gte=data["date_from"])
        if data.get("date_to"):
            scans = scans.filter(created__date__lte=data["date_to"])
        if data.get("min_confidence") is not None:
            scans = scans.filter(prediction__confidence__gte=data["min_confidence"] / 100)
        if data.get("out_of_scope"):
            scans = scans.filter(prediction__out_of_scope=data["out_of_scope"] == "yes")
        scans = with_review_status(scans)
        if data.get("review"):
            scans = scans.filter(review_status=data["review"])
        return scans.order_by(*SORTS[data.get("sort") or "-created"])

    def current_sort(self) -> str:
        return self._valid_data().get("sort") or "-created"

    def _valid_data(self) -> dict:
        if not self.is_bound:
            return {}
        self.is_valid()
        return self.cleaned_data


class ReviewForm(forms.Form):
    status = forms.ChoiceField(label="Verdict", choices=Review.STATUS_CHOICES,
                               widget=forms.RadioSelect(attrs={"class": "form-check-input"}))
    corrected_label = forms.ChoiceField(label="Correct label", choices=[("", "—"), *LABEL_CHOICES], required=False)
    comment = forms.CharField(label="Comment", max_length=2000, required=False,
                              widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, prediction=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.prediction = prediction

    def clean(self):
        data = super().clean()
        if data.get("status") == Review.CORRECTED:
            if not data.get("corrected_label"):
                self.add_error("corrected_label", "Say which label is right.")
            elif self.prediction is not None and data["corrected_label"] == self.prediction.label:
                self.add_error("corrected_label", "That is the model's label: confirm it instead.")
        return data
