"""The rows of a chart's table, built in one pass rather than by nested template loops: the usage
table (a row per day, a column per user) has over a thousand cells, and at the template engine's
cost per cell (and then format_html's) it took most of the dashboard's Python time. The markup is what the loops wrote."""

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


def _cell(value) -> str:
    """Text escaped as the template engine escapes it; numbers (most cells) need no escaping."""
    if value is None:
        return "–"
    if isinstance(value, int | float):
        return str(value)
    return str(conditional_escape(value))


@register.filter
def table_rows(rows: list[list]) -> SafeString:
    """[[heading, cell, ...], ...] -> <tr><th scope="row">heading</th><td>cell</td>...</tr>...; None is "–"."""
    return mark_safe("".join(  # every piece is escaped by _cell
        '<tr><th scope="row">' + _cell(row[0]) + "</th>" + "".join("<td>" + _cell(c) + "</td>" for c in row[1:]) + "</tr>"
        for row in rows))
