"""Shadow re-scoring: a model version run over stored scans, its answers kept beside their results.

`pending` is the scans still to do for a version (those without its shadow, and not first scored by
it), `rescore` walks them in chunks of primary keys (memory stays bounded by one chunk of decoded
images), reads each stored file as the upload path decoded it (intake.ingest.read_stored), runs one
forward pass per chunk and inserts the shadows. The unique constraint on (scan, version, kind) makes
a second run, or two runs at once, add nothing twice. The scans' Predictions are never touched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from ml.infer import MAX_BATCH, ImageResult, get_classifier
from scans.classify import output_fields
from scans.intake.errors import ScanRejected
from scans.intake.ingest import read_stored
from scans.models import Scan, ShadowPrediction

log = logging.getLogger(__name__)


@dataclass
class Progress:
    version: str
    total: int  # scans pending when the run began (at most --limit)
    done: int = 0
    added: int = 0
    unreadable: int = 0


def pending(version: str, since: datetime | None = None, until: datetime | None = None) -> QuerySet[Scan]:
    """Scans uploaded in [since, until) with no shadow of `version`, whose result another version made."""
    done = ShadowPrediction.objects.filter(scan=OuterRef("pk"), model_version=version, kind=ShadowPrediction.RESCORE)
    scans = Scan.objects.filter(prediction__isnull=False).exclude(prediction__model_version=version)
    if since:
        scans = scans.filter(created__gte=since)
    if until:
        scans = scans.filter(created__lt=until)
    return scans.filter(~Exists(done)).order_by("pk")


def rescore(version: str | None = None, *, since: datetime | None = None, until: datetime | None = None,
            limit: int | None = None, chunk: int = MAX_BATCH,
            report: Callable[[Progress], None] | None = None) -> Progress:
    """Shadow predictions of `version` (the served one when None) for the pending scans, oldest first.
    KeyError where the version's files are not kept."""
    clf = get_classifier(version)
    todo = pending(clf.version, since, until)
    total = todo.count()
    progress = Progress(clf.version, min(total, limit) if limit is not None else total)
    last = 0
    with ThreadPoolExecutor(2) as pool:
        while progress.done < progress.total:
            size = min(chunk, progress.total - progress.done)
            scans = list(todo.filter(pk__gt=last).only("pk", "owner_id", "image")[:size])
            if not scans:
                break
            last = scans[-1].pk
            images = list(pool.map(_read, scans))
            readable = [(s, img) for s, img in zip(scans, images) if img is not None]
            results = clf.classify([img for _, img in readable]) if readable else []
            ids = [s.pk for s, _ in readable]
            before = _shadows_of(ids, clf.version)
            ShadowPrediction.objects.bulk_create([_shadow(s, r) for (s, _), r in zip(readable, results)],
                                                 ignore_conflicts=True)
            progress.added += _shadows_of(ids, clf.version) - before
            progress.done += len(scans)
            progress.unreadable += len(scans) - len(readable)
            if report:
                report(progress)
    return progress


def _read(scan: Scan):
    """The scan's decoded image, or None where its file is missing or no longer decodes (logged)."""
    try:
        with scan.image.open("rb") as fh:
            return read_stored(fh.read())
    except (OSError, ScanRejected):
        log.warning("rescore: the stored file of scan %s could not be read", scan.pk)
        return None


def _shadows_of(scan_ids: list[int], version: str) -> int:
    return ShadowPrediction.objects.filter(scan__in=scan_ids, model_version=version,
                                           kind=ShadowPrediction.RESCORE).count()


def _shadow(scan: Scan, result: ImageResult) -> ShadowPrediction:
    return ShadowPrediction(scan=scan, owner_id=scan.owner_id, kind=ShadowPrediction.RESCORE,
                            created=timezone.now(), **output_fields(result))
