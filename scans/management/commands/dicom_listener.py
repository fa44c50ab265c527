import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from scans.classify import warm_model
from scans.studies.listener import Listener
from scans.studies.tasks import resume_series


class Command(BaseCommand):
    help = ("Run the DICOM C-STORE receiver (DICOM_AE_TITLE on DICOM_HOST:DICOM_PORT) until stopped. "
            "Series are classified on the batch task path: by `make worker` when CELERY_BROKER_URL is set, "
            "in this process otherwise.")

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, help="Overrides DICOM_PORT.")
        parser.add_argument("--host", help="Overrides DICOM_HOST.")

    def handle(self, **options):
        if settings.WARM_MODEL:
            warm_model()  # without a broker the series are classified here
        stop = threading.Event()

        def stored(series):
            self.stdout.write(f"series {series.pk} of study {series.study_id}: "
                              f"{series.slices.count()} slices stored, classifying", ending="\n")
            self.stdout.flush()

        listener = Listener(host=options.get("host"), port=options.get("port"), on_stored=stored)
        listener.start()
        left = resume_series()
        if left:
            self.stdout.write(f"{left} series a previous run left unfinished queued again.")
        host, port = listener.address
        allowed = ", ".join(listener.allowed) or "any calling AE title"
        self.stdout.write(f"{listener.ae_title} listening on {host}:{port} ({allowed}); "
                          f"a series completes at association release or after {listener.idle_s} s idle.")
        self.stdout.flush()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
        listener.stop()
        self.stdout.write(f"stopped: {listener.received} instances received, {listener.refused} refused.")
