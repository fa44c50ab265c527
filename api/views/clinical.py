"""Reviews, PDF reports and patients: the same services and rules as the pages."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.response import Response

from api.errors import ApiError, errors
from api.serializers import ReviewSerializer, ScanSerializer
from audit.models import AuditEvent
from audit.trail import record
from scans import permissions, reviews, selectors
from scans.forms import ReviewForm

PDF = {(200, "application/pdf"): OpenApiTypes.BINARY}


class ReviewInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["confirmed", "corrected", "not_assessable"])
    corrected_label = serializers.CharField(required=False, allow_blank=True, default="",
                                            help_text="corrected: the right class key.")
    reason = serializers.ChoiceField(choices=["wrong_modality", "poor_quality", "not_brain", "other"], required=False,
                                     help_text="not_assessable: why no class can be given.")
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


@extend_schema(tags=["reviews"], methods=["GET"], summary="A scan's reviews, newest (current) first",
               responses={200: ReviewSerializer(many=True), **errors(404)})
@extend_schema(tags=["reviews"], methods=["POST"], summary="Confirm, correct or mark a scan's result not assessable",
               description="Reviewers and administrators only. `confirmed` (the model's class is right; not for an "
                           "out-of-scope image, which has none), `corrected` with `corrected_label`, or "
                           "`not_assessable` with `reason`. The model's prediction is never changed; the new review "
                           "becomes the scan's current status and its headline everywhere.",
               request=ReviewInputSerializer, responses={201: ReviewSerializer, **errors(400, 403, 404)})
@api_view(["GET", "POST"])
def scan_reviews(request, pk: int):
    scan = selectors.get_scan_for_user(request.user, pk)
    if request.method == "GET":
        return Response(ReviewSerializer(scan.reviews.select_related("reviewer"), many=True).data)
    if not permissions.can_review(request.user):
        raise ApiError(403, "permission_denied", "Only reviewers confirm or correct results.")
    form = ReviewForm(request.data, prediction=scan.prediction)
    if not form.is_valid():
        field, messages = next(iter(form.errors.items()))
        raise ApiError(400, "invalid", " ".join(messages), None if field == "__all__" else field)
    data = form.cleaned_data
    review = reviews.review_scan(request.user, scan, data["status"], data["corrected_label"], data["reason"],
                                 data["comment"])
    return Response(ReviewSerializer(review).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["reports"], summary="PDF report of one scan", responses={**PDF, **errors(404, 503)})
@api_view(["GET"])
def scan_report(request, pk: int):
    from scans.reports.pdf import pdf_response, scan_report_pdf  # reportlab (17 MB) only where a PDF is made

    scan = selectors.get_scan_for_user(request.user, pk)
    pdf = scan_report_pdf(scan, request.user.get_username())
    record(request.user, AuditEvent.DOWNLOADED, scan, "PDF report (API)")
    return pdf_response(pdf, f"neurolens-scan-{scan.pk}.pdf")


PatientRows = inline_serializer("PatientRow", {
    "public_id": serializers.UUIDField(help_text="The patient's opaque id, for /api/v1/patients/{id}."),
    "reference": serializers.CharField(help_text="The reference typed at upload, or the DICOM pseudonym."),
    "owner_name": serializers.CharField(allow_null=True, help_text="The clinician whose patient this is; null "
                                                                   "for a DICOM pseudonym (shared)."),
    "scans": serializers.IntegerField(), "first": serializers.DateTimeField(), "last": serializers.DateTimeField()},
    many=True)


@extend_schema(tags=["patients"], summary="Patients with scans you can see",
               description="One row per patient: two clinicians' equal references are two patients.",
               operation_id="v1_patients_index", responses={200: PatientRows, **errors()})
@api_view(["GET"])
def patients(request):
    rows = selectors.patient_rows(request.user)
    return Response(list(rows))


@extend_schema(tags=["patients"], summary="One patient's scans and results, oldest first",
               responses={200: ScanSerializer(many=True), **errors(404)})
@api_view(["GET"])
def patient(request, pid):
    _, scans = selectors.patient_scans(request.user, pid)
    record(request.user, AuditEvent.VIEWED, object_type="patient", object_id=pid, detail="API")
    return Response(ScanSerializer(selectors.with_review_status(scans), many=True, context={"request": request}).data)


@extend_schema(tags=["reports"], summary="PDF report of one patient's scans", responses={**PDF, **errors(404, 503)})
@api_view(["GET"])
def patient_report(request, pid):
    from scans.reports.pdf import patient_report_pdf, pdf_response  # reportlab (17 MB) only where a PDF is made

    patient, scans = selectors.patient_scans(request.user, pid)
    pdf = patient_report_pdf(patient, scans, request.user.get_username())
    record(request.user, AuditEvent.DOWNLOADED, object_type="patient", object_id=pid, detail="PDF report (API)")
    return pdf_response(pdf, "neurolens-patient-report.pdf")
