"""The rows of a chart's table, built in one pass rather than by nested template loops: the usage
table (a row per day, a column per user) has over a thousand cells, and at the template engine's
cost per cell (and then format_html's) it took most of the dashboard's Python time. The markup is what the loops wrote."""

import html

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


def _cell(value) -> str:
    """Text escaped as the template engine escapes it; numbers (most cells) need no escaping. Plain
    types are told apart by their exact type first: a page has thousands of cells, and Django's
    escape (lazy-aware, then html.escape) costs three times as much per cell."""
    kind = type(value)
    if kind is int or kind is float:
        return str(value)
    if kind is str:
        return html.escape(value)
    if value is None:
        return "–"
    return str(conditional_escape(value))  # safe strings as they are, anything else as text


@register.filter
def table_rows(rows: list[list]) -> SafeString:
    """[[heading, cell, ...], ...] -> <tr><th scope="row">heading</th><td>cell</td>...</tr>...; None is "–"."""
    return mark_safe("".join(  # every piece is escaped by _cell
        '<tr><th scope="row">' + _cell(row[0]) + "</th>"
        + ("<td>" + "</td><td>".join(map(_cell, row[1:])) + "</td>" if len(row) > 1 else "") + "</tr>"
        for row in rows))
