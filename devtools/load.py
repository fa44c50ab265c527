"""A small HTTP/1.1 load client on asyncio streams: N clients, each on its own kept-alive connection,
send prepared requests one after another until none are left. Nothing is built per request (the bodies
are ready beforehand), so on a machine shared with the server the client costs little of its CPU.

Used by `manage.py bench_serve load`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


@dataclass
class Outcome:
    seconds: float = 0.0  # wall time of the whole run
    latencies_ms: list[float] = field(default_factory=list)  # of the answered requests
    statuses: dict[int, int] = field(default_factory=dict)  # status -> how many
    failures: list[str] = field(default_factory=list)  # connection errors, timeouts

    def errors(self, ok: int) -> int:
        return len(self.failures) + sum(n for status, n in self.statuses.items() if status != ok)


def request_bytes(path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}",
             *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response: (status, whether the server keeps the connection)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:] if h)}
    await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers.get("connection", "").lower() != "close"


async def _client(port: int, requests: list[bytes], next_index, out: Outcome, timeout: float) -> None:
    reader = writer = None
    while (i := next_index()) is not None:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            t0 = time.perf_counter()
            writer.write(requests[i])
            status, keep = await asyncio.wait_for(_answer(reader), timeout)
            out.latencies_ms.append((time.perf_counter() - t0) * 1000)
            out.statuses[status] = out.statuses.get(status, 0) + 1
            if not keep:
                writer.close()
                writer = None
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            out.failures.append(type(exc).__name__)
            if writer is not None:
                writer.close()
            writer = None
    if writer is not None:
        writer.close()


def run(port: int, requests: list[bytes], clients: int, timeout: float = 60.0) -> Outcome:
    """Send every request once, `clients` at a time; the latencies are per request, send to last byte."""
    out = Outcome()
    position = iter(range(len(requests)))

    def next_index():
        return next(position, None)

    async def main():
        t0 = time.perf_counter()
        await asyncio.gather(*(_client(port, requests, next_index, out, timeout) for _ in range(clients)))
        out.seconds = time.perf_counter() - t0

    asyncio.run(main())
    return out


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
