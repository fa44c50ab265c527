"""Scans and predictions: the same services and visibility rules as the pages."""

from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework import permissions as drf_permissions
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import ApiError, errors, rejected
from api.filters import FILTER_PARAMETERS, filtered_scans
from api.pagination import Pagination
from api.serializers import PredictionSerializer, ScanSerializer, UploadResultSerializer, UploadSerializer
from api.throttles import UploadThrottle, UserThrottle
from audit.models import AuditEvent
from audit.trail import record
from scans import permissions, selectors, services
from scans.intake.errors import ScanRejected
from scans.reports.heatmaps import heatmap_png, png_response

TAG = ["scans"]


class CanUpload(drf_permissions.BasePermission):
    message = "Your account has no role that may upload scans."

    def has_permission(self, request, view) -> bool:
        return request.method != "POST" or permissions.can_upload(request.user)


def upload(request, field: str = "image") -> services.Submission:
    """Validate the multipart form and submit the scan; errors come out as ApiError."""
    data = UploadSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    try:
        return services.submit_scan(request.user, data.validated_data["image"],
                                    data.validated_data["patient_ref"], data.validated_data["note"])
    except ScanRejected as exc:
        raise rejected(exc, field) from None


class ScanList(generics.ListAPIView):
    serializer_class = ScanSerializer
    pagination_class = Pagination
    permission_classes = [drf_permissions.IsAuthenticated, CanUpload]
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        return filtered_scans(self.request)

    def get_throttles(self):
        return [UserThrottle(), UploadThrottle()] if self.request.method == "POST" else [UserThrottle()]

    @extend_schema(tags=TAG, summary="List visible scans", parameters=FILTER_PARAMETERS,
                   description="Your scans (every scan for reviewers and administrators), filtered and "
                               "ordered like the history page.",
                   responses={200: ScanSerializer(many=True), **errors(400, 404)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(tags=TAG, summary="Upload and classify a scan", request=UploadSerializer,
                   description="Stores the image and the model's prediction. Uploading the same file again "
                               "returns the existing scan with 200 and `duplicate: true`.",
                   responses={201: UploadResultSerializer, 200: UploadResultSerializer,
                              **errors(400, 403, 413, 415, 503)})
    def post(self, request, *args, **kwargs):
        submission = upload(request)
        body = {**ScanSerializer(submission.scan, context={"request": request}).data,
                "duplicate": not submission.created}
        location = request.build_absolute_uri(reverse("api:scan", args=[submission.scan.pk]))
        return Response(body, status=status.HTTP_201_CREATED if submission.created else status.HTTP_200_OK,
                        headers={"Location": location})


class ScanDetail(APIView):
    @extend_schema(tags=TAG, summary="One scan with its prediction", responses={200: ScanSerializer, **errors(404)})
    def get(self, request, pk: int):
        scan = selectors.get_scan_for_user(request.user, pk)
        record(request.user, AuditEvent.VIEWED, scan, "API")
        return Response(ScanSerializer(scan, context={"request": request}).data)

    @extend_schema(tags=TAG, summary="Delete a scan, its image and its result",
                   description="Only the owner or an administrator may delete. A reviewed scan needs a `reason` (query "
                               "parameter), which the audit trail keeps.",
                   parameters=[OpenApiParameter("reason", OpenApiTypes.STR, OpenApiParameter.QUERY,
                                                description="Why (at most 200 characters); required once the scan "
                                                            "has a reviewer's verdict.")],
                   responses={204: OpenApiResponse(description="Deleted."), **errors(400, 403, 404)})
    def delete(self, request, pk: int):
        scan = selectors.get_scan_for_user(request.user, pk)
        if not permissions.can_delete(request.user, scan):
            raise ApiError(403, "permission_denied", "Only the scan's owner or an administrator may delete it.")
        reason = request.query_params.get("reason", "")
        if len(reason) > 200 or not reason.isprintable():
            raise ApiError(400, "invalid", "The reason is one line of at most 200 characters.", "reason")
        try:
            services.delete_scan(scan, by=request.user, reason=reason)
        except services.ReasonRequired as exc:
            raise ApiError(400, "reason_required", str(exc), "reason") from None
        return Response(status=status.HTTP_204_NO_CONTENT)


IMAGE_RESPONSES = {(200, "image/png"): OpenApiTypes.BINARY, (200, "image/jpeg"): OpenApiTypes.BINARY}


@extend_schema(tags=TAG, summary="The uploaded image", responses={**IMAGE_RESPONSES, **errors(404)})
class ScanImage(APIView):
    def get(self, request, pk: int):
        scan = selectors.get_scan_for_user(request.user, pk)
        record(request.user, AuditEvent.DOWNLOADED, scan, "image (API)")
        response = FileResponse(scan.image.open("rb"), content_type=scan.image_content_type)
        response["Cache-Control"] = "private, max-age=3600"
        return response


@extend_schema(tags=TAG, summary="Heat map of the regions behind the prediction",
               description="A class-activation map of the predicted class, coloured and laid over the image, "
                           "as a PNG of the image's display size (at most DISPLAY_SIDE, 1024 px, a side). Computed on request. An out-of-scope image was not "
                           "assessed and has none: 404 with code `out_of_scope`. A prediction stored without a map (a batch's) gets "
                           "it drawn by the model version that made it; where that version's files are no longer kept: 404 with "
                           "code `heatmap_unavailable`.",
               responses={(200, "image/png"): OpenApiTypes.BINARY, **errors(404, 503)})
class ScanHeatmap(APIView):
    throttle_classes = [UserThrottle, UploadThrottle]

    def get(self, request, pk: int):
        scan = selectors.get_scan_for_user(request.user, pk)
        if not scan.prediction.shows_class:
            raise ApiError(404, "out_of_scope", "This image is out of scope and was not assessed: it has no heat map.")
        record(request.user, AuditEvent.VIEWED, scan, "heat map (API)")
        return png_response(heatmap_png(scan))


def visible_predictions(request):
    return selectors.predictions_of(filtered_scans(request)).select_related("scan")


class PredictionList(generics.ListAPIView):
    serializer_class = PredictionSerializer
    pagination_class = Pagination

    def get_queryset(self):
        return visible_predictions(self.request).order_by("-created", "-id")

    @extend_schema(tags=["predictions"], summary="List visible predictions",
                   description="Filtered like the history page (by their scans); newest first.",
                   parameters=[p for p in FILTER_PARAMETERS if p.name != "sort"],
                   responses={200: PredictionSerializer(many=True), **errors(400, 404)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class PredictionDetail(APIView):
    @extend_schema(tags=["predictions"], summary="One prediction", responses={200: PredictionSerializer,
                                                                            **errors(404)})
    def get(self, request, pk: int):
        return Response(PredictionSerializer(selectors.get_prediction_for_user(request.user, pk)).data)
