"""The CSRF failure page in the app's look (Django's own is unstyled and speaks to developers)."""

from django.shortcuts import render


def csrf_failure(request, reason=""):
    return render(request, "403_csrf.html", {"reason": reason}, status=403)
