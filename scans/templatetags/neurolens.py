from django import template

from scans.verdicts import counts_line, of_scan

register = template.Library()


@register.filter
def percent(value, digits: int = 1) -> str:
    """0.9234 -> "92.3%"."""
    try:
        return f"{float(value) * 100:.{int(digits)}f}%"
    except (TypeError, ValueError):
        return ""


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def headline(scan):
    """{% with h=scan|headline %}: what the scan's result is now (scans.verdicts.Headline)."""
    return of_scan(scan)


@register.filter
def words(value) -> str:
    """not_assessable -> "not assessable"."""
    return str(value or "").replace("_", " ")


@register.filter
def series_counts(result) -> str:
    """A series result's per-class counts of in-scope slices and its out-of-scope count, as words."""
    return counts_line(result or {})
