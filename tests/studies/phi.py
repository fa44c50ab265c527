"""Where planted identifying values could end up: every table, every stored file, the logs."""

from __future__ import annotations

from pathlib import Path

from django.db import connection

from tests.studies.series import all_planted


def needles() -> dict[str, list[bytes]]:
    """Each planted value as text and as the hex PostgreSQL prints a bytea column in."""
    return {k: [v.lower().encode(), v.lower().encode().hex().encode()] for k, v in all_planted().items()}


def found_in(blob: bytes) -> list[str]:
    low = blob.lower()
    return [k for k, forms in needles().items() if any(f in low for f in forms)]


def database_leaks() -> dict[str, list[str]]:
    leaks = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if connection.vendor == "postgresql":
                cursor.execute(f'SELECT t::text FROM "{table}" t')
                text = "\n".join(row[0] for row in cursor.fetchall()).encode()
            else:  # SQLite (make test without DATABASE_URL): every column of every row, as text
                cursor.execute(f'SELECT * FROM "{table}"')
                text = "\n".join("|".join("" if v is None else str(v) for v in row)
                                  for row in cursor.fetchall()).encode()
            if hits := found_in(text):
                leaks[table] = hits
    return leaks


def media_leaks(root: Path) -> dict[str, list[str]]:
    return {str(p): hits for p in Path(root).rglob("*") if p.is_file() and (hits := found_in(p.read_bytes()))}
