"""The one CSV cell escaper, used by every CSV the product writes (analytics export, API export,
batch results)."""

from __future__ import annotations

#  A spreadsheet runs a cell starting with one of these as a formula; names and references are typed by users.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """The value as it may go into a CSV cell: text that a spreadsheet would run as a formula gets a
    leading apostrophe (shown, not run); anything else is returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
