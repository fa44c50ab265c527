"""The analytics filters, read from the query string so every view of the data is a URL."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef
from django.utils import timezone

from analytics import access
from analytics.scope import Scope
from scans.forms import percent_field
from scans.models import LABEL_CHOICES, Prediction, Review

PERIODS = [("week", "Week"), ("day", "Day")]
REVIEW_CHOICES = [("", "Any review status"), (Review.UNREVIEWED, "Unreviewed"), *Review.STATUS_CHOICES]
SCOPE_CHOICES = [("", "In and out of scope"), ("no", "In scope only"), ("yes", "Out of scope only")]


class AnalyticsFilterForm(forms.Form):
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    label = forms.ChoiceField(label="Class", choices=[("", "All classes"), *LABEL_CHOICES], required=False)
    model_version = forms.CharField(label="Model version", max_length=64, required=False)
    min_confidence = percent_field()
    review = forms.ChoiceField(label="Review", choices=REVIEW_CHOICES, required=False)
    out_of_scope = forms.ChoiceField(label="Scope", choices=SCOPE_CHOICES, required=False)
    user = forms.ModelChoiceField(label="User", queryset=None, required=False, to_field_name="username",
                                  empty_label="All users")
    period = forms.ChoiceField(label="Timeline by", choices=PERIODS, required=False)

    def __init__(self, data, *, viewer):
        super().__init__(data or None)
        self.viewer = viewer
        if access.shows_users(viewer):
            has_predictions = Exists(Prediction.objects.filter(owner=OuterRef("pk")))
            self.fields["user"].queryset = get_user_model().objects.filter(has_predictions).order_by("username")
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

    def scope(self) -> Scope:
        """What the viewer may see, narrowed by the valid filters, with days in the viewer's zone."""
        v = self.values
        scope = Scope(owner=access.visible_owner(self.viewer), user=v["user"].pk if "user" in v else None,
                      label=v.get("label"), model_version=v.get("model_version"), review=v.get("review"),
                      out_of_scope={"yes": True, "no": False}.get(v.get("out_of_scope")),
                      min_pct=v.get("min_confidence"), tz=timezone.get_current_timezone())
        return scope.with_dates(v.get("date_from"), v.get("date_to"))


def filtered(request) -> tuple[AnalyticsFilterForm, Scope]:
    form = AnalyticsFilterForm(request.GET, viewer=request.user)
    return form, form.scope()
