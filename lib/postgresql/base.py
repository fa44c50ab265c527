"""Django's PostgreSQL backend with a health check that costs no round trip on a quiet connection.

With CONN_HEALTH_CHECKS Django asks PostgreSQL `SELECT 1` at the first query of every request, to
find connections the server has closed (a restart, an administrator's pg_terminate_backend, an idle
timeout): 0.08 ms of the web process's CPU and a round trip per API call. A server that closes a
connection says so on its socket (an error message, then end of file), so a connection whose socket
has nothing to read is as usable as `SELECT 1` would find it, and only one with something waiting
is asked. A peer that vanished without a word (no FIN) fools both checks alike: the query then
waits for TCP to give up, as it would have.

ENGINE "lib.postgresql" (config/settings.py sets it for postgres:// addresses); `connection.vendor`
stays "postgresql".
"""

from __future__ import annotations

import select

from django.db.backends.postgresql.base import DatabaseWrapper as PostgreSQLDatabaseWrapper


class DatabaseWrapper(PostgreSQLDatabaseWrapper):
    def is_usable(self) -> bool:
        if self.connection is None or self.connection.closed:
            return False
        try:
            poller = select.poll()
            poller.register(self.connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
            quiet = not poller.poll(0)
        except (OSError, ValueError):
            quiet = False
        return quiet or super().is_usable()
