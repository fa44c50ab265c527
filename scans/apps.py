import time

from django.apps import AppConfig

#  Read by /health; the app registry imports this module as the process starts.
STARTED = time.monotonic()


class ScansConfig(AppConfig):
    name = "scans"
    verbose_name = "Scans"
