"""/api/v1/analytics/: the statistics and the chart data, with the dashboard's filters (analytics.reports)."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from analytics import access, reports
from analytics.filters import AnalyticsFilterForm
from api.errors import errors
from api.filters import as_percent

PARAMETERS = [OpenApiParameter(name, str, OpenApiParameter.QUERY, description=text) for name, text in [
    ("date_from", "On or after this day (YYYY-MM-DD)."), ("date_to", "On or before this day (YYYY-MM-DD)."),
    ("label", "Only this class as the model predicted it (in-scope scans)."), ("model_version", "Only this model version."),
    ("min_confidence", ("The model's confidence at least this fraction (0 to 1, e.g. 0.87), as every confidence is "
                       "given; out-of-scope scans, which have none, are left out.")),
    ("review", "Only scans with this review status (unreviewed, confirmed, corrected, not_assessable)."),
    ("out_of_scope", "yes: out of scope only; no: in scope only."),
    ("user", "Only this user's scans (administrators only)."), ("period", "Timeline by day or week (charts)."),
]]

_share = serializers.FloatField(allow_null=True, help_text="0 to 1; null when there is nothing to divide by")
Statistics = inline_serializer("AnalyticsStatistics", {
    "total": serializers.IntegerField(), "in_scope": serializers.IntegerField(),
    "out_of_scope": serializers.IntegerField(help_text="Not assessed: left out of every class and confidence figure."),
    "out_of_scope_share": _share,
    "low_confidence": serializers.IntegerField(), "low_confidence_share": _share,
    "low_confidence_threshold": serializers.FloatField(), "mean_confidence": serializers.FloatField(allow_null=True),
    "median_confidence": serializers.FloatField(allow_null=True),
    "first": serializers.DateTimeField(allow_null=True), "last": serializers.DateTimeField(allow_null=True),
    "by_class": inline_serializer("AnalyticsClass", {
        "label": serializers.CharField(), "name": serializers.CharField(), "count": serializers.IntegerField(),
        "share": _share, "mean_confidence": serializers.FloatField(allow_null=True),
        "median_confidence": serializers.FloatField(allow_null=True), "low_confidence": serializers.IntegerField(),
        "low_confidence_share": _share}, many=True, help_text="In-scope scans only."),
    "per_day": inline_serializer("AnalyticsDay", {
        "date": serializers.DateField(), "count": serializers.IntegerField()}, many=True),
    "busiest_users": inline_serializer("AnalyticsUser", {
        "username": serializers.CharField(), "scans": serializers.IntegerField(),
        "active_days": serializers.IntegerField(), "per_active_day": serializers.FloatField()},
        many=True, required=False, help_text="Administrators only."),
})


def _scope(request):
    if not access.can_view(request.user):
        raise exceptions.PermissionDenied("Your account has no role that may see the analytics.")
    form = AnalyticsFilterForm(as_percent(request.query_params), viewer=request.user)
    if form.is_bound and not form.is_valid():
        raise exceptions.ValidationError({k: list(v) for k, v in form.errors.items()})
    return form, form.scope()


@extend_schema(tags=["analytics"], summary="Totals, per-class figures and scans per day", parameters=PARAMETERS,
               responses={200: Statistics, **errors(400, 403)})
@api_view(["GET"])
def statistics(request):
    _, scope = _scope(request)
    return Response(reports.statistics(scope, request.user))


@extend_schema(tags=["analytics"], summary="The dashboard's charts: Chart.js configurations and tables",
               parameters=PARAMETERS, responses={200: OpenApiTypes.OBJECT, **errors(400, 403)})
@api_view(["GET"])
def charts(request):
    form, scope = _scope(request)
    return Response(reports.dashboard(scope, request.user, form.timeline_period))


_matrix = serializers.DictField(child=serializers.DictField(child=serializers.IntegerField()),
                                help_text="Rows: version a's class; columns: version b's class (both in scope).")
Versions = inline_serializer("AnalyticsModelVersions", {
    "pairs": inline_serializer("AnalyticsVersionPair", {
        "a": serializers.CharField(help_text="The older version."), "b": serializers.CharField(),
        "scans": serializers.IntegerField(help_text="Scans both versions answered."),
        "in_scope_by_both": serializers.IntegerField(), "agreed": serializers.IntegerField(), "rate": _share,
        "refused_by_a": serializers.IntegerField(help_text="Out of scope for a only."),
        "refused_by_b": serializers.IntegerField(), "refused_by_both": serializers.IntegerField(),
        "matrix": _matrix}, many=True),
    "by_version": inline_serializer("AnalyticsVersionVerdicts", {
        "version": serializers.CharField(),
        "reviewed": serializers.IntegerField(help_text="Scans with a reviewer's class that this version kept in scope."),
        "agreed": serializers.IntegerField(), "rate": _share,
        "refused": serializers.IntegerField(help_text="Scans with a reviewer's class that this version refused."),
        "as_result": serializers.IntegerField(help_text="Of them, answered as the scan's result."),
        "as_shadow": serializers.IntegerField(help_text="Of them, answered as a shadow re-score."),
        "has_card": serializers.BooleanField(help_text="The version's model card is kept (the model page).")},
        many=True),
})


@extend_schema(tags=["analytics"], summary="Model versions against each other and against the reviewers' verdicts",
               description=("Over the scans in the filters: for every two versions that answered the same scans "
                            "(a scan's result and its shadow re-scores, manage.py rescore) the agreement and the "
                            "confusion table; for every version its agreement with the reviewers' class."),
               parameters=PARAMETERS, responses={200: Versions, **errors(400, 403)})
@api_view(["GET"])
def versions(request):
    _, scope = _scope(request)
    return Response(reports.model_versions(scope))


#  API views answer 401 themselves rather than redirecting to the login page.
urlpatterns = [
    path("statistics", login_not_required(statistics), name="analytics-statistics"),
    path("charts", login_not_required(charts), name="analytics-charts"),
    path("versions", login_not_required(versions), name="analytics-versions"),
]
