"""The prototype's calls under /api/, kept with their paths, field names and shapes.

Uploads go through the same submit_scan as every other upload, so each is stored and owned by
the caller. Timestamps are UTC without an offset, as the prototype sent them.
"""

from datetime import UTC

from django.conf import settings
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, parser_classes, permission_classes, throttle_classes
from rest_framework.generics import ListAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from api.errors import ApiError, ErrorDetailSerializer, error_body, errors
from api.filters import FILTER_PARAMETERS, filtered_scans
from api.pagination import Pagination
from api.statistics import HISTOGRAM_BINS, confidence_histogram, daily_counts, summary
from api.throttles import UploadThrottle, UserThrottle
from api.views.meta import classifier
from api.views.scans import CanUpload, upload
from ml.infer import CLASSES, DISPLAY_NAMES
from scans import services
from scans.intake.errors import InferenceFailed, ScanRejected
from scans.verdicts import out_of_scope_reason

TAG = ["prototype"]
NAMES = [DISPLAY_NAMES[c] for c in CLASSES]


def _names(field) -> dict:
    return {name: field() for name in NAMES}


PrototypeProbabilities = inline_serializer("PrototypeProbabilities", _names(serializers.FloatField))


def _prediction_fields(nullable: bool = False) -> dict:
    """The prototype's prediction; in the history (`nullable`) an out-of-scope image has null class fields."""
    null = " Null for an out-of-scope image (not assessed)." if nullable else ""
    return {
        "prediction": serializers.ChoiceField(choices=NAMES, allow_null=nullable, help_text="The class." + null),
        "confidence": serializers.FloatField(allow_null=nullable, help_text="A fraction, 0 to 1." + null),
        "all_predictions": PrototypeProbabilities.__class__(allow_null=nullable),
        "timestamp": serializers.CharField(help_text="UTC, YYYY-MM-DDTHH:MM:SS."),
        **({"out_of_scope": serializers.BooleanField(required=False, help_text="Only on an out-of-scope item: true."),
            "out_of_scope_reason": serializers.CharField(required=False, help_text="Only on an out-of-scope item.")}
           if nullable else {}),
    }


PredictSerializer = inline_serializer("PrototypePrediction", _prediction_fields())
OUT_OF_SCOPE = ("out_of_scope", ("Not assessed: the image is out of scope ({reason}). It was stored as a scan of "
                                "yours; no class is given."))


def stamp(moment) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") if moment else None


def prediction_body(scan) -> dict:
    """An in-scope prediction as the prototype gave it (callers deal with out-of-scope first)."""
    p = scan.prediction
    return {"prediction": DISPLAY_NAMES[p.label], "confidence": p.confidence,
            "all_predictions": {DISPLAY_NAMES[c]: v for c, v in p.probabilities.items()},
            "timestamp": stamp(p.created)}


def history_body(scan) -> dict:
    p = scan.prediction
    if p.shows_class:  # the prototype's shape, unchanged
        return prediction_body(scan)
    return {"prediction": None, "confidence": None, "all_predictions": None, "timestamp": stamp(p.created),
            "out_of_scope": True, "out_of_scope_reason": out_of_scope_reason(p)}


def out_of_scope_error(scan) -> ApiError:
    code, message = OUT_OF_SCOPE
    return ApiError(422, code, message.format(reason=out_of_scope_reason(scan.prediction)), "image")


@extend_schema(tags=TAG, summary="The four class names",
               responses={200: inline_serializer("PrototypeClasses", {
                   "classes": serializers.ListField(child=serializers.CharField())}), **errors()})
@api_view(["GET"])
def classes(request):
    return Response({"classes": NAMES})


@extend_schema(tags=TAG, summary="Classify one image (stored as a scan of yours)",
               description="An image the model cannot assess (out of scope: not a brain MRI slice like its training "
                           "images) is stored but answered with 422 and code `out_of_scope`, the reason in the "
                           "message: never a class.",
               request=inline_serializer("PrototypeUpload", {"image": serializers.FileField()}),
               responses={200: PredictSerializer, **errors(400, 403, 413, 415, 422, 503)})
@api_view(["POST"])
@permission_classes([IsAuthenticated, CanUpload])
@throttle_classes([UserThrottle, UploadThrottle])
@parser_classes([MultiPartParser])
def predict(request):
    scan = upload(request).scan
    if not scan.prediction.shows_class:
        raise out_of_scope_error(scan)
    return Response(prediction_body(scan))


BatchError = inline_serializer("PrototypeBatchError", {
    "filename": serializers.CharField(), "error": ErrorDetailSerializer()})
BatchItems = PolymorphicProxySerializer(
    component_name="PrototypeBatchItem", serializers=[PredictSerializer.__class__, BatchError.__class__],
    resource_type_field_name=None, many=True)


def _batch_item(file, outcome) -> dict:
    if isinstance(outcome, (ScanRejected, InferenceFailed)):
        return {"filename": file.name, **error_body(outcome.code, str(outcome), "images")}
    if not outcome.scan.prediction.shows_class:
        exc = out_of_scope_error(outcome.scan)
        return {"filename": file.name, **error_body(exc.code, exc.message, "images")}
    return prediction_body(outcome.scan)


@extend_schema(tags=TAG, summary="Classify several images (field `images`, repeated)",
               request=inline_serializer("PrototypeBatchUpload", {
                   "images": serializers.ListField(child=serializers.FileField())}),
               responses={200: BatchItems, **errors(400, 403, 413, 415)})
@api_view(["POST"])
@permission_classes([IsAuthenticated, CanUpload])
@throttle_classes([UserThrottle, UploadThrottle])
@parser_classes([MultiPartParser])
def predict_batch(request):
    files = request.FILES.getlist("images")
    if not files:
        raise ApiError(400, "required", "Send one or more files in the field 'images'.", "images")
    if len(files) > settings.API_BATCH_MAX_FILES:
        raise ApiError(400, "too_many_files", f"At most {settings.API_BATCH_MAX_FILES} files per batch.", "images")
    #  One forward pass for the whole request (scans.services.submit_scans).
    return Response([_batch_item(f, o) for f, o in zip(files, services.submit_scans(request.user, files))])


@extend_schema(tags=TAG, summary="Architecture and training details",
               responses={200: inline_serializer("PrototypeModelInfo", {
                   "name": serializers.CharField(), "version": serializers.CharField(),
                   "architecture": serializers.CharField(), "parameters": serializers.IntegerField(allow_null=True),
                   "input_shape": serializers.ListField(child=serializers.IntegerField()),
                   "classes": serializers.ListField(child=serializers.CharField()),
                   "training": serializers.DictField(), "data": serializers.DictField(),
                   "metrics": serializers.DictField()}), **errors(503)})
@api_view(["GET"])
def model_info(request):
    card = classifier().card
    return Response({"name": card.get("name", ""), "version": card["version"],
                     "architecture": card.get("architecture", ""), "parameters": card.get("parameters"),
                     "input_shape": (card.get("input") or {}).get("size", []), "classes": NAMES,
                     "training": card.get("training") or {}, "data": card.get("data") or {},
                     "metrics": card.get("metrics") or {}})


HistoryItems = inline_serializer("PrototypeHistoryItem", {
    "id": serializers.IntegerField(), "filename": serializers.CharField(), **_prediction_fields(nullable=True)},
    many=True)


class History(ListAPIView):
    pagination_class = Pagination
    serializer_class = None

    def get_queryset(self):
        return filtered_scans(self.request)

    @extend_schema(tags=TAG, summary="Your prediction history, newest first", parameters=FILTER_PARAMETERS,
                   responses={200: HistoryItems, **errors(400, 404)})
    def get(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(
            [{"id": s.pk, "filename": s.original_name, **history_body(s)} for s in page])


@extend_schema(tags=TAG, summary="The data behind the dashboard charts", parameters=FILTER_PARAMETERS,
               responses={200: inline_serializer("PrototypeCharts", {
                   "class_distribution": inline_serializer("PrototypeClassCounts", _names(serializers.IntegerField)),
                   "confidence_histogram": inline_serializer("PrototypeHistogram", {
                       "bins": serializers.ListField(child=serializers.CharField()),
                       "counts": serializers.ListField(child=serializers.IntegerField())}),
                   "daily_counts": serializers.ListField(child=serializers.DictField())}), **errors(400)})
@api_view(["GET"])
def charts(request):
    scans = filtered_scans(request)
    bins = [f"{i * 100 // HISTOGRAM_BINS}-{(i + 1) * 100 // HISTOGRAM_BINS}%" for i in range(HISTOGRAM_BINS)]
    return Response({
        "class_distribution": {DISPLAY_NAMES[c]: n for c, n in summary(scans)["by_label"].items()},
        "confidence_histogram": {"bins": bins, "counts": confidence_histogram(scans)},
        "daily_counts": daily_counts(scans),
    })


@extend_schema(tags=TAG, summary="The statistical summary", parameters=FILTER_PARAMETERS,
               responses={200: inline_serializer("PrototypeStatistics", {
                   "total_predictions": serializers.IntegerField(),
                   "class_counts": inline_serializer("PrototypeStatCounts", _names(serializers.IntegerField)),
                   "average_confidence": serializers.FloatField(allow_null=True),
                   "out_of_scope": serializers.IntegerField(),
                   "first_prediction": serializers.CharField(allow_null=True),
                   "last_prediction": serializers.CharField(allow_null=True)}), **errors(400)})
@api_view(["GET"])
def statistics(request):
    s = summary(filtered_scans(request))
    return Response({"total_predictions": s["total"],
                     "class_counts": {DISPLAY_NAMES[c]: n for c, n in s["by_label"].items()},
                     "average_confidence": s["mean_confidence"], "out_of_scope": s["out_of_scope"],
                     "first_prediction": stamp(s["first"]), "last_prediction": stamp(s["last"])})
