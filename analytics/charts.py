"""Chart.js configurations and the tables beside them, built from the grouped rows of queries.py."""

from __future__ import annotations

from analytics import queries
from ml.infer import CLASSES, DISPLAY_NAMES

COLOURS = {"glioma": "#e8590c", "meningioma": "#4dabf7", "notumor": "#69db7c", "pituitary": "#cc5de8"}
NAMES = [DISPLAY_NAMES[c] for c in CLASSES]
#  The usage chart stacks this many users on their own; anyone less busy is in "Others".
USAGE_SHOWN = 5
USER_COLOURS = ["#20c997", "#fab005", "#7950f2", "#fa5252", "#228be6"]
OTHERS_COLOUR = "#adb5bd"


def _pct(share: float | None) -> str:
    return "–" if share is None else f"{share:.1%}"


def _chart(id_: str, title: str, summary: str, config: dict | None, head: list, rows: list, empty: str = "") -> dict:
    return {"id": id_, "config_id": f"chart-{id_}-config", "title": title, "summary": summary, "config": config,
            "table": {"head": head, "rows": rows}, "empty": empty}


def _bar(labels: list, datasets: list, stacked: bool = False, **options) -> dict:
    scales = {"x": {"stacked": stacked}, "y": {"stacked": stacked, "beginAtZero": True}}
    return {"type": "bar", "data": {"labels": labels, "datasets": datasets},
            "options": {"animation": False, "maintainAspectRatio": False, "scales": scales, **options}}


def _by_class(values: dict[str, list]) -> list[dict]:
    return [{"label": DISPLAY_NAMES[c], "data": values[c], "backgroundColor": COLOURS[c]} for c in CLASSES]


def classes_chart(stats: list[dict]) -> dict:
    counts = [s["count"] for s in stats]
    config = {"type": "doughnut", "options": {"animation": False, "maintainAspectRatio": False},
              "data": {"labels": NAMES, "datasets": [{"data": counts, "backgroundColor": list(COLOURS.values())}]}}
    rows = [[DISPLAY_NAMES[s["label"]], s["count"], _pct(s["share"])] for s in stats]
    top = max(stats, key=lambda s: s["count"])
    summary = f"Most frequent: {DISPLAY_NAMES[top['label']]} ({_pct(top['share'])})." if top["count"] else ""
    return _chart("classes", "Class distribution", summary, config, ["Class", "Predictions", "Share"], rows,
                  "" if sum(counts) else "No predictions match these filters.")


def confidence_chart(hist: dict[str, list[int]]) -> dict:
    bins = queries.HISTOGRAM_BINS
    labels = [f"{i * 100 // bins}–{(i + 1) * 100 // bins}%" for i in range(bins)]
    rows = [[labels[i], *(hist[c][i] for c in CLASSES)] for i in range(bins)]
    empty = "" if any(any(v) for v in hist.values()) else "No predictions match these filters."
    return _chart("confidence", "Confidence by class", "How sure the model was, per predicted class.",
                  _bar(labels, _by_class(hist), stacked=True), ["Confidence", *NAMES], rows, empty)


def timeline_chart(slots: list[dict], period: str) -> dict:
    labels = [s["start"].isoformat() for s in slots]
    data = {c: [s["counts"][c] for s in slots] for c in CLASSES}
    rows = [[s["start"].isoformat(), *(s["counts"][c] for c in CLASSES), s["total"]] for s in slots]
    busiest = max(slots, key=lambda s: s["total"], default=None)
    summary = f"Busiest {period}: {busiest['start']:%d %b %Y} ({busiest['total']} scans)." if busiest else ""
    return _chart("timeline", f"Scans per {period}, by class", summary,
                  _bar(labels, _by_class(data), stacked=True), [period.capitalize(), *NAMES, "Total"], rows,
                  "" if slots else "No predictions match these filters.")


def out_of_scope_chart(slots: list[dict], totals: dict, period: str) -> dict:
    labels = [s["start"].isoformat() for s in slots]
    shares = [None if s["out_of_scope_share"] is None else round(100 * s["out_of_scope_share"], 2) for s in slots]
    config = {"type": "line", "data": {"labels": labels, "datasets": [
        {"label": "Out of scope (%)", "data": shares, "borderColor": "#ffd43b", "backgroundColor": "#ffd43b"}]},
        "options": {"animation": False, "maintainAspectRatio": False, "scales": {"y": {"beginAtZero": True}}}}
    rows = [[s["start"].isoformat(), s["out_of_scope"], s["total"], _pct(s["out_of_scope_share"])] for s in slots]
    summary = f"{totals['out_of_scope']} of {totals['total']} images were out of scope ({_pct(totals['out_of_scope_share'])})."
    return _chart("out-of-scope", "Out-of-scope rate", summary, config,
                  [period.capitalize(), "Out of scope", "Scans", "Rate"], rows, "" if slots else "No predictions.")


def inference_chart(versions: list[dict], min_confidence: int | None = None) -> dict:
    labels = [v["model_version"] for v in versions]
    datasets = [{"label": "p50 (ms)", "data": [v["p50_ms"] for v in versions], "backgroundColor": "#4dabf7"},
                {"label": "p95 (ms)", "data": [v["p95_ms"] for v in versions], "backgroundColor": "#e8590c"}]
    rows = [[v["model_version"], v["count"], v["p50_ms"], v["p95_ms"], f"{v['first']:%Y-%m}", f"{v['last']:%Y-%m}"]
            for v in versions]
    summary = f"{len(versions)} model version(s) in use." if versions else ""
    if versions and min_confidence is not None:
        summary += f" Every confidence is counted here, not only {min_confidence} % and above."
    return _chart("inference", "Model versions and inference time", summary, _bar(labels, datasets),
                  ["Model version", "Predictions", "p50 ms", "p95 ms", "First month (UTC)", "Last month (UTC)"], rows,
                  "" if versions else "No predictions.")


def users_chart(users: list[dict]) -> dict:
    labels = [u["username"] for u in users]
    datasets = [{"label": "Scans", "data": [u["scans"] for u in users], "backgroundColor": "#20c997"}]
    rows = [[u["username"], u["scans"], u["active_days"], u["per_active_day"]] for u in users]
    return _chart("users", "Scans per user", "The ten busiest users.", _bar(labels, datasets, indexAxis="y"),
                  ["User", "Scans", "Active days", "Scans per active day"], rows, "" if users else "No predictions.")


def usage_chart(seen: dict, labels: list[str]) -> dict:
    """Scans per user and day: stacked bars, one dataset per busiest user (`labels`, in rank order,
    as access.usage_label gives them) and one for everyone else; the table has the same figures."""
    shown = seen["users"][:USAGE_SHOWN]
    rest = seen["users"][USAGE_SHOWN:]
    days = seen["days"]
    series = [[u["per_day"].get(d, 0) for d in days] for u in shown]
    others = [seen["others"].get(d, 0) + sum(u["per_day"].get(d, 0) for u in rest) for d in days]
    names = labels[:len(shown)]
    datasets = [{"label": name, "data": data, "backgroundColor": USER_COLOURS[i]}
                for i, (name, data) in enumerate(zip(names, series, strict=True))]
    if any(others):
        datasets.append({"label": "Others", "data": others, "backgroundColor": OTHERS_COLOUR})
    per_day = [d["count"] for d in seen["per_day"]]
    head = ["Day", *names, *(["Others"] if any(others) else []), "Total"]
    rows = [[d.isoformat(), *(s[i] for s in series), *([others[i]] if any(others) else []), per_day[i]]
            for i, d in enumerate(days)]
    summary = ""
    if days:
        busiest = max(range(len(days)), key=lambda i: per_day[i])
        summary = (f"{names[0]} uploaded {_pct(shown[0]['scans'] / sum(per_day))} of the scans. "
                   f"Busiest day: {days[busiest]:%d %b %Y} ({per_day[busiest]} scans).")
    return _chart("usage", "Scans per user and day", summary, _bar([d.isoformat() for d in days], datasets, stacked=True),
                  head, rows, "" if days else "No predictions.")


def agreement_chart(agreement: dict | None) -> dict:
    if not agreement or not (agreement["reviewed"] or agreement["not_assessable"] or agreement["out_of_scope_reviewed"]):
        return _chart("agreement", "Model and reviewer agreement", "", None, [], [],
                      "No reviews yet: once reviewers confirm or correct results, their agreement with the model shows here.")
    m = agreement["matrix"]
    datasets = [{"label": f"Reviewer: {DISPLAY_NAMES[r]}", "data": [m[c][r] for c in CLASSES],
                 "backgroundColor": COLOURS[r]} for r in CLASSES]
    rows = [[DISPLAY_NAMES[c], *(m[c][r] for r in CLASSES)] for c in CLASSES]
    summary = (f"Reviewers agreed with the model on {agreement['agreed']} of {agreement['reviewed']} in-scope scans "
               f"({_pct(agreement['rate'])}). Not counted: {agreement['not_assessable']} marked not assessable, "
               f"{agreement['out_of_scope_reviewed']} out of scope (no model class).")
    return _chart("agreement", "Model and reviewer agreement", summary, _bar(NAMES, datasets, stacked=True),
                  ["Model \\ reviewer", *NAMES], rows)


def verdicts_by_version_chart(by_version: list[dict]) -> dict:
    """Each model version's agreement with the reviewers' class (its result or its shadow re-score)."""
    title = "Model versions and the reviewers"
    if not any(v["reviewed"] or v["refused"] for v in by_version):
        return _chart("version-verdicts", title, "", None, [], [],
                      "No reviewed scan has a class from a reviewer yet under these filters.")
    labels = [v["version"] for v in by_version]
    config = _bar(labels, [{"label": "Agreement with the reviewers' class (%)", "backgroundColor": "#228be6",
                            "data": [None if v["rate"] is None else round(v["rate"] * 100, 1) for v in by_version]}],
                  scales={"y": {"beginAtZero": True, "max": 100}})
    rows = [[v["version"], v["reviewed"], v["agreed"], _pct(v["rate"]), v["refused"],
             f"{v['as_result']} / {v['as_shadow']}"] for v in by_version]
    summary = ("Over the scans a reviewer confirmed or corrected: how often each version's class is the reviewer's. "
               "Reviewers saw the served result, which may favour the version that made it.")
    return _chart("version-verdicts", title, summary, config,
                  ["Version", "Reviewed, in scope", "Agreed", "Agreement", "Refused as out of scope",
                   "Result / shadow"], rows)


def version_pair_chart(pair: dict) -> dict:
    """One version against another over the scans both answered: the confusion table, rows the older."""
    a, b, m = pair["a"], pair["b"], pair["matrix"]
    datasets = [{"label": f"{b}: {DISPLAY_NAMES[c]}", "data": [m[r][c] for r in CLASSES],
                 "backgroundColor": COLOURS[c]} for c in CLASSES]
    rows = [[DISPLAY_NAMES[r], *(m[r][c] for c in CLASSES)] for r in CLASSES]
    same = (f"the same class on {pair['agreed']} of the {pair['in_scope_by_both']} both kept in scope "
            f"({_pct(pair['rate'])})" if pair["in_scope_by_both"] else "none kept in scope by both")
    summary = (f"{pair['scans']} scans answered by both: {same}. Refused as out of scope by "
               f"{a} only: {pair['refused_by_a']}; by {b} only: {pair['refused_by_b']}; by both: "
               f"{pair['refused_by_both']}.")
    return _chart(f"versions-{a}-{b}".replace(".", "-"), f"{a} against {b}", summary,
                  _bar(NAMES, datasets, stacked=True), [f"{a} \\ {b}", *NAMES], rows)


def version_pairs_charts(pairs: list[dict]) -> list[dict]:
    if not pairs:
        return [_chart("version-pairs", "Model versions against each other", "", None, [], [],
                       "No scan under these filters has answers from two model versions: manage.py rescore "
                       "re-scores stored scans with another version without changing their results.")]
    return [version_pair_chart(p) for p in pairs]
