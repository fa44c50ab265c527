"""Statistics and export over the caller's visible scans, with the history page's filters: the same
figures (analytics.reports) and rows (analytics.export) as the analytics pages."""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from analytics import export, reports
from analytics.scope import Scope, predictions
from api.errors import errors
from api.filters import FILTER_PARAMETERS, history_form
from api.serializers import ProbabilitiesSerializer
from audit.models import AuditEvent
from audit.trail import record
from scans import permissions

CountsSerializer = inline_serializer("LabelCounts", {
    name: serializers.IntegerField() for name in ProbabilitiesSerializer().fields})

StatisticsSerializer = inline_serializer("Statistics", {
    "total": serializers.IntegerField(),
    "out_of_scope": serializers.IntegerField(),
    "mean_confidence": serializers.FloatField(allow_null=True),
    "first": serializers.DateTimeField(allow_null=True),
    "last": serializers.DateTimeField(allow_null=True),
    "by_label": CountsSerializer,
    "confidence_histogram": serializers.ListField(
        child=serializers.IntegerField(), help_text="Scans per tenth of confidence, 0-10 % first."),
    "by_day": serializers.ListField(child=inline_serializer("DayCount", {
        "date": serializers.DateField(), "count": serializers.IntegerField()})),
})


def request_scope(request) -> tuple[Scope, str]:
    """The caller's visible predictions under the history filters (a 400 for a bad one), and the order."""
    form = history_form(request)  # a 400 for a blank or bad filter
    v = {k: val for k, val in form.cleaned_data.items() if val not in (None, "")}
    owner = None if permissions.sees_all_scans(request.user) else request.user.pk
    #  `label` as on the history: the class each scan stands at (its reviewer's once reviewed).
    scope = Scope(owner=owner, headline_label=v.get("label"), review=v.get("review"), min_pct=v.get("min_confidence"),
                  out_of_scope={"yes": True, "no": False}.get(v.get("out_of_scope")), q=v.get("q"),
                  tz=timezone.get_current_timezone())
    return scope.with_dates(v.get("date_from"), v.get("date_to")), v.get("sort") or "-created"


@extend_schema(tags=["results"], summary="Counts and averages over your visible scans",
               parameters=[p for p in FILTER_PARAMETERS if p.name != "sort"],
               responses={200: StatisticsSerializer, **errors(400)})
@api_view(["GET"])
def statistics_view(request):
    return Response(reports.results(request_scope(request)[0]))


COLUMNS = [name for name, _ in export.FIELDS]
_null_for_oos = "null for an out-of-scope image (not assessed)"
ExportRows = inline_serializer("ExportRow", {
    "prediction_id": serializers.IntegerField(), "scan_id": serializers.IntegerField(),
    "created": serializers.DateTimeField(), "owner": serializers.CharField(),
    "original_name": serializers.CharField(), "patient_ref": serializers.CharField(),
    "label": serializers.ChoiceField(choices=list(ProbabilitiesSerializer().fields), allow_null=True, help_text=f"The model's class; {_null_for_oos}."),
    "confidence": serializers.FloatField(allow_null=True, help_text=f"0 to 1; {_null_for_oos}."),
    **{f"prob_{c}": serializers.FloatField(allow_null=True) for c in ProbabilitiesSerializer().fields},
    "out_of_scope": serializers.BooleanField(), "out_of_scope_reason": serializers.CharField(),
    "model_version": serializers.CharField(), "inference_ms": serializers.FloatField(),
    "review_status": serializers.ChoiceField(choices=["unreviewed", "confirmed", "corrected", "not_assessable"]),
    "reviewed_label": serializers.CharField(help_text="The reviewer's class; empty when unreviewed or not assessable."),
    "review_reason": serializers.CharField(help_text="Why not assessable: wrong_modality, poor_quality, not_brain, "
                                                     "other; else empty."),
    "effective_label": serializers.CharField(help_text="The class the scan stands at: the reviewer's once reviewed, "
                                                       "else the model's; empty when there is none."),
}, many=True)


def _export(request, kind: str):
    scope, order = request_scope(request)
    record(request.user, AuditEvent.EXPORTED, object_type="export", detail=f"{kind.upper()} {request.GET.urlencode()}")
    #  Whoever sees a scan here sees its owner and patient reference, as on the history page.
    if kind == "csv":
        return export.streamed(export.csv_chunks(predictions(scope), export.FIELDS, order, dated=scope.dated),
                               "text/csv; charset=utf-8", "csv", prefix="neurolens")
    return export.streamed(export.json_chunks(predictions(scope), export.FIELDS, order), "application/json", "json",
                           prefix="neurolens")


@extend_schema(tags=["results"], summary="Export your visible predictions as CSV", parameters=FILTER_PARAMETERS,
               description=f"Columns: {', '.join(COLUMNS)}.",
               responses={(200, "text/csv"): OpenApiTypes.STR, **errors(400)})
@api_view(["GET"])
def export_csv(request):
    return _export(request, "csv")


@extend_schema(tags=["results"], summary="Export your visible predictions as JSON", parameters=FILTER_PARAMETERS,
               responses={200: ExportRows, **errors(400)})
@api_view(["GET"])
def export_json(request):
    return _export(request, "json")
