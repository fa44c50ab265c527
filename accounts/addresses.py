"""Who a sign-in attempt is about, for django-axes: the client's address (lib.addresses, shared
with the API throttles and the audit trail) and the account name as typed."""

from lib.addresses import client_ip

__all__ = ["client_ip", "login_username"]


def login_username(request, credentials) -> str:
    """Guesses at 'Owner' and 'owner ' count against the same account."""
    source = credentials if credentials is not None else getattr(request, "POST", {})
    return str((source or {}).get("username", "")).strip().lower()
