"""Predictions as CSV or JSON, streamed so memory stays flat whatever the number of rows.

The database does the formatting: on PostgreSQL the CSV comes from COPY ... TO STDOUT, and every
JSON record is built by json_build_object; elsewhere rows come from a chunked cursor."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from django.conf import settings
from django.db import connection
from django.db.models import (
    Case,
    CharField,
    F,
    FilteredRelation,
    FloatField,
    Func,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Concat, JSONObject
from django.http import StreamingHttpResponse
from django.utils import timezone

from analytics import access
from lib.csv import FORMULA_START, safe_cell
from ml.infer import CLASSES
from scans.models import Review

CHUNK = 2000
FLUSH_BYTES = 64 * 1024
#  Sort memory of the CSV export's statement, per process that sorts (the backend and its helpers).
EXPORT_WORK_MEM = "128MB"
#  (column, field) in the order of the file; owner and patient_ref only for those allowed them.
#  The model's class, confidence and probabilities are empty for an out-of-scope image (it was not
#  assessed); the review columns are the current verdict: review_status (unreviewed, confirmed,
#  corrected, not_assessable), reviewed_label (the reviewer's class), review_reason (why not
#  assessable) and effective_label (the class the scan stands at: the reviewer's once reviewed, else
#  the model's; empty when there is none).
FIELDS = [("prediction_id", "id"), ("scan_id", "scan_id"), ("created", "scan__created"),
          ("owner", "scan__owner__username"), ("original_name", "scan__original_name"),
          ("patient_ref", "scan__patient_ref"), ("label", "shown_label"), ("confidence", "shown_confidence"),
          *[(f"prob_{c}", f"shown_prob_{c}") for c in CLASSES], ("out_of_scope", "out_of_scope"),
          ("out_of_scope_reason", "out_of_scope_reason"), ("model_version", "model_version"),
          ("inference_ms", "inference_ms"), ("review_status", "review_status"), ("reviewed_label", "reviewed_label"),
          ("review_reason", "review_reason"), ("effective_label", "effective_label")]
TEXT = {"owner", "original_name", "patient_ref", "out_of_scope_reason"}


def _in_scope(field: str, output) -> Case:
    return Case(When(out_of_scope=True, then=Value(None)), default=F(field), output_field=output)


def with_verdicts(preds: QuerySet) -> QuerySet:
    """The annotations FIELDS reads: the model's output only in scope, and the current review."""
    #  The current review by one LEFT JOIN (at most one per prediction), not a subquery per column and row.
    preds = preds.annotate(current_review=FilteredRelation("review", condition=Q(review__current=True)))
    preds = preds.annotate(
        shown_label=_in_scope("label", CharField()), shown_confidence=_in_scope("confidence", FloatField()),
        **{f"shown_prob_{c}": _in_scope(f"prob_{c}", FloatField()) for c in CLASSES},
        review_status=Coalesce(F("current_review__status"), Value(Review.UNREVIEWED)),
        reviewed_label=Coalesce(F("current_review__label"), Value("")),
        review_reason=Coalesce(F("current_review__reason"), Value("")))
    return preds.annotate(effective_label=Case(
        When(review_status__in=[Review.CONFIRMED, Review.CORRECTED], then=F("reviewed_label")),
        When(review_status=Review.UNREVIEWED, out_of_scope=False, then=F("label")),
        default=Value(""), output_field=CharField()))
#  The orders an export may ask for (the REST API's `sort`); oldest first unless asked.
ORDERS = {"created": ("created", "id"), "-created": ("-created", "-id"), "label": ("effective_label", "-created", "-id"),
          "-label": ("-effective_label", "-created", "-id"), "confidence": ("confidence", "-created", "-id"),
          "-confidence": ("-confidence", "-created", "-id")}


def columns_for(viewer) -> list[tuple[str, str]]:
    """The analytics export's columns: owner only for administrators, no patient reference or file name for researchers."""
    hidden = set()
    if not access.shows_users(viewer):
        hidden.add("owner")
    if not access.shows_patient_ref(viewer):
        #  A file's name is often its patient's (issue 12): researchers get neither.
        hidden.update({"patient_ref", "original_name"})
    return [(name, field) for name, field in FIELDS if name not in hidden]


def streamed(chunks, content_type: str, extension: str, prefix: str = "neurolens-predictions") -> StreamingHttpResponse:
    """The one streamed download: a file name with the time, never cached."""
    response = StreamingHttpResponse(chunks, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{prefix}-{timezone.now():%Y%m%d-%H%M%S}.{extension}"'
    response["Cache-Control"] = "no-store"
    return response


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


def csv_chunks(preds: QuerySet, cols, order: str = "created", dated: bool = False) -> Iterator[bytes | str]:
    """The predictions as CSV, in `order` (a key of ORDERS), with the columns `cols` (columns_for);
    `dated` where they are a date range's."""
    preds = with_verdicts(preds).order_by(*ORDERS[order])
    yield _header(cols)
    if connection.vendor == "postgresql":
        yield from _copy_csv(preds, cols, in_index_order=dated and order in ("created", "-created"))
    else:
        yield from _python_csv(preds, cols)


def _copy_csv(preds: QuerySet, cols, in_index_order: bool) -> Iterator[bytes]:
    exprs = {f"c{i}": _sql_column(name, field) for i, (name, field) in enumerate(cols)}
    sql, params = preds.values(**exprs).query.sql_with_params()
    pending, size = [], 0
    with connection.cursor() as cursor:
        #  For this statement only: sorting joined rows in memory rather than in temporary files, and
        #  no JIT compilation (its cost shows up front and this plan gains nothing from it).
        cursor.execute(f"SET work_mem = '{EXPORT_WORK_MEM}'")
        cursor.execute("SET jit = off")
        #  The app's other statements plan no parallel workers (DATABASE_PARALLEL_WORKERS); this one,
        #  which reads and sorts every row it exports, may use them (EXPORT_PARALLEL_WORKERS).
        cursor.execute(f"SET max_parallel_workers_per_gather = {int(settings.EXPORT_PARALLEL_WORKERS)}")
        if in_index_order:
            #  A date range in time order: its predictions come off their index already sorted, each
            #  joined to its scan, review and owner by key, so rows stream out as they are read. Left to
            #  itself the planner hashes the range's predictions, reads every scan to join them and
            #  sorts the result in temporary files: at 10 M scans, a million-row range took 9.7 s of
            #  query, 4.4 s this way. For a whole table the planner's merge join and sort stay faster
            #  (1 M rows: 5.3 s against 6.4 s).
            cursor.execute("SET enable_sort = off")
        try:
            with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy:
                for data in copy:
                    pending.append(bytes(data))
                    size += len(data)
                    if size >= FLUSH_BYTES:
                        yield b"".join(pending)
                        pending, size = [], 0
        finally:
            cursor.execute("RESET work_mem")
            cursor.execute("RESET jit")
            cursor.execute("RESET enable_sort")
            cursor.execute("RESET max_parallel_workers_per_gather")
    yield b"".join(pending)


def _python_value(name: str, value):
    if name == "created":
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if name == "out_of_scope":
        return "true" if value else "false"
    return safe_cell(value)


def _python_csv(preds: QuerySet, cols) -> Iterator[str]:
    names = [name for name, _ in cols]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    rows = preds.values_list(*[f for _, f in cols]).iterator(chunk_size=CHUNK)
    for n, row in enumerate(rows, 1):
        writer.writerow([_python_value(name, v) for name, v in zip(names, row, strict=True)])
        if n % CHUNK == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def json_chunks(preds: QuerySet, cols, order: str = "created") -> Iterator[str]:
    preds = with_verdicts(preds).order_by(*ORDERS[order])
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
        yield from preds.values_list(record, flat=True).iterator(chunk_size=CHUNK)
        return
    names = [name for name, _ in cols]
    for row in preds.values_list(*[f for _, f in cols]).iterator(chunk_size=CHUNK):
        record = dict(zip(names, row, strict=True))
        record["created"] = record["created"].isoformat()
        yield json.dumps(record)
