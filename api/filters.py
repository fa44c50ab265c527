"""The history page's filters, read from the query string; an invalid one is a 400 here."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from api.errors import ApiError
from ml.infer import CLASSES
from scans import selectors
from scans.forms import SORTS, HistoryFilterForm


def filtered_scans(request):
    #  The page sends empty fields for "any"; an API caller leaves them out, and an empty one is a mistake.
    blank = next((k for k, v in request.query_params.items() if v == "" and k not in ("q", "page")), None)
    if blank:
        raise ApiError(400, "blank", f"{blank} is empty; leave it out to mean any.", blank)
    form = HistoryFilterForm(request.query_params)
    if not form.is_valid():
        field, messages = next(iter(form.errors.items()))
        raise ApiError(400, "invalid_filter", f"{field}: {' '.join(messages)}", field)
    return form.filter(selectors.visible_scans(request.user))


def _param(name: str, type_, description: str, **kw) -> OpenApiParameter:
    return OpenApiParameter(name, type_, OpenApiParameter.QUERY, description=description, **kw)


FILTER_PARAMETERS = [
    _param("q", OpenApiTypes.STR, "Part of the file name or patient reference (at most 100 characters)."),
    _param("label", OpenApiTypes.STR, "Only this predicted class.", enum=list(CLASSES)),
    _param("date_from", OpenApiTypes.DATE, "Uploaded on or after this day (YYYY-MM-DD)."),
    _param("date_to", OpenApiTypes.DATE, "Uploaded on or before this day (YYYY-MM-DD)."),
    _param("min_confidence", OpenApiTypes.INT, "Confidence at least this many per cent (0-100)."),
    _param("out_of_scope", OpenApiTypes.STR, "yes: out of scope only; no: in scope only.", enum=["yes", "no"]),
    _param("review", OpenApiTypes.STR, "Only scans with this review status.",
           enum=["unreviewed", "confirmed", "corrected"]),
    _param("sort", OpenApiTypes.STR, "Order; a leading '-' reverses it. Default -created.", enum=list(SORTS)),
]
