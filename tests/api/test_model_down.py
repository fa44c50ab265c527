"""With no model to load, the API says 503 in the one error shape and stores nothing.

A separate process whose model folder is missing: the real failure, nothing replaced.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import django, json; django.setup()
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.test import Client
call_command("migrate", verbosity=0)
from api.tokens import create_token
from scans.models import Scan
from tests.helpers import make_user, png
_, key = create_token(make_user("owner", "clinician"), "t")
c = Client(headers={"Authorization": "Token " + key})
answers = {
    "model": c.get("/api/v1/model"),
    "upload": c.post("/api/v1/scans", {"image": ContentFile(png(), name="a.png")}),
    "predict": c.post("/api/predict", {"image": ContentFile(png(seed=1), name="b.png")}),
    "health": c.get("/api/v1/health"),
}
print(json.dumps({"scans": Scan.objects.count(),
                  **{k: [r.status_code, r.json()] for k, r in answers.items()}}))
"""


def test_a_missing_model_gives_503_and_stores_nothing(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "ALLOWED_HOSTS": "testserver",
           "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3", "MEDIA_ROOT": str(tmp_path / "media"),
           "NEUROLENS_MODEL_DIR": str(tmp_path / "no-model")}
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True, timeout=120)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["model"] == [503, {"error": {"code": "model_unavailable", "field": None,
                                               "message": "The model is not available."}}]
    for key in ("upload", "predict"):
        status, body = result[key]
        assert status == 503 and body["error"]["code"] == "inference_failed", result[key]
    assert result["health"][0] == 503 and result["health"][1]["model"]["loaded"] is False
    assert result["scans"] == 0
    assert not any(p.is_file() for p in (tmp_path / "media").rglob("*"))
