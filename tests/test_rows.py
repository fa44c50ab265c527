"""lib.rows.insert writes what bulk_create writes, on every column, and gives each instance its key."""

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, transaction

from audit.models import AuditEvent
from lib.rows import discard, insert, pipelined, read_keys
from scans.models import Prediction, Scan

pytestmark = pytest.mark.django_db


def _scan(owner, seed: int, **extra) -> Scan:
    scan = Scan(owner=owner, original_name=f"name {seed}.dcm", sha256=f"{seed:064x}", format="DICOM", width=5,
                height=7, size_bytes=11, patient_ref="", note="a note, with 'quotes'\nand a line",
                dicom_meta={"Sequence": "T1", "nested": {"n": [1, 2.5, None]}},
                created=datetime(2026, 11, 30, 12, 34, 56, 789012, tzinfo=UTC), **extra)
    scan.image.name = f"scans/2026/11/{seed}.png"
    return scan


def _columns(obj) -> dict:
    values = type(obj).objects.filter(pk=obj.pk).values().get()
    return {k: v for k, v in values.items() if k not in ("id", "sha256", "image", "original_name", "scan_id")}


def test_each_column_is_written_as_bulk_create_writes_it(owner):
    mine, theirs = _scan(owner, 1), _scan(owner, 2)
    assert insert([mine]) == [mine] and mine.pk and not mine._state.adding
    Scan.objects.bulk_create([theirs])
    assert _columns(mine) == _columns(theirs) and Scan.objects.get(pk=mine.pk).dicom_meta["nested"] == {"n": [1, 2.5, None]}
    fields = {"label": "meningioma", "confidence": 0.875, "prob_glioma": 0.05, "prob_meningioma": 0.875,
              "prob_notumor": 0.05, "prob_pituitary": 0.025, "out_of_scope": False, "out_of_scope_reason": "",
              "model_version": "v", "inference_ms": 1.5, "heat": b"\x89PNG\x00\xff", "owner": owner,
              "created": mine.created}
    p1, p2 = Prediction(scan=mine, **fields), Prediction(scan=theirs, **fields)
    insert([p1])
    Prediction.objects.bulk_create([p2])
    assert _columns(p1) == _columns(p2) and bytes(Prediction.objects.get(pk=p1.pk).heat) == b"\x89PNG\x00\xff"


def test_many_rows_in_parts_each_get_their_own_key(owner):
    entries = [AuditEvent(user=owner, username=owner.username, action=AuditEvent.UPLOADED, object_type="Scan",
                          object_id=str(i), detail=f"entry {i}") for i in range(3000)]
    insert(entries)
    stored = dict(AuditEvent.objects.filter(username=owner.username).values_list("pk", "detail"))
    assert len(stored) == 3000 and all(stored[e.pk] == e.detail for e in entries)


def test_a_broken_constraint_raises_djangos_integrity_error_and_writes_nothing(owner):
    insert([_scan(owner, 3)])
    with pytest.raises(IntegrityError), transaction.atomic():
        insert([_scan(owner, 4), _scan(owner, 3)])  # the same file for the same owner twice
    assert Scan.objects.filter(owner=owner).count() == 1


@pytest.mark.django_db(transaction=True)
def test_rows_sent_with_the_commit_get_their_keys_once_it_is_sent(owner):
    """lib.rows.pipelined: on PostgreSQL the later INSERTs go out with the COMMIT (one round trip);
    their keys are set by read_keys afterwards, and the rows are those a plain insert writes."""
    later: list = []
    first, second = _scan(owner, 5), _scan(owner, 6)
    with pipelined(), transaction.atomic():
        insert([first])
        assert first.pk  # read at once: later rows may refer to it
        insert([second], later=later)
        entries = insert([AuditEvent(user=owner, username=owner.username, action=AuditEvent.UPLOADED,
                                     object_type="scan", object_id=str(first.pk), detail="with the commit")], later=later)
    read_keys(later)
    assert not later and second.pk and entries[0].pk and not second._state.adding
    assert Scan.objects.get(pk=second.pk).sha256 == second.sha256
    assert AuditEvent.objects.get(pk=entries[0].pk).detail == "with the commit"
    plain = _scan(owner, 7)
    insert([plain])
    assert _columns(second) == _columns(plain)


@pytest.mark.django_db(transaction=True)
def test_a_statement_that_fails_with_the_commit_writes_nothing_and_leaves_the_connection_usable(owner):
    insert([_scan(owner, 8)])
    later: list = []
    with pytest.raises(IntegrityError), pipelined(), transaction.atomic():
        insert([_scan(owner, 9)])
        insert([_scan(owner, 8)], later=later)  # the same file again: refused when the COMMIT is sent
    discard(later)
    assert not later
    assert sorted(Scan.objects.filter(owner=owner).values_list("sha256", flat=True)) == [f"{8:064x}"]
    insert([_scan(owner, 10)])
    assert Scan.objects.filter(owner=owner).count() == 2
