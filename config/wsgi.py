"""WSGI entry point (`gunicorn config.wsgi`). Loads the model before the first request.

Under `make serve` (config/gunicorn.py: --preload) this module is imported once, in gunicorn's master:
the app, every URL module and the model's files are loaded there and shared by the forked workers;
each worker then only opens its own interpreter and resumes batches (start_process, from post_fork).
Imported any other way (plain `gunicorn config.wsgi`, mod_wsgi), each process does both at import.
"""

import gc
import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

#  Imported once the app registry is ready (get_wsgi_application above set it up).
from django.db import connections
from django.urls import get_resolver

from scans.batches.tasks import resume_in_process
from scans.classify import warm_model

#  Set by config/gunicorn.py before it loads this module in the master.
PRELOADED = os.environ.get("NEUROLENS_PRELOAD") == "1"


def start_process() -> None:
    """What a serving process does before its first request: the model ready (in a forked worker,
    an interpreter of its own: ml.infer), and batch items a previous process left pending taken up
    in the background when there is no broker."""
    if settings.WARM_MODEL:
        warm_model()
    resume_in_process()


if PRELOADED:
    #  Every URL module (and so every view) imported here, once, rather than by each worker's first request.
    get_resolver().reverse_dict  # noqa: B018 - populated: every pattern and view module loaded
    if settings.WARM_MODEL:
        warm_model()  # its files read once, here; a model that cannot load is reported at start
    connections.close_all()  # no connection is shared with the forked workers
else:
    start_process()

#  Everything loaded so far lives as long as the process: frozen, the cycle collector no longer walks it
#  (a full collection took 40-50 ms in a worker, paid by whichever request triggered it, and showed as
#  the p95 of every page), and forked workers stop writing to the master's pages by touching it.
gc.collect()
gc.freeze()
