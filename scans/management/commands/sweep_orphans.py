from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from scans.sweep import sweep_orphans


class Command(BaseCommand):
    help = ("Remove stored files that no scan, prediction or batch item points at (left by a process "
            "killed mid-upload), once they are older than --older-than minutes.")

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=int, default=60, metavar="MINUTES",
                            help="leave younger files alone: they may belong to an upload in flight (default 60)")
        parser.add_argument("--dry-run", action="store_true", help="list what would go, delete nothing")

    def handle(self, *args, older_than, dry_run, **options):
        if older_than < 1:
            raise CommandError("--older-than must be at least 1 minute, or uploads in flight could lose their files")
        report = sweep_orphans(timedelta(minutes=older_than), dry_run=dry_run)
        for name in report.removed:
            self.stdout.write(f"{'would remove' if dry_run else 'removed'} {name}")
        self.stdout.write(f"{report.examined} files examined, {len(report.removed)} orphaned "
                          f"{'(dry run: kept)' if dry_run else 'removed'}, {report.kept_recent} unreferenced "
                          f"but younger than {older_than} min kept")
