"""PostgreSQL: give the role the web app and workers connect as what they need, and no more.

The tables belong to the role that runs `migrate` (the owner). The app's role gets rows to read and
write, but on the audit trail only SELECT and INSERT: no UPDATE, DELETE or TRUNCATE, and, not being
the owner, it cannot ALTER the table to disable its append-only trigger or drop it. Run as the owner
after each `migrate` (the default privileges set here cover tables that later migrations add, but
not the revocation on the audit table, which this command makes again):

    DATABASE_URL=postgres://neurolens_owner@db/neurolens python manage.py migrate
    DATABASE_URL=postgres://neurolens_owner@db/neurolens python manage.py grant_app_role neurolens_app
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from psycopg import sql

from audit.models import AuditEvent

STATEMENTS = [
    "GRANT USAGE ON SCHEMA public TO {role}",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
    "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {role}",
    "REVOKE UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES ON {audit} FROM {role}",
]


class Command(BaseCommand):
    help = "Grant the app's database role its rows, and only SELECT and INSERT on the audit trail (PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument("role", help="the role the app connects as (not the owner of the tables)")

    def handle(self, *args, role: str, **options):
        if connection.vendor != "postgresql":
            raise CommandError("Database roles are a PostgreSQL feature; SQLite has none.")
        with connection.cursor() as cursor:
            cursor.execute("SELECT tableowner FROM pg_tables WHERE tablename = %s", [AuditEvent._meta.db_table])
            owner = cursor.fetchone()
            if owner and owner[0] == role:
                raise CommandError(f"{role} owns the tables: the app must connect as another role.")
            names = {"role": sql.Identifier(role), "audit": sql.Identifier(AuditEvent._meta.db_table)}
            for statement in STATEMENTS:
                cursor.execute(sql.SQL(statement).format(**names))
        self.stdout.write(f"{role}: rows on every table; on {AuditEvent._meta.db_table} only SELECT and INSERT.")
