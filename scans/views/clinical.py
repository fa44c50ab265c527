"""Pages of the clinical workflow: heat-map layer, review and the reviewers' worklist, patients, PDF
reports."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from audit.models import AuditEvent
from audit.trail import record
from scans import permissions, reviews, selectors
from scans.forms import ReviewForm
from scans.intake.errors import InferenceFailed, http_status
from scans.reports.heatmaps import heat_layer_png, png_response
from scans.studies.result import SINGLE_SLICE
from scans.views.pages import SERIES_PAGE_SIZE


@require_GET
def heat_layer(request: HttpRequest, pk: int) -> HttpResponse:
    scan = selectors.get_scan_for_user(request.user, pk)
    if not scan.prediction.shows_class:
        raise Http404("An out-of-scope image was not assessed: it has no heat map.")
    record(request.user, AuditEvent.VIEWED, scan, "heat map")
    try:
        return png_response(heat_layer_png(scan))
    except InferenceFailed as exc:
        return HttpResponse(str(exc), status=http_status(exc.code), content_type="text/plain")


@require_POST
def review(request: HttpRequest, pk: int) -> HttpResponse:
    scan = selectors.get_scan_for_user(request.user, pk)
    if not permissions.can_review(request.user):
        raise PermissionDenied("Only reviewers give verdicts.")
    form = ReviewForm(request.POST, prediction=scan.prediction)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("scans:detail", pk=pk)
    data = form.cleaned_data
    reviews.review_scan(request.user, scan, data["status"], data["corrected_label"], data["reason"], data["comment"])
    if request.POST.get("then") == "next":
        following = reviews.next_for_review(request.user, after=scan)
        if following is None:
            messages.success(request, "Your verdict is saved. The worklist is empty: every scan has a verdict.")
            return redirect("scans:worklist")
        messages.success(request, f"Your verdict on {scan.original_name} is saved. This is the next scan to review.")
        return redirect("scans:detail", pk=following.pk)
    messages.success(request, "Your verdict is saved; the model's original result is kept beside it.")
    return redirect("scans:detail", pk=pk)


@require_GET
def worklist(request: HttpRequest) -> HttpResponse:
    if not permissions.can_review(request.user):
        raise PermissionDenied("The worklist is for reviewers.")
    scans = reviews.worklist(request.user)
    return render(request, "scans/worklist.html", {"scans": scans[:200], "count": scans.count(),
                                                   "low_pct": settings.ANALYTICS_LOW_CONFIDENCE_PCT})


@require_GET
def patients(request: HttpRequest) -> HttpResponse:
    rows = selectors.patient_rows(request.user)
    return render(request, "scans/patients.html", {"rows": rows})


@require_GET
def patient(request: HttpRequest, pid) -> HttpResponse:
    """The patient's stand-alone scans, and their PACS series one row each (not slice by slice)."""
    found, scans = selectors.patient_scans(request.user, pid)
    record(request.user, AuditEvent.VIEWED, object_type="patient", object_id=pid)
    series = selectors.patient_series(request.user, found)
    return render(request, "scans/patient.html", {
        "patient": found, "scans": selectors.with_review_status(selectors.standalone(scans)),
        "series_page": Paginator(series, SERIES_PAGE_SIZE).get_page(request.GET.get("series_page")),
        "single_slice": SINGLE_SLICE})


@require_GET
def scan_report(request: HttpRequest, pk: int) -> HttpResponse:
    from scans.reports.pdf import pdf_response, scan_report_pdf  # reportlab (17 MB) only where a PDF is made

    scan = selectors.get_scan_for_user(request.user, pk)
    pdf = scan_report_pdf(scan, request.user.get_username())
    record(request.user, AuditEvent.DOWNLOADED, scan, "PDF report")
    return pdf_response(pdf, f"neurolens-scan-{scan.pk}.pdf")


@require_GET
def patient_report(request: HttpRequest, pid) -> HttpResponse:
    from scans.reports.pdf import patient_report_pdf, pdf_response  # reportlab (17 MB) only where a PDF is made

    found, scans = selectors.patient_scans(request.user, pid)
    pdf = patient_report_pdf(found, scans, request.user.get_username())
    record(request.user, AuditEvent.DOWNLOADED, object_type="patient", object_id=pid, detail="PDF report")
    return pdf_response(pdf, "neurolens-patient-report.pdf")
