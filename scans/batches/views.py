"""Batch pages: upload many files, watch the progress, then the results with the history filters."""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from audit.models import AuditEvent
from audit.trail import record
from scans import batches, permissions
from scans.batch_export import csv_chunks
from scans.batch_models import BatchItem, BatchJob
from scans.forms import HistoryFilterForm
from scans.ingest import ScanRejected
from scans.views import _partial


def get_batch_for_user(user, pk: int) -> BatchJob:
    """The batch, or 404 whether it does not exist or is someone else's."""
    try:
        return batches.visible_batches(user).get(pk=pk)
    except BatchJob.DoesNotExist:
        raise Http404("No such batch") from None


@require_http_methods(["GET", "POST"])
def batch_new(request: HttpRequest) -> HttpResponse:
    if not permissions.can_upload(request.user):
        raise PermissionDenied("Your account has no role that may upload scans.")
    ctx = {"max_files": settings.BATCH_MAX_FILES, "max_mb": settings.MAX_UPLOAD_MB,
           "recent": batches.visible_batches(request.user).filter(owner=request.user)[:10]}
    if request.method == "POST":
        try:
            batch = batches.create_batch(request.user, request.FILES.getlist("files"))
        except ScanRejected as exc:
            status = 413 if exc.code.endswith("too_large") else 422
            return render(request, "scans/batch_new.html", {**ctx, "error": exc.message, "error_code": exc.code},
                          status=status)
        return redirect("scans:batch", pk=batch.pk)
    return render(request, "scans/batch_new.html", ctx)


@require_GET
@vary_on_headers("HX-Request")
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_batch_for_user(request.user, pk)
    progress = batches.progress(batch)
    form = HistoryFilterForm(request.GET or None)
    scans = form.filter(permissions.visible_scans(request.user).filter(pk__in=batch.items.values("scan")))
    page = Paginator(scans, settings.HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    unsettled = batch.items.filter(status__in=[BatchItem.FAILED, BatchItem.SKIPPED])
    ctx = {"batch": batch, "progress": progress, "form": form, "page": page, "sort": form.current_sort(),
           "filtered": any(v for k, v in request.GET.items() if k not in ("page", "sort")), "problems": unsettled}
    return render(request, _partial(request, "scans/batch.html", "results"), ctx)


@require_GET
def batch_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress fragment HTMX polls; once the batch is finished the page reloads to show the results."""
    batch = get_batch_for_user(request.user, pk)
    progress = batches.progress(batch)
    response = render(request, "scans/batch.html#progress", {"batch": batch, "progress": progress})
    if progress.finished and request.htmx:
        response["HX-Refresh"] = "true"
    return response


@require_GET
def batch_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    batch = get_batch_for_user(request.user, pk)
    record(request.user, AuditEvent.EXPORTED, batch, "CSV")
    response = StreamingHttpResponse(csv_chunks(batch), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="neurolens-batch-{batch.pk}.csv"'
    return response
