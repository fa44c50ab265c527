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

REQUEST_MEMORY_BYTES = 64 * 1024 * 1024


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
