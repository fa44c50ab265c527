"""HTMX: which template answers a request."""

from django.http import HttpRequest


def partial(request: HttpRequest, template: str, name: str) -> str:
    """The named fragment for an HTMX swap, the whole page otherwise (or on a history restore)."""
    if request.htmx and not request.htmx.history_restore_request:
        return f"{template}#{name}"
    return template
