"""Batch pages: upload many files, watch the progress, then the results with the history filters."""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from audit.models import AuditEvent
from audit.trail import record
from lib.htmx import partial
from scans import permissions, selectors
from scans.batches.export import csv_response
from scans.batches.services import create_batch
from scans.batches.state import progress
from scans.forms import HistoryFilterForm
from scans.intake.errors import ScanRejected, http_status
from scans.models import BatchItem


@require_http_methods(["GET", "POST"])
def batch_new(request: HttpRequest) -> HttpResponse:
    if not permissions.can_upload(request.user):
        raise PermissionDenied("Your account has no role that may upload scans.")
    ctx = {"max_files": settings.BATCH_MAX_FILES, "max_mb": settings.MAX_UPLOAD_MB,
           "recent": selectors.visible_batches(request.user).filter(owner=request.user)[:10]}
    if request.method == "POST":
        try:
            batch = create_batch(request.user, request.FILES.getlist("files"))
        except ScanRejected as exc:
            return render(request, "scans/batch_new.html", {**ctx, "error": exc.message, "error_code": exc.code},
                          status=http_status(exc.code))
        return redirect("scans:batch", pk=batch.pk)
    return render(request, "scans/batch_new.html", ctx)


@require_GET
@vary_on_headers("HX-Request")
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = selectors.get_batch_for_user(request.user, pk)
    record(request.user, AuditEvent.VIEWED, batch)
    state = progress(batch)
    form = HistoryFilterForm(request.GET or None)
    scans = form.filter(selectors.visible_scans(request.user).filter(pk__in=batch.items.values("scan")))
    page = Paginator(scans, settings.HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    unsettled = batch.items.filter(status__in=[BatchItem.FAILED, BatchItem.SKIPPED])
    ctx = {"batch": batch, "progress": state, "form": form, "page": page, "sort": form.current_sort(),
           "filtered": any(v for k, v in request.GET.items() if k not in ("page", "sort")), "problems": unsettled}
    return render(request, partial(request, "scans/batch.html", "results"), ctx)


@require_GET
def batch_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress fragment HTMX polls; once the batch is finished the page reloads to show the results."""
    batch = selectors.get_batch_for_user(request.user, pk)
    state = progress(batch)
    response = render(request, "scans/batch.html#progress", {"batch": batch, "progress": state})
    if state.finished and request.htmx:
        response["HX-Refresh"] = "true"
    return response


@require_GET
def batch_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    batch = selectors.get_batch_for_user(request.user, pk)
    record(request.user, AuditEvent.EXPORTED, batch, "CSV")
    return csv_response(batch)
