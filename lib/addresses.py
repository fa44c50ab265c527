"""The client's address, for sign-in lockouts, API throttles and the audit trail.

REMOTE_ADDR, unless TRUSTED_PROXIES says how many proxies of ours stand in front of the app: each
appends the address it received the request from to X-Forwarded-For, so the client's address is
the TRUSTED_PROXIES-th entry from the right. Anything further left was written by the client
itself and proves nothing.
"""

from django.conf import settings


def client_ip(request) -> str:
    remote = request.META.get("REMOTE_ADDR") or ""
    proxies = settings.TRUSTED_PROXIES
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    return forwarded[-proxies] if len(forwarded) >= proxies else remote
