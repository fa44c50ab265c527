"""Speed and memory of manage.py rescore over stored scans (scans.rescore).

Runs the re-scoring in this process over up to --scans pending scans (seed_demo makes many: every
demo scan points at one small stored picture), sampling this process's resident memory after each
chunk, then deletes the shadow predictions it added (unless --keep), so it can run again. Memory
is bounded when the growth from the first chunk to the last stays flat as --scans grows.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ml.infer import MAX_BATCH
from scans.models import ShadowPrediction
from scans.rescore import Progress, rescore


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Command(BaseCommand):
    help = "Time manage.py rescore over stored scans and follow its memory chunk by chunk."

    def create_parser(self, prog_name, subcommand, **kwargs):
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("--version", default="neurolens-cnn-1.1.0", help="the model version to re-score with")
        parser.add_argument("--scans", type=int, default=2000, help="at most this many pending scans")
        parser.add_argument("--chunk", type=int, default=MAX_BATCH)
        parser.add_argument("--keep", action="store_true", help="keep the shadow predictions it adds")

    def handle(self, *args, version, scans, chunk, keep, **options):
        samples: list[float] = []
        started = time.monotonic()

        def sample(p: Progress) -> None:
            samples.append(_rss_mb())

        before = ShadowPrediction.objects.filter(model_version=version).values_list("pk", flat=True).order_by("-pk")
        last_before = before.first() or 0
        try:
            p = rescore(version, limit=scans, chunk=chunk, report=sample)
        except KeyError as exc:
            raise CommandError(str(exc.args[0])) from None
        seconds = time.monotonic() - started
        if not p.done:
            raise CommandError(f"no pending scans for {version}: seed some (manage.py seed_demo --scans 5000)")
        self.stdout.write(f"{p.done} scans re-scored by {p.version} in {seconds:.1f} s: {p.done / seconds:.0f} scans/s "
                          f"(chunks of {chunk}); {p.added} shadows added, {p.unreadable} unreadable")
        self.stdout.write(f"resident memory: {samples[0]:.0f} MB after the first chunk, {max(samples):.0f} MB peak, "
                          f"{samples[-1]:.0f} MB after the last ({samples[-1] - samples[0]:+.0f} MB over "
                          f"{len(samples)} chunks)")
        self.stdout.write(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (above the core count, "
                          f"other work shared them)")
        if not keep:
            gone, _ = ShadowPrediction.objects.filter(model_version=version, pk__gt=last_before).delete()
            self.stdout.write(f"removed the {gone} shadow predictions this run added")
