"""WSGI entry point (`gunicorn config.wsgi`). Loads the model before the first request."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

#  Imported once the app registry is ready (get_wsgi_application above set it up).
from scans.batches.tasks import resume_in_process
from scans.classify import warm_model

if settings.WARM_MODEL:
    warm_model()

#  Without a broker, batch items a previous process left pending are taken up in the background.
resume_in_process()
