"""The task app. With no CELERY_BROKER_URL every task runs in-process, where it is sent (the
embedded default: nothing else to start); with one, `make worker` runs them.

Delivery is at least once: a task is acknowledged after it ran, and one whose worker died is
handed out again (Redis: after CELERY_VISIBILITY_TIMEOUT seconds), so tasks must be idempotent.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("neurolens")
app.config_from_object("config.celery_settings")
app.autodiscover_tasks(["scans.batches", "scans.studies"])  # scans/batches/tasks.py, scans/studies/tasks.py
