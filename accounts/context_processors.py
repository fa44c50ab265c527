from django.conf import settings
from django.contrib.auth import get_user_model

from accounts.sessions import remaining_seconds
from scans.permissions import ROLES, has_role


def account(request):
    """The session's time left (for the expiry warning), and for an account without a role, who can give one."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    ctx = {"session_remaining": remaining_seconds(request), "session_warning": settings.SESSION_WARNING_SECONDS}
    #  has_role reads the user's groups once per request, as the pages' own role checks do.
    if not user.is_staff and not any(has_role(user, role) for role in ROLES):
        admins = get_user_model().objects.filter(is_staff=True, is_active=True).order_by("username")
        ctx["roleless_admins"] = [a.get_full_name() or a.get_username() for a in admins[:3]]
        ctx["roleless"] = True
    return ctx
