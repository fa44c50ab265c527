"""The lockout and the API throttle against a real gunicorn with two worker processes: counts are
shared (database), so two workers do not allow twice the guesses, and a forged X-Forwarded-For
changes nothing. The server runs on a loopback port against this test's own database."""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection

from tests.helpers import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
LIMIT = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("two processes need a database server (PostgreSQL)")
    db = connection.settings_dict
    port = _free_port()
    log = tmp_path / "access.log"
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "WARM_MODEL": "0", "LOGIN_FAILURE_LIMIT": str(LIMIT), "API_THROTTLE_USER": "6/hour",
           "DJANGO_SETTINGS_MODULE": "config.settings", "MEDIA_ROOT": str(tmp_path / "media")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--access-logfile", str(log), "--access-logformat", "%(p)s %(m)s %(U)s %(s)s"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=(tmp_path / "server.log").open("wb"))
    url = f"http://127.0.0.1:{port}"
    try:
        #  The port answers as soon as one worker has booted; the tests below need both, so wait until
        #  the access log shows two workers answering (a loaded machine boots the second one seconds later).
        deadline = time.monotonic() + 60
        while len(pids(log, "/accounts/login/", settle=0)) < 2:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("gunicorn did not bring up two workers:\n" + (tmp_path / "server.log").read_text()[-2000:])
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda _: _get(url + "/accounts/login/"), range(4)))
            time.sleep(0.2)
        yield url, log
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def post_token(url, username, password, forwarded=None):
    data = urllib.parse.urlencode({"username": username, "password": password}).encode()
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url + "/api/v1/auth/token", data, headers), timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _get(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status
    except OSError:  # not listening yet
        return None


def pids(log: Path, path: str, settle: float = 0.5) -> set[str]:
    time.sleep(settle)  # gunicorn writes the access line after the answer
    if not log.exists():
        return set()
    return {line.split()[0] for line in log.read_text().splitlines() if f" {path} " in line}


def test_guesses_spread_over_two_workers_lock_the_account_at_the_limit(owner, server):
    url, log = server
    with ThreadPoolExecutor(LIMIT) as pool:  # at once, so both workers take some
        codes = list(pool.map(lambda i: post_token(url, "owner", f"guess-{i}"), range(LIMIT)))
    #  The guess that reaches the limit is already answered with the lockout (two that arrive at the
    #  same instant may both be); never more than LIMIT - 1 are let through to a plain 401.
    assert set(codes) == {401, 429} and codes.count(401) <= LIMIT - 1, codes
    assert len(pids(log, "/api/v1/auth/token")) == 2, "both workers should have answered guesses"
    assert post_token(url, "owner", PASSWORD) == 429


def test_a_forged_x_forwarded_for_does_not_escape_the_address_lockout(owner, colleague, server):
    url, _ = server
    with ThreadPoolExecutor(LIMIT) as pool:
        codes = list(pool.map(lambda i: post_token(url, f"nobody{i}", "x", forwarded=f"203.0.113.{i}"), range(LIMIT)))
    assert set(codes) == {401, 429} and codes.count(401) <= LIMIT - 1, codes
    assert post_token(url, "colleague", PASSWORD, forwarded="198.51.100.77") == 429


def test_the_api_throttle_is_shared_by_the_workers_and_ignores_x_forwarded_for(db, server):
    url, log = server

    def call(i):
        request = urllib.request.Request(url + "/api/v1/health", headers={"X-Forwarded-For": f"203.0.113.{i}"})
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                return r.status
        except urllib.error.HTTPError as exc:
            return exc.code

    with ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(call, range(10)))
    #  Anonymous calls are counted per address (API_THROTTLE_USER=6/hour here, so a slow machine cannot outlast the window); 200 or 503 is the health itself.
    assert sum(code == 429 for code in codes) == 4, codes
    assert len(pids(log, "/api/v1/health")) == 2
    assert re.search(r" 429$", log.read_text(), re.MULTILINE)
