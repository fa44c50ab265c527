from django import forms
from django.db.models import QuerySet

from audit.models import AuditEvent


class AuditFilterForm(forms.Form):
    user = forms.CharField(label="User", max_length=150, required=False)
    action = forms.ChoiceField(label="Action", choices=[("", "Any action"), *AuditEvent.ACTIONS], required=False)
    object_type = forms.CharField(label="Object", max_length=32, required=False)
    object_id = forms.CharField(label="Object id", max_length=64, required=False)
    ip_address = forms.GenericIPAddressField(label="Address", required=False)
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = "form-select" if isinstance(field, forms.ChoiceField) else "form-control"
            field.widget.attrs["class"] = f"{css} {css}-sm"

    def filter(self, events: QuerySet) -> QuerySet:
        if not self.is_bound or not self.is_valid():
            return events
        data = self.cleaned_data
        exact = {"username": data["user"], "action": data["action"], "object_type": data["object_type"],
                 "object_id": data["object_id"], "ip_address": data["ip_address"]}
        events = events.filter(**{k: v for k, v in exact.items() if v})
        if data["date_from"]:
            events = events.filter(created__date__gte=data["date_from"])
        if data["date_to"]:
            events = events.filter(created__date__lte=data["date_to"])
        return events
