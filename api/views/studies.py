"""Studies from a PACS: list and detail (the scans' visibility rules), the DICOM SR, the FHIR
bundle, and STOW-RS intake at /dicomweb/studies."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Prefetch
from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework import permissions as drf_permissions
from rest_framework.response import Response
from rest_framework.views import APIView

from api.auth import TokenAuthentication
from api.errors import ApiError, errors
from api.pagination import Pagination
from api.throttles import UploadThrottle, UserThrottle
from audit.models import AuditEvent
from audit.trail import record
from scans import permissions, selectors
from scans.intake.errors import ScanRejected
from scans.models import Series, Slice
from scans.studies.result import RULE, SINGLE_SLICE

#  The SR, the FHIR bundle and STOW-RS bring cryptography, highdicom, fhir.resources and pydicom (about
#  90 MB): each view imports its module when called, so a web process that never serves one never loads them.

TAG = ["studies"]


class SliceSerializer(serializers.ModelSerializer):
    """A slice and its result. Out of scope, a slice has no class: `label` and `confidence` are null
    and `out_of_scope_reason` says why."""

    label = serializers.SerializerMethodField()
    confidence = serializers.SerializerMethodField()
    out_of_scope = serializers.BooleanField(source="scan.prediction.out_of_scope", default=None, allow_null=True)
    out_of_scope_reason = serializers.CharField(source="scan.prediction.out_of_scope_reason", default=None,
                                                allow_null=True)
    scan = serializers.IntegerField(source="scan_id", allow_null=True, help_text="The slice's scan (its prediction).")

    class Meta:
        model = Slice
        fields = ["id", "position", "frame", "window_center", "window_width", "scan", "label", "confidence",
                  "out_of_scope", "out_of_scope_reason"]

    @staticmethod
    def _shown(obj):
        p = getattr(obj.scan, "prediction", None) if obj.scan_id else None
        return p if p is not None and p.shows_class else None

    def get_label(self, obj) -> str | None:
        p = self._shown(obj)
        return p.label if p else None

    def get_confidence(self, obj) -> float | None:
        p = self._shown(obj)
        return p.confidence if p else None


class SeriesSerializer(serializers.ModelSerializer):
    status = serializers.CharField(help_text="queued (slices being classified), done or failed.")
    result = serializers.JSONField(help_text="Per-class counts, mean probabilities, key slices, the rule.")
    sent = serializers.DateTimeField(allow_null=True)

    class Meta:
        model = Series
        fields = ["id", "number", "description", "status", "label", "result", "finished", "sent"]


class SeriesDetailSerializer(SeriesSerializer):
    slices = SliceSerializer(many=True)

    class Meta(SeriesSerializer.Meta):
        fields = [*SeriesSerializer.Meta.fields, "slices"]


class StudySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created = serializers.DateTimeField()
    owner = serializers.CharField(source="owner.get_username")
    patient_ref = serializers.CharField()
    source = serializers.CharField()
    series = SeriesSerializer(many=True)
    note = serializers.SerializerMethodField()

    def get_note(self, obj) -> str:
        return f"{SINGLE_SLICE} {RULE} Results support a clinical decision; they are not a diagnosis."


class StudyDetailSerializer(StudySerializer):
    series = SeriesDetailSerializer(many=True)


class StudyList(generics.ListAPIView):
    serializer_class = StudySerializer
    pagination_class = Pagination

    def get_queryset(self):
        return selectors.visible_studies(self.request.user).prefetch_related("series")

    @extend_schema(tags=TAG, summary="List visible studies",
                   description="Studies received from a PACS (yours; every study for reviewers and administrators), "
                               "newest first, with each series' result.",
                   responses={200: StudySerializer(many=True), **errors(400, 404)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class StudyDetail(APIView):
    @extend_schema(tags=TAG, summary="One study: its series, their results and slices",
                   responses={200: StudyDetailSerializer, **errors(404)})
    def get(self, request, pk: int):
        study = selectors.get_study_for_user(request.user, pk)
        slices = Slice.objects.select_related("scan__prediction")
        study = type(study).objects.prefetch_related(Prefetch("series__slices", queryset=slices)).get(pk=study.pk)
        record(request.user, AuditEvent.VIEWED, study, "API")
        return Response(StudyDetailSerializer(study).data)


def _finished(study, series_id: int | None = None) -> list[Series]:
    done = list(study.series.filter(status=Series.DONE).order_by("-finished"))
    if series_id is not None:
        done = [s for s in done if s.pk == series_id]
    if not done:
        raise ApiError(409, "not_ready", "No series of this study has finished classifying yet." if series_id is None
                       else "That series is not part of this study, or has not finished classifying.")
    return done


SERIES_PARAM = OpenApiParameter("series", int, description="A series id of this study (default: the latest finished).")


class StudySr(APIView):
    @extend_schema(tags=TAG, summary="The DICOM SR of a series (TID 1500, Comprehensive 3D SR)",
                   description="The Structured Report sent back to the PACS, with the original study's identifiers. "
                               "Its key image (a Secondary Capture with the heat map) goes with it to the PACS.",
                   parameters=[SERIES_PARAM],
                   responses={(200, "application/dicom"): OpenApiTypes.BINARY, **errors(400, 404, 409)})
    def get(self, request, pk: int):
        study = selectors.get_study_for_user(request.user, pk)
        raw = request.query_params.get("series")
        if raw is not None and not raw.isdigit():
            raise ApiError(400, "invalid", "series is a series id (a whole number).", "series")
        series = next((s for s in _finished(study, int(raw) if raw else None) if s.sr), None)
        if series is None:
            raise ApiError(409, "not_ready", "The SR of this series has not been built.")
        from scans.studies.sealed import unlock

        record(request.user, AuditEvent.DOWNLOADED, series, "DICOM SR (API)")
        response = HttpResponse(unlock(series.sr), content_type="application/dicom")
        response["Content-Disposition"] = f'attachment; filename="neurolens-series-{series.pk}-sr.dcm"'
        response["Cache-Control"] = "private, no-store"
        return response


class StudyFhir(APIView):
    @extend_schema(tags=TAG, summary="The study's results as a FHIR R4 Bundle",
                   description="A transaction Bundle: DiagnosticReport (preliminary), its Observations, the "
                               "pseudonymous Patient, the ImagingStudy and the model as a Device.",
                   responses={(200, "application/fhir+json"): OpenApiTypes.OBJECT, **errors(404, 409)})
    def get(self, request, pk: int):
        from scans.studies import fhir

        study = selectors.get_study_for_user(request.user, pk)
        data = fhir.bundle(study, _finished(study))
        record(request.user, AuditEvent.EXPORTED, study, "FHIR bundle (API)")
        return JsonResponse(data, content_type="application/fhir+json")


STOW_ANSWER = OpenApiResponse(OpenApiTypes.OBJECT, description=(
    "DICOM JSON: 00081199 (ReferencedSOPSequence) and/or 00081198 (FailedSOPSequence), each item with "
    "00081150 (SOP class) and 00081155 (SOP instance); failed items add 00081197 (FailureReason)."))


class CanUpload(drf_permissions.BasePermission):
    message = "Your account has no role that may send studies."

    def has_permission(self, request, view) -> bool:
        return permissions.can_upload(request.user)


class StowRs(APIView):
    """STOW-RS: multipart/related; type="application/dicom", one instance per part."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [drf_permissions.IsAuthenticated, CanUpload]
    throttle_classes = [UserThrottle, UploadThrottle]

    #  A DICOMweb endpoint (PS3.18 10.5), outside /api/ because the standard names its path.
    @extend_schema(
        tags=TAG, summary="STOW-RS: store DICOM MR instances (a PACS or modality sending a study)",
        description=(
            "DICOMweb Store (PS3.18 10.5). The body is `multipart/related; type=\"application/dicom\"; "
            "boundary=...`, one DICOM Part 10 instance per part, at most STOW_MAX_MB in all. Each instance "
            "is de-identified on arrival, grouped into its study and series, and classified; the series "
            "result, its SR and FHIR bundle follow at /api/v1/studies/{id} (the `Location` header).\n\n"
            "The answer is a DICOM JSON data set: ReferencedSOPSequence (0008,1199) lists the instances "
            "stored (or already stored), FailedSOPSequence (0008,1198) those refused, each with its "
            "FailureReason (0008,1197): 0x0122 not an MR SOP class, 0xA900 a modality other than MR, "
            "0xC000 a data set or pixel data that cannot be read or decoded. 200: every instance stored; "
            "202: some refused; 409: none stored. A body that is not multipart/related is 415; one that "
            "cannot be split into parts, 400. Nothing of a refused instance is kept."),
        request={"multipart/related": OpenApiTypes.BINARY},
        responses={(200, "application/dicom+json"): STOW_ANSWER, (202, "application/dicom+json"): STOW_ANSWER,
                   (409, "application/dicom+json"): STOW_ANSWER, **errors(400, 403, 413, 415)},
    )
    def post(self, request):
        from scans.studies import stow

        limit = settings.STOW_MAX_MB * 1024 * 1024
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            raise ApiError(413, "request_too_large", f"A STOW-RS request may hold at most {settings.STOW_MAX_MB} MB.")
        body = request._request.read(limit + 1)
        if len(body) > limit:
            raise ApiError(413, "request_too_large", f"A STOW-RS request may hold at most {settings.STOW_MAX_MB} MB.")
        try:
            result = stow.stow(body, request.META.get("CONTENT_TYPE", ""), f"STOW-RS by {request.user.get_username()}")
        except ScanRejected as exc:
            raise ApiError(415 if exc.code == "unsupported_media_type" else 400, exc.code, exc.message) from None
        for series in result.series:
            record(request.user, AuditEvent.UPLOADED, series, "STOW-RS")
        code = 200 if not result.failed else (202 if result.stored else 409)
        response = JsonResponse(stow.response_body(result), status=code, content_type="application/dicom+json")
        if result.series:
            response["Location"] = request.build_absolute_uri(reverse("api:study", args=[result.series[0].study_id]))
        return response
