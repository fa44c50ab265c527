import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ml.infer import get_classifier

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_it_reports_database_model_and_uptime_without_a_login(client):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] is True
    assert body["model"] == {"loaded": True, "version": get_classifier().version}
    assert body["uptime_s"] >= 0


def test_it_answers_503_when_the_database_is_unreachable(tmp_path):
    """A separate process whose database cannot be opened: the real failure, not a stand-in."""
    script = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/health'); print(json.dumps({'code': r.status_code, 'body': r.json()}))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "ALLOWED_HOSTS": "testserver",
           "DATABASE_URL": f"sqlite:///{tmp_path}/missing-dir/db.sqlite3"}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["code"] == 503
    assert result["body"]["status"] == "error" and result["body"]["database"] is False
    assert result["body"]["model"]["loaded"] is True
