"""Deleting a reviewed scan asks for a reason, which the audit trail keeps; an unreviewed one does not."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from scans.models import Scan
from scans.reviews import review_scan
from tests.api.conftest import assert_error, token_client
from tests.helpers import client_for, make_scan

pytestmark = pytest.mark.django_db


def test_the_page_asks_for_a_reason_once_reviewed(owner, reviewer):
    scan = make_scan(owner, name="reviewed.png")
    client = client_for(owner)
    assert 'name="reason"' not in client.get(reverse("scans:delete", args=[scan.pk])).text
    review_scan(reviewer, scan, "confirmed")
    assert 'name="reason"' in client.get(reverse("scans:delete", args=[scan.pk])).text
    refused = client.post(reverse("scans:delete", args=[scan.pk]), {"reason": "   "})
    assert refused.status_code == 400 and "say why" in refused.text and Scan.objects.filter(pk=scan.pk).exists()
    client.post(reverse("scans:delete", args=[scan.pk]), {"reason": "wrong patient"})
    assert not Scan.objects.filter(pk=scan.pk).exists()
    entry = AuditEvent.objects.get(action=AuditEvent.DELETED)
    assert entry.detail == "reviewed.png; reason: wrong patient"


def test_the_api_needs_a_reason_once_reviewed(owner, reviewer):
    plain, reviewed = make_scan(owner, seed=1), make_scan(owner, seed=2)
    review_scan(reviewer, reviewed, "not_assessable", reason="poor_quality")
    client = token_client(owner)
    assert client.delete(reverse("api:scan", args=[plain.pk])).status_code == 204
    assert_error(client.delete(reverse("api:scan", args=[reviewed.pk])), 400, "reason_required", "reason")
    assert client.delete(reverse("api:scan", args=[reviewed.pk]) + "?reason=duplicate+upload").status_code == 204
    assert AuditEvent.objects.filter(action=AuditEvent.DELETED, detail__endswith="reason: duplicate upload").exists()
