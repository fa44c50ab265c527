"""One error shape for every API answer: {"error": {"code", "message", "field"}}."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from scans.intake.errors import InferenceFailed, ScanRejected, http_status

log = logging.getLogger(__name__)
RETRY_AFTER_S = 5  # a database outage: when a client should try again (the Retry-After header)


class ApiError(exceptions.APIException):
    def __init__(self, status_code: int, code: str, message: str, field: str | None = None):
        super().__init__(message, code)
        self.status_code, self.code, self.message, self.field = status_code, code, message, field


def rejected(exc: ScanRejected, field: str = "image") -> ApiError:
    """The one status a rejection has everywhere (scans.intake.errors.http_status)."""
    return ApiError(http_status(exc.code), exc.code, exc.message, field)


def error_body(code: str, message: str, field: str | None = None) -> dict:
    return {"error": {"code": code, "message": message, "field": field}}


def exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = ApiError(404, "not_found", str(exc) or "Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = ApiError(403, "permission_denied", str(exc) or "You may not do this.")
    elif isinstance(exc, ScanRejected):
        exc = rejected(exc)
    elif isinstance(exc, InferenceFailed):
        exc = ApiError(http_status(exc.code), exc.code, str(exc))
    elif isinstance(exc, RequestDataTooBig):
        exc = ApiError(413, "request_too_large", "The request body is too large.")
    elif isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        exc = ApiError(400, "too_many_fields", str(exc))
    elif isinstance(exc, (OperationalError, InterfaceError)):
        log.warning("the database is unavailable: %s", type(exc).__name__)
        exc = ApiError(503, "database_unavailable", "The database is unavailable for a moment; nothing was "
                                                    f"changed. Try again in {RETRY_AFTER_S} seconds.")
    if isinstance(exc, ApiError):
        response = Response(error_body(exc.code, exc.message, exc.field), status=exc.status_code)
        if exc.status_code == 401:
            response["WWW-Authenticate"] = "Token"
        if exc.code == "database_unavailable":
            response["Retry-After"] = str(RETRY_AFTER_S)
        return response
    response = drf_exception_handler(exc, context)
    if response is None:
        log.exception("unhandled error in the API", exc_info=exc)
        return Response(error_body("server_error", "Something went wrong on our side."), status=500)
    if isinstance(exc, exceptions.ValidationError):
        field, detail = _first_error(exc.detail)
        code = getattr(detail, "code", None) or "invalid"
        response.data = error_body(code, str(detail), field)
    else:
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        response.data = error_body(code if isinstance(code, str) else "error", str(response.data.get("detail", "")))
    return response


def _first_error(detail, field: str | None = None):
    """The first message of a (possibly nested) DRF error, with the dotted name of its field."""
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        if key != "non_field_errors":
            field = f"{field}.{key}" if field else str(key)
        return _first_error(value, field)
    if isinstance(detail, list) and detail:
        return _first_error(detail[0], field)
    return field, detail or "The request is not valid."


def not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """Any /api/ address that names no endpoint."""
    return JsonResponse(error_body("not_found", "There is no API endpoint at this address."), status=404)


# --- for the OpenAPI description ------------------------------------------------------------

class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable, e.g. `unsupported_format`.")
    message = serializers.CharField(help_text="For people.")
    field = serializers.CharField(allow_null=True, help_text="The request field at fault, if any.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


_MEANING = {
    400: "The request is not valid (see `error.field`).",
    401: "No credentials, or a wrong or revoked token.",
    403: "Your role does not allow this.",
    404: "No such object, or it is not yours to see.",
    405: "Method not allowed.",
    409: "Not ready yet, or nothing could be stored (see `error.message`).",
    413: "The file or the request is too large.",
    415: "Unsupported file format or content type.",
    422: "The image is out of scope and was not assessed (code `out_of_scope`, the reason in the message).",
    429: "Too many requests; see Retry-After.",
    503: "The model could not analyse the image, or the database is unavailable for a moment (code "
         "`database_unavailable`, with Retry-After); nothing was stored.",
}


def errors(*codes: int, public: bool = False) -> dict:
    """OpenAPI responses for these error statuses, plus those every authenticated call can give."""
    common = () if public else (status.HTTP_401_UNAUTHORIZED,)
    return {c: OpenApiResponse(ErrorSerializer, description=_MEANING[c])
            for c in sorted({*codes, *common, 405, 429, 503})}
