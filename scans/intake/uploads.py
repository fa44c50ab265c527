"""Uploaded files kept in memory while small, spilled to a temporary file past a size.

Django's own handlers decide per request: one over FILE_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) in all
sends every file to its own temporary file, so a batch of 500 slices cost 500 files created,
written, read back and deleted before the view even ran. Here the decision is per file: each is
held in memory up to FILE_UPLOAD_MAX_MEMORY_SIZE and while the request holds less than
REQUEST_MEMORY_BYTES in all, and rolls over to a temporary file beyond (a 1 GB archive included).
"""

from __future__ import annotations

import tempfile

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers
from django.http import HttpResponse, JsonResponse
from django.urls import Resolver404, resolve

REQUEST_MEMORY_BYTES = 64 * 1024 * 1024
FORM_OVERHEAD = 1024 * 1024  # the multipart framing and the form's other fields


def request_limit(url_name: str) -> int:
    """The largest request body a route takes: one file, a batch, or a form without files."""
    if url_name in ("scans:upload", "api:scans", "api:legacy-predict"):
        return settings.MAX_UPLOAD_BYTES + FORM_OVERHEAD
    if url_name in ("scans:batch-new", "api:batches"):
        return max(settings.BATCH_ZIP_MAX_UNPACKED_MB * 1024 * 1024, settings.MAX_UPLOAD_BYTES) + FORM_OVERHEAD
    if url_name == "api:legacy-predict-batch":
        return settings.API_BATCH_MAX_FILES * settings.MAX_UPLOAD_BYTES + FORM_OVERHEAD
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE + FORM_OVERHEAD


class RequestSizeLimitMiddleware:
    """A body larger than its route takes is refused from its Content-Length, before a byte of it is
    read (or spooled to disk): 413, in the API's error shape under /api/."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            try:
                name = resolve(request.path_info).view_name
            except Resolver404:
                name = ""
            limit = request_limit(name)
            if length > limit:
                return _too_large(request, limit)
        return self.get_response(request)


def _too_large(request, limit: int) -> HttpResponse:
    message = f"The request is larger than the {limit // (1024 * 1024)} MB this page accepts; nothing was read."
    if request.path_info.startswith("/api/"):
        return JsonResponse({"error": {"code": "request_too_large", "message": message, "field": None}}, status=413)
    response = HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
    response["Connection"] = "close"  # the body was not read: the connection cannot be reused
    return response


class SpooledUploadHandler(FileUploadHandler):
    in_memory = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.in_memory = 0  # bytes of this request's files held in memory so far

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        room = min(settings.FILE_UPLOAD_MAX_MEMORY_SIZE, REQUEST_MEMORY_BYTES - self.in_memory)
        self.limit = max(room, 1)  # 0 would mean "never roll over"
        #  Closed with the request, as Django closes every uploaded file.
        self.file = tempfile.SpooledTemporaryFile(max_size=self.limit, dir=settings.FILE_UPLOAD_TEMP_DIR)  # noqa: SIM115
        raise StopFutureHandlers()

    def receive_data_chunk(self, raw_data, start):
        self.file.write(raw_data)

    def file_complete(self, file_size):
        if file_size <= self.limit:
            self.in_memory += file_size
        self.file.seek(0)
        return UploadedFile(self.file, self.file_name, self.content_type, file_size, self.charset,
                            self.content_type_extra)
