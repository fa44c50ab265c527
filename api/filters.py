"""The history page's filters, read from the query string; an invalid one is a 400 here."""

from decimal import Decimal, InvalidOperation

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from api.errors import ApiError
from ml.infer import CLASSES
from scans import selectors
from scans.forms import SORTS, HistoryFilterForm


def history_form(request) -> HistoryFilterForm:
    """The history filters of an API call, valid (or a 400 naming the field). Confidence is a fraction
    here, as in every answer (min_confidence=0.87); the page's form takes per cent."""
    #  The page sends empty fields for "any"; an API caller leaves them out, and an empty one is a mistake.
    blank = next((k for k, v in request.query_params.items() if v == "" and k not in ("q", "page")), None)
    if blank:
        raise ApiError(400, "blank", f"{blank} is empty; leave it out to mean any.", blank)
    form = HistoryFilterForm(as_percent(request.query_params))
    if not form.is_valid():
        field, messages = next(iter(form.errors.items()))
        raise ApiError(400, "invalid_filter", f"{field}: {' '.join(messages)}", field)
    return form


def as_percent(params):
    """The query parameters with min_confidence, a fraction in the API, as the per cent the forms take."""
    data = params.copy()
    if data.get("min_confidence"):
        data["min_confidence"] = str(_fraction_as_percent(data["min_confidence"]))
    return data


def _fraction_as_percent(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or not 0 <= value <= 1:
        raise ApiError(400, "invalid_filter", "min_confidence: a fraction from 0 to 1, as confidences are given "
                                              "(0.87 for 87 %).", "min_confidence")
    return value * 100


def filtered_scans(request):
    form = history_form(request)
    return form.filter(selectors.visible_scans(request.user))


def _param(name: str, type_, description: str, **kw) -> OpenApiParameter:
    return OpenApiParameter(name, type_, OpenApiParameter.QUERY, description=description, **kw)


FILTER_PARAMETERS = [
    _param("q", OpenApiTypes.STR, "Part of the file name or patient reference (at most 100 characters)."),
    _param("label", OpenApiTypes.STR, "Only scans standing at this class: the reviewer's once reviewed, else the "
           "model's (never an out-of-scope or not-assessable scan).", enum=list(CLASSES)),
    _param("date_from", OpenApiTypes.DATE, "Uploaded on or after this day (YYYY-MM-DD)."),
    _param("date_to", OpenApiTypes.DATE, "Uploaded on or before this day (YYYY-MM-DD)."),
    _param("min_confidence", OpenApiTypes.NUMBER,
           "The model's confidence at least this fraction (0 to 1, e.g. 0.87), as every confidence is given; "
           "out-of-scope scans, which have none, are left out."),
    _param("out_of_scope", OpenApiTypes.STR, "yes: out of scope only; no: in scope only.", enum=["yes", "no"]),
    _param("review", OpenApiTypes.STR, "Only scans with this review status.",
           enum=["unreviewed", "confirmed", "corrected", "not_assessable"]),
    _param("sort", OpenApiTypes.STR, "Order; a leading '-' reverses it. Default -created.", enum=list(SORTS)),
]
