"""Model versions against each other and against the reviewers, over the scans in a Scope.

A scan has its result (its Prediction, made by the version served when it was stored) and may have
shadow predictions by other versions (scans.models.shadows, written by manage.py rescore). Two
figures come from them, both exact:

- `pairs`: for every two versions that both answered some scans, how often they give the same class
  (over the scans both keep in scope), the confusion table of one against the other, and how often
  only one of them refused the image as out of scope;
- `by_version`: every version's agreement with the reviewers' class (confirmed or corrected; the
  current review), over the reviewed scans it kept in scope, and how many of those it refused.

The scans are those of the Scope's predictions (analytics.scope): the same visibility and filters as
every other figure. The results' side of `by_version` reads the rollups; the shadows are read from
their rows, joined to the scope's scans, and only once something has been re-scored. Reviewers saw the served result when they gave their verdict, which may
favour the version that made it.
"""

from __future__ import annotations

from django.db.models import Count, F, FilteredRelation, Q

from analytics.scope import Scope, grouped, predictions
from ml.infer import CLASSES
from ml.versions import versions as carded_versions
from scans.models import Review, ShadowPrediction

VERDICTS = (Review.CONFIRMED, Review.CORRECTED)


def _order(version: str) -> tuple:
    """Versions oldest first: by their number where they have one ("neurolens-cnn-1.2.1")."""
    number = version.rsplit("-", 1)[-1]
    parts = number.split(".")
    return (0, tuple(int(p) for p in parts)) if all(p.isdigit() for p in parts) else (1, (version,))


def _pair_rows(scope: Scope) -> list[dict]:
    """(version a, label a, out of scope a, version b, ...) counts: a result against each shadow of its
    scan, and each shadow against every other shadow of a newer-sorting version of the same scan."""
    scans = predictions(scope).values("scan_id")
    shadows = ShadowPrediction.objects.filter(scan_id__in=scans).order_by()
    result = shadows.values(a=F("scan__prediction__model_version"), la=F("scan__prediction__label"),
                            oa=F("scan__prediction__out_of_scope"), b=F("model_version"), lb=F("label"),
                            ob=F("out_of_scope")).annotate(n=Count("pk"))
    other = shadows.alias(other=FilteredRelation("scan__shadow", condition=Q(
        scan__shadow__model_version__gt=F("model_version")))).filter(other__isnull=False)
    both = other.values(a=F("model_version"), la=F("label"), oa=F("out_of_scope"), b=F("other__model_version"),
                        lb=F("other__label"), ob=F("other__out_of_scope")).annotate(n=Count("pk"))
    return list(result) + list(both)


def pairs(scope: Scope) -> list[dict]:
    """Every two versions that answered the same scans: older first."""
    found: dict[tuple[str, str], dict] = {}
    for r in _pair_rows(scope):
        a, b, la, lb, oa, ob = r["a"], r["b"], r["la"], r["lb"], r["oa"], r["ob"]
        if a == b:
            continue
        if _order(b) < _order(a):
            a, b, la, lb, oa, ob = b, a, lb, la, ob, oa
        p = found.setdefault((a, b), {"a": a, "b": b, "scans": 0, "refused_by_a": 0, "refused_by_b": 0,
                                      "refused_by_both": 0,
                                      "matrix": {x: dict.fromkeys(CLASSES, 0) for x in CLASSES}})
        p["scans"] += r["n"]
        if oa and ob:
            p["refused_by_both"] += r["n"]
        elif oa:
            p["refused_by_a"] += r["n"]
        elif ob:
            p["refused_by_b"] += r["n"]
        else:
            p["matrix"][la][lb] += r["n"]
    out = sorted(found.values(), key=lambda p: (_order(p["a"]), _order(p["b"])))
    for p in out:
        p["in_scope_by_both"] = sum(sum(row.values()) for row in p["matrix"].values())
        p["agreed"] = sum(p["matrix"][c][c] for c in CLASSES)
        p["rate"] = round(p["agreed"] / p["in_scope_by_both"], 4) if p["in_scope_by_both"] else None
    return out


def _verdict_rows(scope: Scope, shadows: bool) -> list[dict]:
    """(version, source, label, out of scope, reviewer's class) counts over the reviewed scans: the
    results from the rollups (analytics.scope.grouped), the shadows from their rows."""
    rows = [{**r, "reviewed": r["reviewed_label"], "source": "result"}
            for r in grouped(scope, ("model_version", "label", "out_of_scope", "review", "reviewed_label"))
            if r["review"] in VERDICTS]
    if not shadows:
        return rows
    found = (ShadowPrediction.objects.filter(scan_id__in=predictions(scope).values("scan_id")).order_by()
             .alias(verdict=FilteredRelation("scan__review", condition=Q(
                 scan__review__current=True, scan__review__status__in=VERDICTS)))
             .filter(verdict__isnull=False)
             .values("model_version", "label", "out_of_scope", reviewed=F("verdict__label")).annotate(n=Count("pk")))
    return rows + [{**r, "source": "shadow"} for r in found]


def by_version(scope: Scope, shadows: bool = True) -> list[dict]:
    """Each version's agreement with the reviewers' class, oldest version first."""
    found: dict[str, dict] = {}
    for r in _verdict_rows(scope, shadows):
        v = found.setdefault(r["model_version"], {"version": r["model_version"], "reviewed": 0, "refused": 0,
                                                  "agreed": 0, "as_result": 0, "as_shadow": 0})
        v["as_result" if r["source"] == "result" else "as_shadow"] += r["n"]
        if r["out_of_scope"]:
            v["refused"] += r["n"]
            continue
        v["reviewed"] += r["n"]
        v["agreed"] += r["n"] if r["label"] == r["reviewed"] else 0
    out = sorted(found.values(), key=lambda v: _order(v["version"]))
    carded = set(carded_versions())
    for v in out:
        v["rate"] = round(v["agreed"] / v["reviewed"], 4) if v["reviewed"] else None
        v["has_card"] = v["version"] in carded
    return out


def comparison(scope: Scope) -> dict:
    """Both figures. Without any shadow prediction (nothing re-scored yet) the shadows' queries are
    skipped: the results' side comes from the rollups alone."""
    shadows = ShadowPrediction.objects.exists()
    return {"pairs": pairs(scope) if shadows else [], "by_version": by_version(scope, shadows)}
