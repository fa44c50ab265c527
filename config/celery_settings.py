"""Celery's configuration, read from Django's settings (and so from the environment)."""

from django.conf import settings

broker_url = settings.CELERY_BROKER_URL or "memory://localhost/"
task_always_eager = not settings.CELERY_BROKER_URL
task_eager_propagates = True
task_acks_late = True
task_reject_on_worker_lost = True
task_ignore_result = True
worker_prefetch_multiplier = 1
broker_connection_retry_on_startup = True
broker_transport_options = {"visibility_timeout": settings.CELERY_VISIBILITY_TIMEOUT}
task_default_queue = "neurolens"
worker_hijack_root_logger = False
