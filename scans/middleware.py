import zoneinfo
from urllib.parse import unquote

from django.utils import timezone


class TimezoneMiddleware:
    """Show times in the browser's time zone, which static/js/neurolens.js puts in a cookie."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = unquote(request.COOKIES.get("tz", ""))
        try:
            timezone.activate(zoneinfo.ZoneInfo(name)) if name else timezone.deactivate()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        return self.get_response(request)
