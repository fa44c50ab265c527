import sys
import time
from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from audit.models import AuditEvent
from audit.trail import record
from ml.infer import MAX_BATCH
from ml.versions import versions
from scans.rescore import Progress, rescore


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date; write it as YYYY-MM-DD") from None


class Command(BaseCommand):
    help = ("Run the served model (or --version, any kept version) over stored scans as shadow predictions. "
            "A scan's result (its prediction, reviews and analytics) never changes; each scan gets at most one "
            "shadow per version, so running it again adds only what is missing.")

    def create_parser(self, prog_name, subcommand, **kwargs):
        #  --version names the model version here, not Django's (which `manage.py version` still prints).
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("--version", help=f"a kept model version (default: the served one); known: "
                                              f"{', '.join(versions())}")
        parser.add_argument("--since", type=_day, metavar="YYYY-MM-DD", help="scans uploaded on or after this day")
        parser.add_argument("--until", type=_day, metavar="YYYY-MM-DD", help="scans uploaded on or before this day")
        parser.add_argument("--limit", type=int, metavar="N", help="at most N scans this run (oldest first)")
        parser.add_argument("--chunk", type=int, default=MAX_BATCH, metavar="N",
                            help=f"scans read and scored together (default {MAX_BATCH}); memory grows with it")

    def handle(self, *args, version, since, until, limit, chunk, **options):
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1")
        if not 1 <= chunk <= 256:
            raise CommandError("--chunk must be between 1 and 256")
        if since and until and since > until:
            raise CommandError("--since is after --until: no scan could match")
        zone = timezone.get_current_timezone()
        start = timezone.make_aware(timezone.datetime.combine(since, timezone.datetime.min.time()), zone) if since else None
        end = (timezone.make_aware(timezone.datetime.combine(until + timedelta(days=1), timezone.datetime.min.time()),
                                   zone) if until else None)
        began = time.monotonic()
        tty = sys.stdout.isatty()
        shown = [began]

        def report(p: Progress) -> None:
            #  One line rewritten in place on a terminal; into a log, a line every 10 s and the last.
            now = time.monotonic()
            if not tty and p.done < p.total and now - shown[0] < 10:
                return
            shown[0] = now
            line = (f"{p.version}: {p.done}/{p.total} scans, {p.added} shadow predictions added, "
                    f"{p.unreadable} unreadable, {p.done / max(now - began, 1e-6):.0f} scans/s")
            self.stdout.write(line, ending="\r" if tty and p.done < p.total else "\n")

        try:
            p = rescore(version, since=start, until=end, limit=limit, chunk=chunk, report=report)
        except KeyError as exc:
            raise CommandError(f"{exc.args[0]}; versions with a card: {', '.join(versions())}") from None
        if not p.total:
            self.stdout.write(f"{p.version}: nothing to do (every matching scan has its shadow, or was scored by "
                              f"this version)")
        #  The run read stored patient images: the trail says so, with what it added (no user: a command).
        record(None, AuditEvent.CHANGED, object_type="rescore", object_id=p.version,
               detail=f"shadow predictions by {p.version}: {p.added} added over {p.done} scans, {p.unreadable} unreadable")
        self.stdout.write(self.style.SUCCESS(f"{p.version}: {p.added} shadow predictions added over {p.done} scans "
                                             f"in {time.monotonic() - began:.1f} s; {p.unreadable} unreadable"))
