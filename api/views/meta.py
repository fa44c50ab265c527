"""Health, classes and the model: what a client checks before it sends anything."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from api.errors import ApiError, errors
from api.serializers import ClassSerializer
from ml.infer import get_classifier
from scans import services

HealthSerializer = inline_serializer("Health", {
    "status": serializers.ChoiceField(choices=["ok", "error"]),
    "database": serializers.BooleanField(),
    "model": inline_serializer("ModelStatus", {
        "loaded": serializers.BooleanField(), "version": serializers.CharField(allow_null=True)}),
    "uptime_s": serializers.FloatField(help_text="Seconds since this server process started."),
})


@extend_schema(tags=["service"], summary="Is the service up?", auth=[],
               description="No login needed. 503 when the database or the model is unavailable.",
               responses={200: HealthSerializer, 503: HealthSerializer, **errors(public=True)})
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
def health(request):
    healthy, body = services.health()
    return Response(body, status=200 if healthy else 503)


@extend_schema(tags=["model"], summary="The four classes", responses={200: ClassSerializer(many=True), **errors()})
@api_view(["GET"])
def classes(request):
    return Response(ClassSerializer.all())


def classifier():
    try:
        return get_classifier()
    except Exception:  # noqa: BLE001 - any load failure is the same answer
        raise ApiError(503, "model_unavailable", "The model is not available.") from None


ModelSerializer = inline_serializer("Model", {
    "name": serializers.CharField(), "version": serializers.CharField(),
    "architecture": serializers.CharField(), "parameters": serializers.IntegerField(allow_null=True),
    "classes": ClassSerializer(many=True),
    "metrics": serializers.DictField(help_text="Validation figures from the model card."),
})


@extend_schema(tags=["model"], summary="The model: version, architecture and validation metrics",
               responses={200: ModelSerializer, **errors(503)})
@api_view(["GET"])
def model(request):
    card = classifier().card
    return Response({"name": card.get("name", ""), "version": card["version"],
                     "architecture": card.get("architecture", ""), "parameters": card.get("parameters"),
                     "classes": ClassSerializer.all(), "metrics": card.get("metrics") or {}})


@extend_schema(tags=["model"], summary="The full model card", description="ml/model/card.json as served.",
               responses={200: OpenApiTypes.OBJECT, **errors(503)})
@api_view(["GET"])
def model_card(request):
    return Response(classifier().card)


@extend_schema(tags=["model"], summary="The model's validation metrics",
               responses={200: OpenApiTypes.OBJECT, **errors(503)})
@api_view(["GET"])
def model_metrics(request):
    card = classifier().card
    return Response({"version": card["version"], **(card.get("metrics") or {}),
                     "calibration": card.get("calibration") or {}})
