from audit.trail import current_address
from lib.addresses import client_ip


class AuditAddressMiddleware:
    """Remember the caller's address for the audit entries written while this request runs.

    The same address the sign-in lockout and the API throttles count by (lib.addresses): REMOTE_ADDR,
    or with TRUSTED_PROXIES set, the address our own proxies saw, never one the client wrote itself.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_address.set(client_ip(request) or None)
        try:
            return self.get_response(request)
        finally:
            current_address.reset(token)
