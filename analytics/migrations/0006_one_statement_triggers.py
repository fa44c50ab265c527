"""The PostgreSQL rollup triggers replaced by ones that run a single statement each
(analytics.cubes.combined_upsert): the same counts, about a third less database time per upload.
Nothing is rebuilt (the rollups' contents do not change); SQLite keeps its row triggers."""

from django.db import migrations

from analytics import cubes


def install(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    tables = set(connection.introspection.table_names())
    for sql in cubes.install(connection.vendor, [c for c in cubes.CUBES if c.table in tables]):
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("analytics", "0005_bucket_index_on_owner_rollups")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
