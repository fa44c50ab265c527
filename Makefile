# `make run` and `make test` work on a fresh machine: the first call builds .venv, later calls
# reinstall only when a requirements file changes (the stamp name carries their hash).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
REQ_HASH := $(shell cat requirements.txt | sha256sum | cut -c1-16)
DEV_HASH := $(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)
RUN_STAMP := $(VENV)/.installed-run-$(REQ_HASH)
DEV_STAMP := $(VENV)/.installed-dev-$(DEV_HASH)

.PHONY: run test lint serve setup

$(PY):
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	rm -f $(VENV)/.installed-run-*
	touch $@

$(DEV_STAMP): | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	rm -f $(VENV)/.installed-dev-* $(VENV)/.installed-run-*
	touch $@ $(RUN_STAMP)

setup: $(RUN_STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v 0
	$(PY) manage.py ensure_admin

# Development server with the model loaded before it listens.
run: setup
	$(PY) manage.py warm_model
	$(PY) manage.py runserver $(HOST):$(PORT)

# Production-style server: gunicorn + whitenoise (set PRODUCTION=1, SECRET_KEY, ALLOWED_HOSTS).
serve: setup
	MALLOC_ARENA_MAX=$${MALLOC_ARENA_MAX:-2} $(VENV)/bin/gunicorn -c config/gunicorn.py config.wsgi --bind $(HOST):$(PORT)

# Batch workers: set CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0) here and for the web
# processes, and give both the same MEDIA_ROOT. Start as many as the machines allow.
.PHONY: worker bench-batch
worker: setup
	$(VENV)/bin/celery -A config worker -l info --concurrency $${WORKER_CONCURRENCY:-1}

# Single upload under gunicorn, a 500-image batch in-process and with one Redis worker, memory
# (devtools' bench_batch: installed with DEVTOOLS on, the default outside PRODUCTION).
bench-batch: setup
	$(PY) manage.py bench_batch

test: $(DEV_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# ruff, then the import contracts in .importlinter (layers, no loops; DEVELOPERS.md "Layers").
lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

# The model (ml/): training, export and the prototype comparison need TensorFlow, which only
# requirements-ml.txt brings; evaluation and prediction run on the committed LiteRT model.
ML_HASH := $(shell cat requirements.txt requirements-dev.txt requirements-ml.txt | sha256sum | cut -c1-16)
ML_STAMP := $(VENV)/.installed-ml-$(ML_HASH)
ML_MINUTES ?= 80
RUN ?= ml/runs/latest
VERSION ?= 2.0.0

$(ML_STAMP): | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-ml.txt
	rm -f $(VENV)/.installed-ml-*
	touch $@

.PHONY: split train resume export guard versions compare evaluate bench
split: $(ML_STAMP)  ## regroup near-duplicates and rewrite ml/splits/manifest.csv
	$(PY) -m ml.data
train: $(ML_STAMP)  ## train model 2 from scratch for ML_MINUTES of training time into RUN (checkpointed)
	$(PY) -m ml.train --arch v2 --steps 300 --max-minutes $(ML_MINUTES) --out $(RUN)
resume: $(ML_STAMP)  ## continue RUN from its last checkpoint
	$(PY) -m ml.train --resume $(RUN)
export: $(ML_STAMP)  ## convert, calibrate, fit the guard and write a model folder RUN/export as VERSION
	$(PY) -m ml.export --run $(RUN) --version $(VERSION)
guard: $(DEV_STAMP)  ## refit and validate the out-of-scope guard of the served model
	$(PY) -m ml.guard_fit
versions: $(DEV_STAMP)  ## every model version with a card
	$(PY) -m ml.versions list
compare: $(DEV_STAMP)  ## every kept version on the validation split, written into the cards (model page)
	$(PY) -m ml.compare --record
evaluate: $(DEV_STAMP)  ## the committed model on the validation split
	$(PY) -m ml.evaluate --manifest ml/splits/manifest.csv --split val
bench: $(ML_STAMP)  ## speed and memory beside the prototype's architecture and every kept version
	$(PY) -m ml.bench --compare $(wildcard ml/model/archive/*)
