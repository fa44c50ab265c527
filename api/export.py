"""The caller's visible predictions as CSV or JSON, streamed row by row."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator

from ml.infer import CLASSES

COLUMNS = ["scan_id", "created", "owner", "original_name", "patient_ref", "label", "confidence",
           *[f"prob_{c}" for c in CLASSES], "out_of_scope", "out_of_scope_reason", "model_version"]


def rows(scans) -> Iterator[dict]:
    for scan in scans.iterator(chunk_size=500):
        p = scan.prediction
        yield {
            "scan_id": scan.pk, "created": scan.created.isoformat(), "owner": scan.owner.get_username(),
            "original_name": scan.original_name, "patient_ref": scan.patient_ref, "label": p.label,
            "confidence": p.confidence, **{f"prob_{c}": v for c, v in p.probabilities.items()},
            "out_of_scope": p.out_of_scope, "out_of_scope_reason": p.out_of_scope_reason,
            "model_version": p.model_version,
        }


class _Line:
    def write(self, value: str) -> str:
        return value


def _cell(value):
    #  A spreadsheet would run a cell starting with = + - @ as a formula.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_chunks(scans) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(COLUMNS)
    for row in rows(scans):
        yield writer.writerow([_cell(row[c]) for c in COLUMNS])


def json_chunks(scans) -> Iterator[str]:
    yield "["
    for i, row in enumerate(rows(scans)):
        yield ("," if i else "") + json.dumps(row)
    yield "]"
