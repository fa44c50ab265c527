"""The rows of a chart's table, built in one pass rather than by nested template loops: the usage
table (a row per day, a column per user) has over a thousand cells, and at the template engine's
cost per cell it took most of the dashboard's Python time. The markup is what the loops wrote."""

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

register = template.Library()


def _row(row: list) -> SafeString:
    head = format_html('<th scope="row">{}</th>', row[0])
    return head + format_html_join("", "<td>{}</td>", (("–" if cell is None else cell,) for cell in row[1:]))


@register.filter
def table_rows(rows: list[list]) -> SafeString:
    """[[heading, cell, ...], ...] -> <tr><th scope="row">heading</th><td>cell</td>...</tr>...; None is "–"."""
    return format_html_join("", "<tr>{}</tr>", ((_row(row),) for row in rows))
