"""The rollup tables of analytics.cubes as Django models (read through the ORM; written only by the
database's triggers and by rebuild_rollups)."""

from django.db import models

from analytics.cubes import CUBES

FIELDS = {
    "owner_id": lambda: models.IntegerField(),  # a plain number, not a key: the rows it sums may go
    "model_version": lambda: models.CharField(max_length=64),
    "label": lambda: models.CharField(max_length=16),
    "out_of_scope": lambda: models.BooleanField(),
    "review": lambda: models.CharField(max_length=16),
    "reviewed_label": lambda: models.CharField(max_length=16),
    "conf_pct": lambda: models.SmallIntegerField(),
    "conf_dec": lambda: models.SmallIntegerField(),
    "ms_bin": lambda: models.SmallIntegerField(),
}


def _model(cube):
    attrs = {"__module__": __name__, "bucket": models.DateTimeField(), "n": models.BigIntegerField()}
    attrs.update({d: FIELDS[d]() for d in cube.dims})
    if not cube.timing:
        attrs["conf_micro"] = models.BigIntegerField()  # confidence summed, in millionths: exact sums
    #  The key leads with the owner (a clinician's rows lie together); everyone's figures over a date
    #  range read by bucket instead: without this index they read the whole table. The owner after the
    #  bucket keeps the planner on the key for one owner's figures (with the bucket alone it took this
    #  index for the busiest clinician too and read everyone's month: 22 ms against 2 ms).
    indexes = [models.Index(fields=["bucket", "owner_id"], name=f"{cube.name}_by_bucket")] if "owner_id" in cube.dims else []
    attrs["Meta"] = type("Meta", (), {"db_table": cube.table, "indexes": indexes, "constraints": [
        models.UniqueConstraint(fields=list(cube.key), name=f"{cube.table}_key")]})
    name = "".join(part.capitalize() for part in cube.name.split("_")) + "Rollup"
    return type(name, (models.Model,), attrs)


ROLLUPS = {cube.name: _model(cube) for cube in CUBES}
globals().update({m.__name__: m for m in ROLLUPS.values()})
