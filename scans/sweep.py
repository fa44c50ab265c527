"""Files that no row points at: what a process killed at the wrong moment leaves behind.

Every writer cleans up after itself when it fails (an exception, a rolled-back transaction), but a
process killed outright (SIGKILL, power loss, the OOM killer) between writing a file and committing
its row cannot: a single upload killed after saving its image, or a batch whose staged files were
written before its rows. `sweep_orphans` removes such files once they are older than a grace period,
so an upload still in flight is never touched. It works through the storage API, so the same code
serves a local folder, a shared volume or object storage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.core.files.storage import storages
from django.utils import timezone

from scans.models import BatchItem, Scan

#  The folders the app writes under: scans.models.scan_upload_to, and batches' staging, which lives
#  beside the scans it becomes. Also "heatmaps", where the Prediction.heatmap file column (never
#  filled, dropped in migration 0008) would have kept its files: anything found there is an orphan.
FOLDERS = ("scans", "heatmaps")
GRACE = timedelta(hours=1)


@dataclass
class SweepReport:
    examined: int = 0
    kept_recent: int = 0
    removed: list[str] = field(default_factory=list)


def referenced_names() -> set[str]:
    """Every stored name a row points at."""
    names: set[str] = set()
    names.update(Scan.objects.values_list("image", flat=True).iterator(chunk_size=5000))
    names.update(BatchItem.objects.exclude(staged="").values_list("staged", flat=True).iterator(chunk_size=5000))
    return names


def _walk(storage, folder: str):
    try:
        dirs, files = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{folder}/{name}"
    for d in dirs:
        yield from _walk(storage, f"{folder}/{d}")


def sweep_orphans(grace: timedelta = GRACE, dry_run: bool = False) -> SweepReport:
    """Remove (or with dry_run only list) unreferenced files older than `grace`."""
    storage = storages["default"]
    report = SweepReport()
    #  Listed before the rows are read: a file written after this point cannot be judged an orphan
    #  because its row committed in between.
    candidates = [name for folder in FOLDERS for name in _walk(storage, folder)]
    report.examined = len(candidates)
    keep = referenced_names()
    cutoff = timezone.now() - grace
    for name in candidates:
        if name in keep:
            continue
        if storage.get_modified_time(name) > cutoff:
            report.kept_recent += 1
            continue
        if not dry_run:
            storage.delete(name)
        report.removed.append(name)
    return report
