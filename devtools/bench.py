"""Measuring the serving path end to end: real gunicorn on loopback, real Redis, real workers.

Used by `manage.py bench_batch`; every figure is wall-clock on this machine, whatever else runs.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from celery import Celery
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def multipart(field: str, files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, data in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


#  gunicorn as `make serve` runs it: the app preloaded in the master (config/gunicorn.py).
SERVE = ("-c", "config/gunicorn.py")


class Server:
    """gunicorn serving config.wsgi on a free loopback port, one worker process unless `args` say
    otherwise (SERVE: as `make serve` runs it)."""

    def __init__(self, env: dict, token: str, args: tuple = ("--workers", "1")):
        self.port, self.token = free_port(), token
        self.proc = subprocess.Popen(
            [str(BIN / "gunicorn"), *args, "config.wsgi", "--bind", f"127.0.0.1:{self.port}",
             "--timeout", "600"], cwd=ROOT, env=env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        deadline = time.monotonic() + 120
        while True:
            try:
                if self.request("GET", "/health")[0] == 200:
                    return
            except OSError:
                self.conn.close()
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("gunicorn did not come up")
            time.sleep(0.5)

    def request(self, method: str, path: str, body: bytes | None = None, ctype: str = "") -> tuple[int, dict]:
        headers = {"Authorization": f"Token {self.token}"}
        if ctype:
            headers["Content-Type"] = ctype
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        return response.status, (json.loads(data) if data[:1] in (b"{", b"[") else {})

    def upload(self, path: str, field: str, files: list[tuple[str, bytes]]) -> tuple[int, dict]:
        body, ctype = multipart(field, files)
        return self.request("POST", path, body, ctype)

    def peak_rss_mb(self) -> float:
        return max(peak_rss_mb(pid) for pid in children(self.proc.pid))

    def pids(self) -> list[int]:
        return [self.proc.pid, *children(self.proc.pid)]

    def stop(self) -> None:
        self.conn.close()
        stop(self.proc)


def start_worker(env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "worker", "--concurrency", "1",
                             "--without-gossip", "--without-mingle", "-l", "warning"],
                            cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for_worker(broker: str, timeout: float = 180.0) -> None:
    """Until a worker answers a ping (it warmed its model first: scans.batches.tasks)."""
    probe = Celery(broker=broker)
    deadline = time.monotonic() + timeout
    try:
        while not probe.control.ping(timeout=1.0):
            if time.monotonic() > deadline:
                raise RuntimeError("the worker did not come up")
    finally:
        probe.close()


def cpu_seconds(pids: list[int]) -> float:
    """User and system time these processes used so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def process_cpu(name: str) -> dict[int, float]:
    """CPU seconds so far of every process on this machine whose command name is ``name``."""
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    out[int(entry.name)] = cpu_seconds([int(entry.name)])
            except OSError:
                continue
    return out


def cpu_since(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two ``process_cpu`` readings (a process started in between counts whole)."""
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=60)


def children(pid: int) -> list[int]:
    try:
        found = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    return found + [g for c in found for g in children(c)]


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
