"""The number of SQL queries per page is fixed: it does not grow with the rows, and every filter
(a date range whose ends fall inside UTC days, a minimum confidence, a review status, a viewer
outside UTC) is still one query per figure (a day rollup and the hours at its edges are one UNION)."""

import pytest
from django.db import connection
from django.urls import reverse

from tests.analytics.conftest import add_prediction
from tests.helpers import client_for

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(connection.vendor != "postgresql", reason="counts pinned for PostgreSQL")]
#  session, user, roles; then the dashboard's figures: summary (class x scope x confidence bin),
#  inference times, timeline, usage per user and day, agreement, and the model versions (whether any
#  shadow prediction exists, then each version's results against the reviewers from the rollups; with
#  shadows, three more: analytics.versions); the statistics page: summary, the
#  exact first and last time (two short reads of the rows), usage per day. Staff: no roles query,
#  but the names of the busiest users and the user filter's choices (pages only). The API adds one
#  statement: its shared throttle counts the call (accounts.throttling).
EXPECTED = {
    ("researcher", "analytics:dashboard"): 10,
    ("researcher", "analytics:statistics"): 7,
    ("researcher", "analytics-statistics"): 8,
    ("staff", "analytics:dashboard"): 11,
    ("staff", "analytics:statistics"): 8,
    ("staff", "analytics-statistics"): 8,
    ("owner", "analytics:dashboard"): 10,
}
FILTERS = [
    ({"label": "glioma", "period": "day"}, ""),
    ({"date_from": "2026-03-03", "date_to": "2026-03-12", "min_confidence": 55, "review": "unreviewed"}, ""),
    ({"model_version": "v1", "out_of_scope": "no"}, "Asia/Kolkata"),
]


def more_rows(owner, colleague, n: int) -> None:
    for i in range(n):
        add_prediction(owner if i % 2 else colleague, ("glioma", "pituitary")[i % 2], 0.5 + i / (3 * n), i % 15,
                       f"v{i % 3}", 5 + i)


@pytest.mark.parametrize(("filters", "zone"), FILTERS)
@pytest.mark.parametrize(("persona", "name"), list(EXPECTED))
def test_queries_per_page_stay_the_same_as_rows_grow(known, owner, colleague, persona, name, filters, zone, request,
                                                     django_assert_num_queries):
    client = client_for(request.getfixturevalue(persona))
    if zone:
        client.cookies["tz"] = zone
    if name.startswith("analytics-") and "min_confidence" in filters:  # the API takes a fraction
        filters = {**filters, "min_confidence": filters["min_confidence"] / 100}
    #  The first API call of a throttle window also drops the windows that have ended (one statement
    #  more, once a minute): counted from the second call on.
    assert client.get(reverse(name), filters).status_code == 200
    for _ in range(2):
        with django_assert_num_queries(EXPECTED[persona, name]):
            assert client.get(reverse(name), filters).status_code == 200
        more_rows(owner, colleague, 40)
