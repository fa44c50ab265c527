from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from analytics import access, export, reports
from analytics.filters import filtered
from analytics.scope import predictions
from audit.models import AuditEvent
from audit.trail import record


def _allowed(request: HttpRequest) -> None:
    if not access.can_view(request.user):
        raise PermissionDenied("Your account has no role that may see the analytics.")


def _template(request: HttpRequest, template: str, name: str) -> str:
    if request.htmx and not request.htmx.history_restore_request:
        return f"{template}#{name}"
    return template


def _context(request: HttpRequest, form) -> dict:
    return {"form": form, "query": request.GET.urlencode(), "sees_everything": access.sees_everything(request.user)}


@require_GET
@vary_on_headers("HX-Request")
def dashboard(request: HttpRequest) -> HttpResponse:
    _allowed(request)
    form, scope = filtered(request)
    ctx = {**_context(request, form), **reports.dashboard(scope, request.user, form.timeline_period),
           "chartjs_url": settings.CHARTJS_URL, "chartjs_integrity": settings.CHARTJS_INTEGRITY}
    return render(request, _template(request, "analytics/dashboard.html", "results"), ctx)


@require_GET
@vary_on_headers("HX-Request")
def statistics(request: HttpRequest) -> HttpResponse:
    _allowed(request)
    form, scope = filtered(request)
    ctx = {**_context(request, form), "stats": reports.statistics(scope, request.user),
           "resolution": reports.RESOLUTION}
    return render(request, _template(request, "analytics/statistics.html", "results"), ctx)


def _export_scope(request: HttpRequest):
    """The export's scope; an invalid filter is a 400 naming the field, never an unfiltered export."""
    form, scope = filtered(request)
    if form.is_bound and not form.is_valid():
        problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())
        return None, HttpResponseBadRequest(f"Not exported. Invalid filter {problems}", content_type="text/plain")
    return scope, None


@require_GET
def export_csv(request: HttpRequest) -> HttpResponse:
    _allowed(request)
    scope, refused = _export_scope(request)
    if refused:
        return refused
    record(request.user, AuditEvent.EXPORTED, object_type="analytics-export", detail=f"CSV {request.GET.urlencode()}")
    chunks = export.csv_chunks(predictions(scope), export.columns_for(request.user), dated=scope.dated)
    return export.streamed(chunks, "text/csv; charset=utf-8", "csv")


@require_GET
def export_json(request: HttpRequest) -> HttpResponse:
    _allowed(request)
    scope, refused = _export_scope(request)
    if refused:
        return refused
    record(request.user, AuditEvent.EXPORTED, object_type="analytics-export", detail=f"JSON {request.GET.urlencode()}")
    return export.streamed(export.json_chunks(predictions(scope), export.columns_for(request.user)),
                           "application/json", "json")
