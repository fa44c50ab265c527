"""The number of SQL queries per page is fixed: it does not grow with the rows."""

import pytest
from django.db import connection
from django.urls import reverse

from tests.analytics.conftest import add_prediction
from tests.helpers import client_for

#  On SQLite each percentile is its own query per group (versions, classes): fixed per group, not per row.
pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(connection.vendor != "postgresql", reason="counts pinned for PostgreSQL")]
#  session, user, roles, then the aggregates: dashboard overview, versions, usage per user and day;
#  statistics totals, classes, usage per day. Staff: no roles query, but the names of the busiest users
#  and the user filter's choices (pages only). The dashboard's agreement chart adds one.
REVIEWS = 1
EXPECTED = {
    ("researcher", "analytics:dashboard"): 6 + REVIEWS,
    ("researcher", "analytics:statistics"): 6,
    ("researcher", "analytics-statistics"): 6,
    ("staff", "analytics:dashboard"): 7 + REVIEWS,
    ("staff", "analytics:statistics"): 7,
    ("staff", "analytics-statistics"): 6,
    ("owner", "analytics:dashboard"): 6 + REVIEWS,
}


def more_rows(owner, colleague, n: int) -> None:
    for i in range(n):
        add_prediction(owner if i % 2 else colleague, ("glioma", "pituitary")[i % 2], 0.5 + i / (3 * n), i % 15,
                       f"v{i % 3}", 5 + i)


@pytest.mark.parametrize(("persona", "name"), list(EXPECTED))
def test_queries_per_page_stay_the_same_as_rows_grow(known, owner, colleague, persona, name, request,
                                                     django_assert_num_queries):
    client = client_for(request.getfixturevalue(persona))
    for _ in range(2):
        with django_assert_num_queries(EXPECTED[persona, name]):
            assert client.get(reverse(name), {"label": "glioma", "period": "day"}).status_code == 200
        more_rows(owner, colleague, 40)
