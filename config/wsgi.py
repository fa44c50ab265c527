"""WSGI entry point (`gunicorn config.wsgi`). Loads the model before the first request."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

if settings.WARM_MODEL:
    from scans.services import warm_model

    warm_model()

#  Without a broker, batch items a previous process left pending are taken up in the background.
from scans.tasks import resume_in_process

resume_in_process()
