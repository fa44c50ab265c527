from django.core.management.base import BaseCommand, CommandError

from scans.classify import model_status


class Command(BaseCommand):
    help = "Load the classifier once and report its version (fails if the model cannot load)."

    def handle(self, **options):
        status = model_status()
        if not status["loaded"]:
            raise CommandError("The model could not be loaded; see the log above.")
        self.stdout.write(f"Model {status['version']} loaded.")
