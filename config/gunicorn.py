"""gunicorn's settings for `make serve`: `gunicorn -c config/gunicorn.py config.wsgi`.

The app is loaded once in the master (preload_app; config/wsgi.py) and forked: a worker that starts,
or replaces one that died, only opens its model interpreter (about 0.1 s) before it serves. On 2 cores
two workers with a few threads each keep both cores busy: a forward pass and PNG decoding let go of
the GIL, the rest of a request does not. `manage.py bench_serve` measures both.
"""

import os

os.environ["NEUROLENS_PRELOAD"] = "1"  # read by config/wsgi.py in the master
#  One thread per forward pass (ml.infer.MODEL_THREADS): the workers' requests already run side by side,
#  and a spinning thread pool in each would take the cores from the others' requests (a longer p95).
os.environ.setdefault("NEUROLENS_MODEL_THREADS", "1")
os.environ.setdefault("NEUROLENS_MODEL_BATCH", "8")  # images per pass: less working memory, as fast on one thread
#  Batch items per chunk (settings.BATCH_CHUNK): the in-process batch thread and /api/predict/batch hold one
#  chunk's decoded images at once (up to 3 MB each): 16, not 64, keeps a worker under 150 MB through a
#  500-image batch. With a broker the web process sends tasks of this many items too.
os.environ.setdefault("BATCH_CHUNK", "16")

preload_app = True
#  gthread, except that a worker takes no more than its share of kept-alive connections (see there).
worker_class = "config.gunicorn_worker.BalancedThreadWorker"
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))


def post_fork(server, worker):
    """In each new worker, before it accepts a connection."""
    from config.wsgi import start_process  # loaded already, in the master: no import happens here

    start_process()
