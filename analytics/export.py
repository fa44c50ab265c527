"""Predictions as CSV or JSON, streamed so memory stays flat whatever the number of rows.

The database does the formatting: on PostgreSQL the CSV comes from COPY ... TO STDOUT, and every
JSON record is built by json_build_object; elsewhere rows come from a chunked cursor."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from django.db import connection
from django.db.models import Case, CharField, F, Func, Q, QuerySet, TextField, Value, When
from django.db.models.functions import Cast, Concat, JSONObject

from analytics import access
from ml.infer import CLASSES

CHUNK = 2000
FLUSH_BYTES = 64 * 1024
#  (column, field) in the order of the file; owner and patient_ref only for those allowed them.
FIELDS = [("prediction_id", "id"), ("scan_id", "scan_id"), ("created", "scan__created"),
          ("owner", "scan__owner__username"), ("original_name", "scan__original_name"),
          ("patient_ref", "scan__patient_ref"), ("label", "label"), ("confidence", "confidence"),
          *[(f"prob_{c}", f"prob_{c}") for c in CLASSES], ("out_of_scope", "out_of_scope"),
          ("out_of_scope_reason", "out_of_scope_reason"), ("model_version", "model_version"),
          ("inference_ms", "inference_ms")]
TEXT = {"owner", "original_name", "patient_ref", "out_of_scope_reason"}
#  A spreadsheet runs a cell starting with one of these as a formula; names and references are typed by users.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def columns_for(viewer) -> list[tuple[str, str]]:
    hidden = set()
    if not access.shows_users(viewer):
        hidden.add("owner")
    if not access.shows_patient_ref(viewer):
        hidden.add("patient_ref")
    return [(name, field) for name, field in FIELDS if name not in hidden]


def _ordered(preds: QuerySet) -> QuerySet:
    return preds.order_by("created", "id")


def _utc_iso(field: str) -> Func:
    return Func(F(field), template="to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
                output_field=CharField())


def _sql_column(name: str, field: str):
    if name == "created":
        return _utc_iso(field)
    if name == "out_of_scope":
        return Cast(field, CharField())
    if name in TEXT:
        risky = Q()
        for start in FORMULA_START:
            risky |= Q(**{f"{field}__startswith": start})
        return Case(When(risky, then=Concat(Value("'"), F(field))), default=F(field), output_field=CharField())
    return F(field)


def _header(cols) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([name for name, _ in cols])
    return buf.getvalue()


def csv_chunks(preds: QuerySet, viewer) -> Iterator[bytes | str]:
    cols = columns_for(viewer)
    yield _header(cols)
    if connection.vendor == "postgresql":
        yield from _copy_csv(preds, cols)
    else:
        yield from _python_csv(preds, cols)


def _copy_csv(preds: QuerySet, cols) -> Iterator[bytes]:
    exprs = {f"c{i}": _sql_column(name, field) for i, (name, field) in enumerate(cols)}
    sql, params = _ordered(preds).values(**exprs).query.sql_with_params()
    pending, size = [], 0
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy:
        for data in copy:
            pending.append(bytes(data))
            size += len(data)
            if size >= FLUSH_BYTES:
                yield b"".join(pending)
                pending, size = [], 0
    yield b"".join(pending)


def _python_value(name: str, value):
    if name == "created":
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if name == "out_of_scope":
        return "true" if value else "false"
    if name in TEXT and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _python_csv(preds: QuerySet, cols) -> Iterator[str]:
    names = [name for name, _ in cols]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    rows = _ordered(preds).values_list(*[f for _, f in cols]).iterator(chunk_size=CHUNK)
    for n, row in enumerate(rows, 1):
        writer.writerow([_python_value(name, v) for name, v in zip(names, row, strict=True)])
        if n % CHUNK == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def json_chunks(preds: QuerySet, viewer) -> Iterator[str]:
    cols = columns_for(viewer)
    parts, first = ["["], True
    for text in _json_records(preds, cols):
        parts.append(text if first else "," + text)
        first = False
        if len(parts) >= CHUNK:
            yield "".join(parts)
            parts = []
    parts.append("]")
    yield "".join(parts)


def _json_records(preds: QuerySet, cols) -> Iterator[str]:
    """One JSON object per prediction, as text: built by PostgreSQL, or here from plain rows."""
    if connection.vendor == "postgresql":
        record = Cast(JSONObject(**{name: F(field) for name, field in cols}), TextField())
        yield from _ordered(preds).values_list(record, flat=True).iterator(chunk_size=CHUNK)
        return
    names = [name for name, _ in cols]
    for row in _ordered(preds).values_list(*[f for _, f in cols]).iterator(chunk_size=CHUNK):
        record = dict(zip(names, row, strict=True))
        record["created"] = record["created"].isoformat()
        yield json.dumps(record)
