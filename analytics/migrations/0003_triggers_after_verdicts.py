"""The rollup triggers installed again after scans 0009 (review verdicts, patients): on SQLite, a
table that a migration rebuilds loses its triggers, and a rebuild of the rollups makes them exact
again. The not-assessable verdict needs no new SQL: a review's status is stored as its own text
(analytics.cubes), and its empty label is a reviewed label of its own."""

from importlib import import_module

from django.db import migrations

#  The same install as 0002 (triggers replaced, then every rollup rebuilt from the rows).
install = import_module("analytics.migrations.0002_rollup_triggers").install


class Migration(migrations.Migration):
    dependencies = [("analytics", "0002_rollup_triggers"), ("scans", "0010_patients_from_references")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
