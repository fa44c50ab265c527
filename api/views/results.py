"""Statistics and export over the caller's visible scans, with the history page's filters."""

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from api import export, statistics
from api.errors import errors
from api.filters import FILTER_PARAMETERS, filtered_scans
from api.serializers import ProbabilitiesSerializer
from audit.models import AuditEvent
from audit.trail import record

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


def statistics_body(scans) -> dict:
    return {**statistics.summary(scans), "confidence_histogram": statistics.confidence_histogram(scans),
            "by_day": statistics.daily_counts(scans)}


@extend_schema(tags=["results"], summary="Counts and averages over your visible scans",
               parameters=[p for p in FILTER_PARAMETERS if p.name != "sort"],
               responses={200: StatisticsSerializer, **errors(400)})
@api_view(["GET"])
def statistics_view(request):
    return Response(statistics_body(filtered_scans(request)))


ExportRows = inline_serializer("ExportRow", {
    "scan_id": serializers.IntegerField(), "created": serializers.DateTimeField(),
    "owner": serializers.CharField(), "original_name": serializers.CharField(),
    "patient_ref": serializers.CharField(), "label": serializers.CharField(),
    "confidence": serializers.FloatField(),
    **{f"prob_{c}": serializers.FloatField() for c in ProbabilitiesSerializer().fields},
    "out_of_scope": serializers.BooleanField(), "out_of_scope_reason": serializers.CharField(),
    "model_version": serializers.CharField(),
}, many=True)


def _streamed(chunks, content_type: str, extension: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type=content_type)
    name = f"neurolens-{timezone.now():%Y%m%d-%H%M%S}.{extension}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@extend_schema(tags=["results"], summary="Export your visible predictions as CSV", parameters=FILTER_PARAMETERS,
               description=f"Columns: {', '.join(export.COLUMNS)}.",
               responses={(200, "text/csv"): OpenApiTypes.STR, **errors(400)})
@api_view(["GET"])
def export_csv(request):
    scans = filtered_scans(request)
    record(request.user, AuditEvent.EXPORTED, object_type="export", detail=f"CSV {request.GET.urlencode()}")
    return _streamed(export.csv_chunks(scans), "text/csv; charset=utf-8", "csv")


@extend_schema(tags=["results"], summary="Export your visible predictions as JSON", parameters=FILTER_PARAMETERS,
               responses={200: ExportRows, **errors(400)})
@api_view(["GET"])
def export_json(request):
    scans = filtered_scans(request)
    record(request.user, AuditEvent.EXPORTED, object_type="export", detail=f"JSON {request.GET.urlencode()}")
    return _streamed(export.json_chunks(scans), "application/json", "json")
