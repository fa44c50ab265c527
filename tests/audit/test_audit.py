"""The audit trail: an entry for every action, with who, what, when and where; none can change."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from audit.models import AppendOnly, AuditEvent
from scans.models import Scan
from tests.helpers import client_for, png, upload


def last(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).latest("id")


@pytest.fixture
def scan(owner):
    upload(client_for(owner), png(seed=7), name="audited.png")
    return Scan.objects.get()


def test_each_action_leaves_an_entry(owner, reviewer, scan):
    entry = last("uploaded")
    assert (entry.username, entry.object_type, entry.object_id, entry.ip_address) == (
        "owner", "scan", str(scan.pk), "127.0.0.1")
    client = client_for(owner)
    client.get(reverse("scans:detail", args=[scan.pk]), REMOTE_ADDR="10.1.2.3")
    assert last("viewed").ip_address == "10.1.2.3" and last("viewed").object_id == str(scan.pk)
    client.get(reverse("scans:report", args=[scan.pk]))
    assert last("downloaded").detail == "PDF report"
    b"".join(client.get(reverse("api:export-csv"), {"label": "glioma"}).streaming_content)
    assert last("exported").detail == "CSV label=glioma"
    client_for(reviewer).post(reverse("scans:review", args=[scan.pk]), {"status": "confirmed"})
    assert (last("reviewed").username, last("reviewed").detail) == ("reviewer", "confirmed")
    assert client.post(reverse("scans:delete", args=[scan.pk])).status_code == 400  # reviewed: a reason first
    client.post(reverse("scans:delete", args=[scan.pk]), {"reason": "uploaded for the wrong patient"})
    deleted = last("deleted")
    assert (deleted.username, deleted.object_id, deleted.detail) == (
        "owner", str(scan.pk), "audited.png; reason: uploaded for the wrong patient")
    assert set(AuditEvent.objects.values_list("action", flat=True)) == {
        "uploaded", "viewed", "downloaded", "exported", "reviewed", "deleted"}


def test_entries_cannot_be_changed_or_deleted_through_the_orm(scan):
    entry = last("uploaded")
    entry.detail = "nothing happened"
    with pytest.raises(AppendOnly):
        entry.save()
    with pytest.raises(AppendOnly):
        entry.delete()
    with pytest.raises(AppendOnly):
        AuditEvent.objects.filter(pk=entry.pk).update(detail="x")
    with pytest.raises(AppendOnly):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=entry.pk).detail == "PNG"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
@pytest.mark.parametrize("sql", ["UPDATE audit_auditevent SET detail = 'x'", "DELETE FROM audit_auditevent"])
def test_the_database_refuses_raw_changes(scan, sql):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert AuditEvent.objects.filter(action="uploaded").exists()


def test_the_admin_is_read_only(staff, scan):
    entry = last("uploaded")
    client = client_for(staff)
    assert client.get(reverse("admin:audit_auditevent_changelist")).status_code == 200
    assert client.post(reverse("admin:audit_auditevent_change", args=[entry.pk]), {"detail": "x"}).status_code == 403
    assert client.post(reverse("admin:audit_auditevent_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    assert AuditEvent.objects.get(pk=entry.pk).detail == "PNG"


@pytest.mark.parametrize("persona", ["owner", "reviewer", "researcher", "outsider"])
def test_the_trail_page_is_for_staff_only(request, persona):
    assert client_for(request.getfixturevalue(persona)).get(reverse("audit:trail")).status_code == 403


def test_the_trail_page_filters(staff, owner, scan):
    client_for(owner).get(reverse("scans:detail", args=[scan.pk]))
    client = client_for(staff)
    assert client.get(reverse("audit:trail")).text.count('data-testid="audit-row"') == 2
    page = client.get(reverse("audit:trail"), {"action": "viewed", "user": "owner"}).text
    assert page.count('data-testid="audit-row"') == 1 and "viewed" in page
    assert client.get(reverse("audit:trail"), {"user": "nobody"}).text.count('data-testid="audit-row"') == 0


def test_an_image_fetched_through_the_api_is_a_download(owner, scan):
    client_for(owner).get(reverse("api:scan-image", args=[scan.pk]))
    assert last("downloaded").detail == "image (API)"


def test_the_model_page_says_what_heat_maps_show_and_do_not(owner):
    page = client_for(owner).get(reverse("model-card")).text
    assert "which regions raised the score" in page and "does not outline a tumour" in page


def test_an_analytics_export_is_audited(staff, scan):
    client = client_for(staff)
    b"".join(client.get(reverse("analytics:export-csv"), {"label": "glioma"}).streaming_content)
    b"".join(client.get(reverse("analytics:export-json")).streaming_content)
    details = list(AuditEvent.objects.filter(action="exported", object_type="analytics-export")
                   .order_by("id").values_list("detail", flat=True))
    assert details == ["CSV label=glioma", "JSON"]


def test_the_trail_records_the_address_our_proxy_saw_and_never_one_the_client_wrote(owner, scan, settings):
    client = client_for(owner)
    detail = reverse("scans:detail", args=[scan.pk])
    client.get(detail, REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR="6.6.6.6")  # no proxy configured
    assert last("viewed").ip_address == "10.9.9.9"
    settings.TRUSTED_PROXIES = 1  # one proxy of ours appends the address it was called from
    client.get(detail, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    assert last("viewed").ip_address == "203.0.113.7"
    client.get(detail, REMOTE_ADDR="10.0.0.2")  # the proxy added nothing: the connection's address
    assert last("viewed").ip_address == "10.0.0.2"
