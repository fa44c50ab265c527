"""The prototype's statistics calls (api/views/legacy.py) over a set of scans, from the one
analytics stack (analytics.reports.results): kept only until those calls build a Scope themselves."""

from analytics import reports
from analytics.queries import HISTOGRAM_BINS
from analytics.scope import Scope

__all__ = ["HISTOGRAM_BINS", "confidence_histogram", "daily_counts", "summary"]


def _body(scans) -> dict:
    return reports.results(Scope(scans=scans))


def summary(scans) -> dict:
    return _body(scans)


def confidence_histogram(scans) -> list[int]:
    return _body(scans)["confidence_histogram"]


def daily_counts(scans) -> list[dict]:
    return _body(scans)["by_day"]
