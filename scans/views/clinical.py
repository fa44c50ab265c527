"""Pages of the clinical workflow: heat-map layer, review, patients, PDF reports."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from audit.models import AuditEvent
from audit.trail import record
from scans import permissions, selectors, services
from scans.forms import ReviewForm
from scans.intake.errors import InferenceFailed, http_status
from scans.reports.heatmaps import heat_layer_png, png_response
from scans.reports.pdf import patient_report_pdf, pdf_response, scan_report_pdf


@require_GET
def heat_layer(request: HttpRequest, pk: int) -> HttpResponse:
    scan = selectors.get_scan_for_user(request.user, pk)
    try:
        return png_response(heat_layer_png(scan))
    except InferenceFailed as exc:
        return HttpResponse(str(exc), status=http_status(exc.code), content_type="text/plain")


@require_POST
def review(request: HttpRequest, pk: int) -> HttpResponse:
    scan = selectors.get_scan_for_user(request.user, pk)
    if not permissions.can_review(request.user):
        raise PermissionDenied("Only reviewers confirm or correct results.")
    form = ReviewForm(request.POST, prediction=scan.prediction)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("scans:detail", pk=pk)
    data = form.cleaned_data
    services.review_scan(request.user, scan, data["status"], data["corrected_label"], data["comment"])
    messages.success(request, "Your review is saved; the model's original result is kept beside it.")
    return redirect("scans:detail", pk=pk)


@require_GET
def patients(request: HttpRequest) -> HttpResponse:
    rows = selectors.patient_rows(request.user)
    return render(request, "scans/patients.html", {"rows": rows})


@require_GET
def patient(request: HttpRequest, ref: str) -> HttpResponse:
    scans = selectors.with_review_status(selectors.patient_scans(request.user, ref))
    record(request.user, AuditEvent.VIEWED, object_type="patient", object_id=ref)
    return render(request, "scans/patient.html", {"ref": ref, "scans": scans})


@require_GET
def scan_report(request: HttpRequest, pk: int) -> HttpResponse:
    scan = selectors.get_scan_for_user(request.user, pk)
    pdf = scan_report_pdf(scan, request.user.get_username())
    record(request.user, AuditEvent.DOWNLOADED, scan, "PDF report")
    return pdf_response(pdf, f"neurolens-scan-{scan.pk}.pdf")


@require_GET
def patient_report(request: HttpRequest, ref: str) -> HttpResponse:
    scans = selectors.patient_scans(request.user, ref)
    pdf = patient_report_pdf(ref, scans, request.user.get_username())
    record(request.user, AuditEvent.DOWNLOADED, object_type="patient", object_id=ref, detail="PDF report")
    return pdf_response(pdf, "neurolens-patient-report.pdf")
