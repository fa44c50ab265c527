from audit.trail import current_address


class AuditAddressMiddleware:
    """Remember the caller's address for the audit entries written while this request runs.

    REMOTE_ADDR only: behind a proxy, configure it to pass the client's address there (e.g. gunicorn's
    --forwarded-allow-ips), since a header the client sets itself proves nothing.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_address.set(request.META.get("REMOTE_ADDR") or None)
        try:
            return self.get_response(request)
        finally:
            current_address.reset(token)
