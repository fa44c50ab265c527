from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from audit.forms import AuditFilterForm
from audit.models import AuditEvent


@require_GET
def trail(request: HttpRequest) -> HttpResponse:
    if not request.user.is_staff:
        raise PermissionDenied("The audit trail is for administrators.")
    form = AuditFilterForm(request.GET or None)
    page = Paginator(form.filter(AuditEvent.objects.all()), settings.HISTORY_PAGE_SIZE * 2).get_page(
        request.GET.get("page"))
    #  A filter that is not valid (an address that is not one) says so, beside the field, with a 400.
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(request, "audit/trail.html", {"form": form, "page": page}, status=status)
