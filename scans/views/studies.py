"""The study pages: the list, a study with its series, a series' slice viewer, windowed slices."""

from __future__ import annotations

import io

import numpy as np
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from PIL import Image

from audit.models import AuditEvent
from audit.trail import record
from scans import selectors
from scans.studies import access
from scans.studies.result import RULE, SINGLE_SLICE

MAX_WIDTH = 65535.0


@require_GET
def study_list(request: HttpRequest) -> HttpResponse:
    studies = selectors.visible_studies(request.user).annotate(series_count=Count("series")).order_by("-created", "-id")
    page = Paginator(studies, 25).get_page(request.GET.get("page"))
    return render(request, "scans/studies/list.html", {"page": page})


@require_GET
def study_detail(request: HttpRequest, pk: int) -> HttpResponse:
    study = selectors.get_study_for_user(request.user, pk)
    record(request.user, AuditEvent.VIEWED, study)
    series = study.series.annotate(slice_count=Count("slices"))
    return render(request, "scans/studies/study.html", {
        "study": study, "series_list": series, "rule": RULE, "single_slice": SINGLE_SLICE,
        "clinicians": access.clinicians() if request.user.is_staff else None})


@require_POST
def hand_over(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.is_staff:
        raise PermissionDenied("Only administrators hand studies over.")
    study = selectors.get_study_for_user(request.user, pk)
    clinician = access.clinicians().filter(pk=request.POST.get("clinician") or 0).first()
    if clinician is None:
        messages.error(request, "Choose a clinician to hand the study to.")
    else:
        access.hand_over(request.user, study, clinician)
        messages.success(request, f"The study now belongs to {clinician.get_username()}.")
    return redirect("studies:study", pk=pk)


@require_GET
def series_detail(request: HttpRequest, pk: int) -> HttpResponse:
    series = selectors.get_series_for_user(request.user, pk)
    record(request.user, AuditEvent.VIEWED, series)
    slices = list(series.slices.select_related("scan__prediction"))
    rows = []
    for n, s in enumerate(slices, start=1):
        p = getattr(s.scan, "prediction", None) if s.scan else None
        #  An out-of-scope slice has no class: its reason is its result (the model's class is not shown).
        label = ("not classified yet" if p is None else
                 f"out of scope: {p.out_of_scope_reason or 'not a brain MRI slice the model can read'}"
                 if p.out_of_scope else p.get_label_display())
        rows.append({"id": s.pk, "n": n, "c": s.window_center, "w": s.window_width, "scan": s.scan_id,
                     "label": label, "confidence": round(p.confidence, 3) if p and p.shows_class else None,
                     "out_of_scope": bool(p and p.out_of_scope), "key": s.pk in series.result.get("key_slices", [])})
    return render(request, "scans/studies/series.html", {
        "series": series, "study": series.study, "rows": rows, "result": series.result,
        "rule": RULE, "single_slice": SINGLE_SLICE, "key_rows": [r for r in rows if r["key"]]})


@require_GET
def slice_image(request: HttpRequest, pk: int) -> HttpResponse:
    """The slice's stored 16-bit values, windowed here (?c=center&w=width) into an 8-bit PNG."""
    s = selectors.get_slice_for_user(request.user, pk)
    try:
        center = float(request.GET.get("c", s.window_center))
        width = min(max(float(request.GET.get("w", s.window_width)), 1.0), MAX_WIDTH)
    except ValueError:
        return HttpResponse("c and w are numbers: the window's centre and width.", status=400,
                            content_type="text/plain")
    with s.pixels.open("rb") as fh:
        values = np.asarray(Image.open(fh), np.float32) + s.offset
    grey = np.clip((values - (center - width / 2)) * (255.0 / width), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(grey, "L").save(buf, "PNG", compress_level=1)
    response = HttpResponse(buf.getvalue(), content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response
