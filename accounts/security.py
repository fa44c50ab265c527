"""Response headers every page gets: the Content-Security-Policy, and no-store on patient pixels."""

from csp.middleware import CSPMiddleware
from django.conf import settings

NO_STORE_TYPES = ("image/", "application/pdf", "application/dicom")


class PolicyMiddleware(CSPMiddleware):
    """django-csp with the Chart.js address read from settings.CHARTJS_URL on every response (so a
    hospital's own copy, or a test's, is allowed without restating the policy)."""

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only)
        if settings.CHARTJS_URL.startswith(("https://", "http://")):
            update = dict(parts.update or {})
            update["script-src"] = [*update.get("script-src", []), settings.CHARTJS_URL]
            parts.update = update
        return parts


class NoStoreMiddleware:
    """Scan images, heat maps and PDF reports are never kept in a browser's or proxy's cache, so they
    do not outlive a sign-out on a shared computer. (Static files never reach this middleware.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith(NO_STORE_TYPES):
            response["Cache-Control"] = "no-store, private"
            response.headers.pop("Expires", None)
        return response
