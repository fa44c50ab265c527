"""`bench_serve profile` through the whole Django stack with the real model: every stage timed,
the SQL of one upload listed with each statement's time, and a cProfile written on request."""

import itertools
import pstats
import re

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection

from scans.models import Scan

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the statements it counts are PostgreSQL's")
def test_the_profile_times_every_stage_and_statement_and_writes_a_cprofile(tmp_path, capsys):
    out = tmp_path / "uploads.prof"
    call_command("bench_serve", "profile", profile_uploads=4, verbosity=2, cprofile=out)
    printed = capsys.readouterr().out
    for stage in ("whole request", "token authentication", "model: classify()", "out-of-scope guard",
                  "rows: transaction, INSERTs", "the rest"):
        assert stage in printed, stage
    #  The test's own transaction turns the upload's into a savepoint, which the count shows too.
    assert "(SELECT 2, INSERT 4, SAVEPOINT 1, RELEASE 1)" in printed  # the throttles, the scan, audit, prediction
    timed = list(itertools.takewhile(lambda line: re.match(r"^ {4} *\d+\.\d\d  [A-Z]", line),
                                     printed.split("each statement, ms per upload")[1].splitlines()[1:]))
    timed = [line for line in timed if "SAVEPOINT" not in line]
    assert len(timed) == 6 and all(float(line.split()[0]) > 0 for line in timed), timed
    assert any('INSERT INTO "scans_prediction"' in line for line in timed)
    assert "cProfile of the 4 uploads" in printed
    stats = pstats.Stats(str(out))
    assert any(name == "classify" for (_, _, name) in stats.stats), "the model's call is in the profile"
    #  The command removes the clinician it made and the scans it stored.
    assert not User.objects.filter(username__startswith="bench-serve-").exists() and not Scan.objects.exists()
