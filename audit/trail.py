"""record() and record_many(): the one way entries are written."""

from __future__ import annotations

import contextvars
import logging

from audit.models import AuditEvent
from lib.rows import insert

log = logging.getLogger(__name__)

#  Set per request by AuditAddressMiddleware; None in tasks and commands.
current_address: contextvars.ContextVar[str | None] = contextvars.ContextVar("audit_address", default=None)


def _entry(user, action: str, obj=None, detail: str = "", object_type: str = "", object_id="") -> AuditEvent:
    if obj is not None:
        object_type, object_id = object_type or type(obj).__name__.lower(), obj.pk
    authenticated = user is not None and user.is_authenticated
    return AuditEvent(
        user=user if authenticated else None,
        username=user.get_username() if authenticated else "",
        action=action,
        object_type=object_type[:32],
        object_id=str(object_id)[:64],
        detail=detail.strip()[:255],
        ip_address=current_address.get(),
    )


def record(user, action: str, obj=None, detail: str = "", *, object_type: str = "", object_id="") -> AuditEvent:
    """Add an entry. `obj` is a model instance (its class name and pk are kept), or name the object
    with object_type/object_id (a patient reference, an export)."""
    entry = _entry(user, action, obj, detail, object_type, object_id)
    entry.save()
    return entry


def record_many(user, action: str, objs_and_details: list[tuple[object, str]], *,
                later: list | None = None) -> list[AuditEvent]:
    """record() for many objects at once (a batch's scans): one INSERT (`later`: see lib.rows.insert)."""
    return insert([_entry(user, action, obj, detail) for obj, detail in objs_and_details], later=later)
