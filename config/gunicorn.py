"""gunicorn's settings for `make serve`: `gunicorn -c config/gunicorn.py config.wsgi`.

The app is loaded once in the master (preload_app; config/wsgi.py) and forked: a worker that starts,
or replaces one that died, only opens its model interpreter (about 0.1 s) before it serves. On 2 cores
two workers with a few threads each keep both cores busy: a forward pass and PNG decoding let go of
the GIL, the rest of a request does not. `manage.py bench_serve` measures both.
"""

import os

os.environ["NEUROLENS_PRELOAD"] = "1"  # read by config/wsgi.py in the master

preload_app = True
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))


def post_fork(server, worker):
    """In each new worker, before it accepts a connection."""
    from config.wsgi import start_process  # loaded already, in the master: no import happens here

    start_process()
