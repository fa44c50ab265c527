"""The analytics filters, read from the query string so every view of the data is a URL."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from analytics import access
from scans.models import LABEL_CHOICES, Scan

PERIODS = [("week", "Week"), ("day", "Day")]


class AnalyticsFilterForm(forms.Form):
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    label = forms.ChoiceField(label="Class", choices=[("", "All classes"), *LABEL_CHOICES], required=False)
    model_version = forms.CharField(label="Model version", max_length=64, required=False)
    min_confidence = forms.IntegerField(
        label="Min. confidence (%)", min_value=0, max_value=100, required=False,
        widget=forms.NumberInput(attrs={"step": 5}),
    )
    user = forms.ModelChoiceField(label="User", queryset=None, required=False, to_field_name="username",
                                  empty_label="All users")
    period = forms.ChoiceField(label="Timeline by", choices=PERIODS, required=False)

    def __init__(self, data, *, viewer):
        super().__init__(data or None)
        self.viewer = viewer
        if access.shows_users(viewer):
            has_scans = Exists(Scan.objects.filter(owner=OuterRef("pk")))
            self.fields["user"].queryset = get_user_model().objects.filter(has_scans).order_by("username")
        else:
            del self.fields["user"]

    @property
    def values(self) -> dict:
        """The valid filters; an invalid one is left out (and shown as an error)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}

    @property
    def timeline_period(self) -> str:
        return self.values.get("period", "week")

    def filter(self, preds: QuerySet) -> QuerySet:
        v = self.values
        #  Bounds as instants in the viewer's zone, so the index on created is used.
        if "date_from" in v:
            preds = preds.filter(created__gte=_start_of(v["date_from"]))
        if "date_to" in v:
            preds = preds.filter(created__lt=_start_of(v["date_to"] + timedelta(days=1)))
        if "label" in v:
            preds = preds.filter(label=v["label"])
        if "model_version" in v:
            preds = preds.filter(model_version=v["model_version"])
        if "min_confidence" in v:
            preds = preds.filter(confidence__gte=v["min_confidence"] / 100)
        if "user" in v:
            preds = preds.filter(owner=v["user"])
        return preds


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def filtered_predictions(request) -> tuple[AnalyticsFilterForm, QuerySet]:
    form = AnalyticsFilterForm(request.GET, viewer=request.user)
    return form, form.filter(access.visible_predictions(request.user))
