"""What a locked-out sign-in sees: the login page (or the API's error shape) with a clear reason."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render


def lockout_message() -> str:
    minutes = settings.LOGIN_LOCKOUT_MINUTES
    return (f"Sign-in is blocked for {minutes} minutes after {settings.LOGIN_FAILURE_LIMIT} wrong passwords "
            "for this account or from this address. An administrator can unlock it sooner "
            "(Admin › Access attempts, or manage.py axes_reset_username).")


def lockout_response(request, original_response=None, credentials=None):
    message = lockout_message()
    if request.path.startswith("/api/"):
        response = JsonResponse({"error": {"code": "locked_out", "message": message, "field": None}}, status=429)
    else:
        context = {"lockout": message, "next": request.POST.get("next", ""),
                   "username": request.POST.get("username", "")}
        response = render(request, "registration/login.html", context, status=429)
    response["Retry-After"] = str(settings.LOGIN_LOCKOUT_MINUTES * 60)
    return response
