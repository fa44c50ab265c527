from django import forms
from django.db.models import Q, QuerySet

from scans.models import LABEL_CHOICES


class UploadForm(forms.Form):
    #  Empty files pass here so that ingest gives the same message as the API will.
    image = forms.FileField(label="MRI slice (JPEG or PNG)", allow_empty_file=True)
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
        return scans.order_by(*SORTS[data.get("sort") or "-created"])

    def current_sort(self) -> str:
        return self._valid_data().get("sort") or "-created"

    def _valid_data(self) -> dict:
        if not self.is_bound:
            return {}
        self.is_valid()
        return self.cleaned_data
