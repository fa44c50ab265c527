"""sweep_orphans: files a killed process left without their rows go; every referenced file and any
upload still in flight stay."""

import os
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from scans.models import Scan
from tests.helpers import client_for, png, stored_files, upload

pytestmark = pytest.mark.django_db


def _leftover(settings, name: str, age_minutes: float) -> Path:
    """A file as a killed upload leaves it: written, never committed, `age_minutes` old."""
    path = Path(settings.MEDIA_ROOT) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png(64, 9))
    then = time.time() - age_minutes * 60
    os.utime(path, (then, then))
    return path


def test_old_orphans_go_and_referenced_or_recent_files_stay(owner, settings, capsys):
    upload(client_for(owner), png(256, 1))
    scan = Scan.objects.get()  # stored with its prediction by the real model
    kept = set(stored_files(settings))
    assert Path(settings.MEDIA_ROOT) / scan.image.name in kept
    old_scan = _leftover(settings, "scans/2026/11/deadbeef.png", 120)
    old_heat = _leftover(settings, "heatmaps/2026/11/deadbeef.png", 120)
    in_flight = _leftover(settings, "scans/2026/11/inflight.png", 5)
    #  Made old too: being referenced, not being young, is what keeps a scan's file.
    os.utime(Path(settings.MEDIA_ROOT) / scan.image.name, (time.time() - 7200,) * 2)

    call_command("sweep_orphans", "--dry-run")
    out = capsys.readouterr().out
    assert "would remove scans/2026/11/deadbeef.png" in out and "would remove heatmaps/2026/11/deadbeef.png" in out
    assert old_scan.exists() and old_heat.exists()

    call_command("sweep_orphans", "--older-than", "60")
    out = capsys.readouterr().out
    assert "2 orphaned removed, 1 unreferenced but younger than 60 min kept" in out
    assert not old_scan.exists() and not old_heat.exists()
    assert set(stored_files(settings)) == kept | {in_flight}
    assert client_for(owner).get(f"/scans/{scan.pk}/image").status_code == 200


def test_a_pending_batch_items_staged_file_is_kept(owner, settings):
    from scans.models import BatchItem, BatchJob

    staged = _leftover(settings, "scans/2026/11/abc-0.png", 600)
    batch = BatchJob.objects.create(owner=owner, name="1 file")
    BatchItem.objects.create(batch=batch, position=0, name="a.png", staged="scans/2026/11/abc-0.png")
    call_command("sweep_orphans")
    assert staged.exists()


def test_a_grace_period_under_a_minute_is_refused(db):
    with pytest.raises(CommandError, match="at least 1 minute"):
        call_command("sweep_orphans", "--older-than", "0")
