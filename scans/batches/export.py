"""A batch as CSV: one row per file, its result or why it has none."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.http import StreamingHttpResponse

from lib.csv import safe_cell
from ml.infer import CLASSES

COLUMNS = ["position", "file", "status", "error_code", "error_message", "scan_id", "duplicate", "label",
           "confidence", *[f"prob_{c}" for c in CLASSES], "out_of_scope", "out_of_scope_reason", "model_version"]


def rows(batch) -> Iterator[dict]:
    items = batch.items.select_related("scan__prediction").order_by("position")
    for item in items.iterator(chunk_size=500):
        p = getattr(item.scan, "prediction", None) if item.scan else None
        shown = p if p and p.shows_class else None  # an out-of-scope image was not assessed: no class
        yield {"position": item.position + 1, "file": item.name, "status": item.status,
               "error_code": item.error_code, "error_message": item.error_message, "scan_id": item.scan_id or "",
               "duplicate": item.duplicate if item.scan_id else "",
               "label": shown.label if shown else "", "confidence": shown.confidence if shown else "",
               **{f"prob_{c}": (shown.probabilities[c] if shown else "") for c in CLASSES},
               "out_of_scope": p.out_of_scope if p else "", "out_of_scope_reason": p.out_of_scope_reason if p else "",
               "model_version": p.model_version if p else ""}


class _Echo:
    """csv.writer's file: each write hands the formatted line back instead of keeping it."""

    def write(self, line: str) -> str:
        return line


def csv_chunks(batch) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    for row in rows(batch):
        yield writer.writerow([safe_cell(row[c]) for c in COLUMNS])


def csv_response(batch) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_chunks(batch), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="neurolens-batch-{batch.pk}.csv"'
    return response
