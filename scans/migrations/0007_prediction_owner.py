"""Prediction.owner: the scan's owner copied onto its prediction, for the analytics (group and
filter by user without joining every prediction to its scan). Added nullable, filled from the
scans in one UPDATE, then made required."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_owners(apps, schema_editor):
    Prediction = apps.get_model("scans", "Prediction")
    Scan = apps.get_model("scans", "Scan")
    Prediction.objects.filter(owner__isnull=True).update(
        owner=Subquery(Scan.objects.filter(pk=OuterRef("scan_id")).values("owner_id")[:1]))


class Migration(migrations.Migration):

    dependencies = [
        ("scans", "0006_batches"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="prediction",
            name="owner",
            field=models.ForeignKey(db_index=False, editable=False, null=True,
                                    on_delete=django.db.models.deletion.PROTECT, related_name="predictions",
                                    to=settings.AUTH_USER_MODEL),
        ),
        migrations.RunPython(fill_owners, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="prediction",
            name="owner",
            field=models.ForeignKey(db_index=False, editable=False, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="predictions", to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddIndex(
            model_name="prediction",
            index=models.Index(fields=["owner", "created"], name="prediction_owner_created"),
        ),
    ]
