"""The pages around one scan: upload, history, detail, image, delete; the model card; /health."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from audit.models import AuditEvent
from audit.trail import record
from lib.htmx import partial
from ml.infer import get_classifier
from scans import permissions, selectors, services
from scans.forms import HistoryFilterForm, ReviewForm, UploadForm
from scans.intake.errors import InferenceFailed, ScanRejected, http_status
from scans.modelcard import card_context, version_comparison
from scans.studies.result import SINGLE_SLICE

SERIES_PAGE_SIZE = 10


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return redirect("scans:upload" if permissions.can_upload(request.user) else "scans:history")


@login_not_required
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    healthy, body = services.health()
    return JsonResponse(body, status=200 if healthy else 503)


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def upload(request: HttpRequest) -> HttpResponse:
    if not permissions.can_upload(request.user):
        raise PermissionDenied("Your account has no role that may upload scans.")
    template = partial(request, "scans/upload.html", "result")
    ctx = {"max_mb": settings.MAX_UPLOAD_MB, "min_side": settings.MIN_IMAGE_SIDE, "max_side": settings.MAX_IMAGE_SIDE}
    if request.method == "GET":
        return render(request, "scans/upload.html", {**ctx, "form": UploadForm()})
    form = UploadForm(request.POST, request.FILES)
    ctx["form"] = form
    if not form.is_valid():
        return render(request, template, {**ctx, "error": _form_error(form)}, status=422)
    try:
        submission = services.submit_scan(
            request.user, form.cleaned_data["image"], form.cleaned_data["patient_ref"], form.cleaned_data["note"]
        )
    except (ScanRejected, InferenceFailed) as exc:
        return render(request, template, {**ctx, "error": str(exc), "error_code": exc.code},
                      status=http_status(exc.code))
    if not request.htmx:
        if not submission.created:
            messages.info(request, "You uploaded this file before; this is that result, not a new copy.")
        return redirect("scans:detail", pk=submission.scan.pk)
    ctx.update(scan=submission.scan, duplicate=not submission.created, form=UploadForm())
    return render(request, template, ctx)


def _form_error(form: UploadForm) -> str:
    return " ".join(f"{form[name].label}: {' '.join(errors)}" for name, errors in form.errors.items())


@require_GET
@vary_on_headers("HX-Request")
def history(request: HttpRequest) -> HttpResponse:
    """Stand-alone scans, and each PACS series once with its series result (its slices are on the
    series page, not one row each here)."""
    form = HistoryFilterForm(request.GET or None)
    scans = form.filter(selectors.standalone(selectors.visible_scans(request.user)))
    page = Paginator(scans, settings.HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    series = form.filter_series(selectors.visible_series(request.user))
    series_page = None if series is None else Paginator(series, SERIES_PAGE_SIZE).get_page(request.GET.get("series_page"))
    filtered = any(v for k, v in request.GET.items() if k not in ("page", "series_page", "sort"))
    ctx = {"form": form, "page": page, "sort": form.current_sort(), "filtered": filtered, "series_page": series_page,
           "single_slice": SINGLE_SLICE}
    return render(request, partial(request, "scans/history.html", "results"), ctx)


@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    scan = selectors.get_scan_for_user(request.user, pk)
    record(request.user, AuditEvent.VIEWED, scan)
    ctx = {"scan": scan, "can_delete": permissions.can_delete(request.user, scan),
           "reviews": scan.reviews.select_related("reviewer"), "can_review": permissions.can_review(request.user),
           "review_form": ReviewForm()}
    return render(request, "scans/detail.html", ctx)


@require_GET
def image(request: HttpRequest, pk: int) -> FileResponse:
    scan = selectors.get_scan_for_user(request.user, pk)
    record(request.user, AuditEvent.VIEWED, scan, "image")
    response = FileResponse(scan.image.open("rb"), content_type=scan.image_content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    scan = selectors.get_scan_for_user(request.user, pk)
    if not permissions.can_delete(request.user, scan):
        raise PermissionDenied("Only the scan's owner or an administrator may delete it.")
    reviewed = scan.reviews.exists()
    if request.method == "GET":
        return render(request, "scans/delete.html", {"scan": scan, "reviewed": reviewed})
    name = scan.original_name
    try:
        services.delete_scan(scan, by=request.user, reason=request.POST.get("reason", "")[:200])
    except services.ReasonRequired as exc:
        return render(request, "scans/delete.html", {"scan": scan, "reviewed": reviewed, "error": str(exc)}, status=400)
    messages.success(request, f"Deleted {name} and its image.")
    return redirect("scans:history")


@require_GET
def model_card(request: HttpRequest) -> HttpResponse:
    try:
        clf = get_classifier()
    except Exception:  # noqa: BLE001 - any load failure means the same page
        return render(request, "scans/model.html", {"card": None}, status=503)
    card = card_context(clf.card)
    sections = [("Training data", card["data"]), ("Training", card["training"]),
                ("Calibration", card["calibration"]), ("Out-of-scope detection", card["scope"])]
    return render(request, "scans/model.html", {"card": card, "version": clf.version, "sections": sections,
                                                "comparison": version_comparison()})
