"""Finding 7 of issue 12: views of an image or heat map, of another user's batch, and the Django
admin's views, changes and deletes left no entry (and the admin delete left the image on disk); the
app's database role could TRUNCATE the trail or disable its trigger. Finding 8: a bad address in
the trail's filter was a 500."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from audit.models import AuditEvent
from audit.trail import record
from scans.models import BatchJob, Scan
from tests.api.conftest import token_client
from tests.batches.helpers import post_batch
from tests.helpers import client_for, png, stored_files, upload


def entries(action: str, **where) -> list[tuple]:
    return list(AuditEvent.objects.filter(action=action, **where).values_list("username", "object_type", "detail"))


@pytest.fixture
def scan(owner):
    upload(client_for(owner), png(seed=11), name="seen.png")
    return Scan.objects.get()


def test_the_image_and_the_heat_map_shown_in_the_page_are_audited(owner, scan):
    client = client_for(owner)
    assert client.get(reverse("scans:image", args=[scan.pk])).status_code == 200
    assert client.get(reverse("scans:heat-layer", args=[scan.pk])).status_code in (200, 404)
    details = [d for _, _, d in entries("viewed", object_id=str(scan.pk))]
    assert "image" in details and ("heat map" in details or not scan.prediction.shows_class)


def test_viewing_another_users_batch_is_audited(owner, staff):
    post_batch(client_for(owner), [ContentFile(png(128, 1), name="a.png")])
    batch = BatchJob.objects.get()
    assert client_for(staff).get(reverse("scans:batch", args=[batch.pk])).status_code == 200
    assert ("staff", "batchjob", "") in entries("viewed", object_id=str(batch.pk))


def test_the_admin_audits_views_and_changes_and_deletes_through_the_service(staff, scan, settings):
    client = client_for(staff)
    url = reverse("admin:scans_scan_change", args=[scan.pk])
    assert client.get(url).status_code == 200
    assert ("staff", "scan", "admin") in entries("viewed", object_id=str(scan.pk))
    page = client.get(url).context["adminform"].form.initial
    form = {k: v for k, v in page.items() if k in ("original_name", "note", "patient_ref") and v is not None}
    form.update({"original_name": "renamed.png", "prediction-TOTAL_FORMS": "1", "prediction-INITIAL_FORMS": "1",
                 "prediction-MIN_NUM_FORMS": "0", "prediction-MAX_NUM_FORMS": "1",
                 "prediction-0-id": str(scan.prediction.pk), "prediction-0-scan": str(scan.pk)})
    response = client.post(url, form)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    assert any(d.startswith("admin: ") and "original_name" in d for _, _, d in entries("changed"))
    assert stored_files(settings)
    client.post(reverse("admin:scans_scan_delete", args=[scan.pk]), {"post": "yes"})
    assert not Scan.objects.exists()
    assert entries("deleted", object_id=str(scan.pk)) == [("staff", "scan", "renamed.png")]
    assert not stored_files(settings)  # the image went with its rows


def test_the_admins_bulk_delete_goes_through_the_service(staff, scan, settings):
    client_for(staff).post(reverse("admin:scans_scan_changelist"),
                           {"action": "delete_selected", "_selected_action": [scan.pk], "post": "yes"})
    assert not Scan.objects.exists() and not stored_files(settings)
    assert entries("deleted", object_id=str(scan.pk))


def test_a_bad_address_filter_is_a_400_not_a_500(staff):
    response = client_for(staff).get(reverse("audit:trail"), {"ip_address": "abc"})
    assert response.status_code == 400 and b"valid IPv4 or IPv6" in response.content
    assert client_for(staff).get(reverse("audit:trail"), {"ip_address": "10.0.0.1"}).status_code == 200


@pytest.mark.skipif(connection.vendor != "postgresql", reason="database roles are PostgreSQL's")
def test_the_apps_role_cannot_empty_or_unguard_the_audit_trail(owner):
    """CI connects as a superuser, the tables' owner: the test makes the app's role, grants it what
    grant_app_role grants, and acts as it (SET ROLE drops the superuser's rights)."""
    role = "neurolens_app_test"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} NOLOGIN")  # rolled back with the test's transaction
    call_command("grant_app_role", role)
    record(owner, AuditEvent.VIEWED, detail="before")
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {role}")
        try:
            record(owner, AuditEvent.VIEWED, detail="as the app")  # it can add entries
            assert Scan.objects.count() == 0  # and use the other tables
            for statement in (f"TRUNCATE {AuditEvent._meta.db_table}",
                              f"ALTER TABLE {AuditEvent._meta.db_table} DISABLE TRIGGER audit_event_append_only",
                              f"DELETE FROM {AuditEvent._meta.db_table}",
                              f"UPDATE {AuditEvent._meta.db_table} SET detail = ''",
                              f"DROP TRIGGER audit_event_append_only ON {AuditEvent._meta.db_table}"):
                with pytest.raises(DatabaseError, match="permission denied|must be owner"), transaction.atomic():
                    cursor.execute(statement)
        finally:
            cursor.execute("RESET ROLE")
    assert AuditEvent.objects.filter(detail__in=["before", "as the app"]).count() == 2


def test_the_apis_heat_map_and_batch_views_are_audited(owner, scan):
    api = token_client(owner)
    post_batch(client_for(owner), [ContentFile(png(128, 2), name="b.png")])
    batch = BatchJob.objects.get()
    assert api.get(reverse("api:batch", args=[batch.pk])).status_code == 200
    assert ("owner", "batchjob", "API") in entries("viewed", object_id=str(batch.pk))
    if scan.prediction.shows_class:
        assert api.get(reverse("api:scan-heatmap", args=[scan.pk])).status_code == 200
        assert ("owner", "scan", "heat map (API)") in entries("viewed", object_id=str(scan.pk))
