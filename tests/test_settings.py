import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("yes", True), ("ON", True), ("0", False),
                                               ("no", False), ("", False)])
def test_env_bool_reads_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("X_FLAG", raw)
    assert env_bool("X_FLAG") is expected


def test_env_bool_refuses_what_it_does_not_understand(monkeypatch):
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG must be true or false"):
        env_bool("X_FLAG")


def test_env_int_refuses_words_and_values_below_the_minimum(monkeypatch):
    monkeypatch.setenv("X_NUM", "twenty")
    with pytest.raises(ImproperlyConfigured, match="whole number"):
        env_int("X_NUM", 1)
    monkeypatch.setenv("X_NUM", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("X_NUM", 5, minimum=1)
    monkeypatch.delenv("X_NUM")
    assert env_int("X_NUM", 5) == 5


def test_env_list_splits_on_commas(monkeypatch):
    monkeypatch.setenv("X_LIST", " a.example , b.example,")
    assert env_list("X_LIST", []) == ["a.example", "b.example"]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "PRODUCTION")}
    return subprocess.run([sys.executable, "manage.py", *args], check=False, cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True)


def test_production_mode_passes_the_deployment_check():
    result = manage("check", "--deploy", "--fail-level", "WARNING", PRODUCTION="1", SECRET_KEY="k" * 20 + "x9Q-" * 10,
                    ALLOWED_HOSTS="neurolens.example.org", PATIENT_KEY_SECRET="p" * 20 + "z7W-" * 5)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_mode_refuses_to_start_without_a_secret_key():
    result = manage("check", PRODUCTION="1", ALLOWED_HOSTS="neurolens.example.org")
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def test_a_bad_upload_limit_stops_the_process():
    result = manage("check", MAX_UPLOAD_MB="big")
    assert result.returncode != 0 and "MAX_UPLOAD_MB must be a whole number" in result.stderr
