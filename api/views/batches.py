"""Batches: many images (or ZIPs) in one upload, classified by the workers; progress, items, CSV."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework import permissions as drf_permissions
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import errors, rejected
from api.pagination import Pagination
from api.throttles import UploadThrottle, UserThrottle
from api.views.scans import CanUpload
from audit.models import AuditEvent
from audit.trail import record
from scans import selectors
from scans.batches.export import csv_response
from scans.batches.services import create_batch
from scans.batches.state import progress
from scans.intake.errors import ScanRejected
from scans.models import BatchItem, BatchJob

TAG = ["batches"]


class BatchSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.get_username")
    progress = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = BatchJob
        fields = ["id", "name", "owner", "source", "created", "finished", "progress", "url"]

    def get_progress(self, batch) -> dict:
        p = progress(batch)
        return {"total": p.total, "done": p.done, "failed": p.failed, "skipped": p.skipped, "pending": p.pending,
                "percent": p.percent, "images_per_s": p.rate, "eta_s": p.eta_s, "finished": p.finished,
                "waiting": p.waiting, "retry_in_s": p.retry_in_s}

    def get_url(self, batch) -> str:
        return self.context["request"].build_absolute_uri(reverse("api:batch", args=[batch.pk]))


class BatchItemSerializer(serializers.ModelSerializer):
    label = serializers.CharField(source="scan.prediction.label", default=None, allow_null=True,
                                  help_text="The model's class; null without a result or for an out-of-scope image.")
    confidence = serializers.FloatField(source="scan.prediction.confidence", default=None, allow_null=True,
                                        help_text="0 to 1; null as the label is.")
    out_of_scope = serializers.BooleanField(source="scan.prediction.out_of_scope", default=None, allow_null=True,
                                            help_text="True: not assessed (out of scope); null without a result.")

    class Meta:
        model = BatchItem
        fields = ["position", "name", "status", "error_code", "error_message", "scan", "duplicate", "label",
                  "confidence", "out_of_scope"]

    def to_representation(self, item):
        data = super().to_representation(item)
        if data["out_of_scope"]:  # not assessed: no class (scans.verdicts)
            data.update(label=None, confidence=None)
        return data


class BatchDetailSerializer(BatchSerializer):
    items = BatchItemSerializer(many=True, source="items.all")

    class Meta(BatchSerializer.Meta):
        fields = [*BatchSerializer.Meta.fields, "items"]


BatchUpload = inline_serializer("BatchUpload", {"files": serializers.ListField(
    child=serializers.FileField(), help_text="Images (JPEG, PNG, DICOM) and ZIP archives; the field repeated.")})


class BatchList(generics.ListAPIView):
    serializer_class = BatchSerializer
    pagination_class = Pagination
    permission_classes = [drf_permissions.IsAuthenticated, CanUpload]
    parser_classes = [MultiPartParser]

    def get_queryset(self):
        return selectors.visible_batches(self.request.user)

    def get_throttles(self):
        return [UserThrottle(), UploadThrottle()] if self.request.method == "POST" else [UserThrottle()]

    @extend_schema(tags=TAG, summary="Your batches, newest first", responses={200: BatchSerializer(many=True),
                                                                            **errors(400, 404)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(tags=TAG, summary="Upload a batch of images or ZIP archives", request=BatchUpload,
                   description="Every file becomes an item; ZIP members are opened (folders, one nested archive "
                               "level), non-images are listed as skipped. Answers at once with 201; poll the batch "
                               "until `progress.finished`.",
                   responses={201: BatchSerializer, **errors(400, 403, 413)})
    def post(self, request, *args, **kwargs):
        try:
            batch = create_batch(request.user, request.FILES.getlist("files"), source="api")
        except ScanRejected as exc:
            raise rejected(exc, "files") from None
        location = request.build_absolute_uri(reverse("api:batch", args=[batch.pk]))
        return Response(BatchSerializer(batch, context={"request": request}).data, status=status.HTTP_201_CREATED,
                        headers={"Location": location})


class BatchDetail(APIView):
    @extend_schema(tags=TAG, summary="One batch: progress and every item", responses={200: BatchDetailSerializer,
                                                                                    **errors(404)})
    def get(self, request, pk: int):
        batch = selectors.get_batch_for_user(request.user, pk)
        record(request.user, AuditEvent.VIEWED, batch, "API")
        return Response(BatchDetailSerializer(batch, context={"request": request}).data)


class BatchCsv(APIView):
    @extend_schema(tags=TAG, summary="One batch as CSV: a row per file, its result or its reason",
                   responses={(200, "text/csv"): OpenApiTypes.STR, **errors(404)})
    def get(self, request, pk: int):
        batch = selectors.get_batch_for_user(request.user, pk)
        record(request.user, AuditEvent.EXPORTED, batch, "CSV (API)")
        return csv_response(batch)
