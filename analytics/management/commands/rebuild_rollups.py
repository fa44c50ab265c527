from django.core.management.base import BaseCommand

from analytics.rebuild import rebuild


class Command(BaseCommand):
    help = "Recomputes every analytics rollup table from the prediction and review rows."

    def handle(self, *args, **options):
        def progress(done: int, total: int, name: str, seconds: float) -> None:
            bar = "#" * (30 * done // total)
            self.stdout.write(f"\r[{bar:<30}] {done}/{total} steps, {name:<18} {seconds:6.1f} s", ending="")
            self.stdout.flush()

        rebuild(progress)
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Rollups rebuilt from the rows."))
