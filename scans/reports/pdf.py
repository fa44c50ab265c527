"""PDF reports, one scan or one patient's scans: image and heat map, the four probabilities, the model
and its intended use, the review, when the report was made, and the decision-support notice."""

from __future__ import annotations

import io
from collections.abc import Iterable
from xml.sax.saxutils import escape

from django.db.models import Count
from django.http import HttpResponse
from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Image, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from ml.infer import get_classifier
from scans import selectors
from scans.intake.errors import HeatmapUnavailable
from scans.models import Patient, Scan, Series, Slice
from scans.reports.heatmaps import display_png, heatmap_png
from scans.verdicts import OUT_OF_SCOPE_TITLE, counts_line, current_review, of_scan

NOTICE = "This report supports a clinical decision; it is not a diagnosis."
STYLES = getSampleStyleSheet()
SIDE = 70 * mm


def scan_report_pdf(scan: Scan, generated_by: str) -> bytes:
    return _build(f"NeuroLens report: scan {scan.pk}", generated_by, [_scan_section(scan)])


def patient_report_pdf(patient: Patient, scans: Iterable[Scan], generated_by: str) -> bytes:
    """One patient's scans: a summary table (one row per stand-alone scan and one per PACS series, each
    result as headlined), then a page per scan; a series gets one section with its result, the rule
    and its slice evidence: the key slices and every reviewed slice, not each of its slices."""
    scans = list(selectors.with_review_status(Scan.objects.filter(pk__in=[s.pk for s in scans]))
                 .select_related("prediction", "owner").order_by("created", "id"))
    of_series = {row["scan_id"]: row for row in Slice.objects.filter(scan__in=scans)
                 .values("scan_id", "series_id", "key", "position")}
    series = {s.pk: s for s in Series.objects.filter(pk__in={r["series_id"] for r in of_series.values()})}
    parts: list[Scan | Series] = []
    evidence: dict[int, list[Scan]] = {}
    for scan in scans:
        row = of_series.get(scan.pk)
        if row is None:
            parts.append(scan)
            continue
        if row["series_id"] not in evidence:
            evidence[row["series_id"]] = []
            parts.append(series[row["series_id"]])
        if row["key"] or of_scan(scan).reviewed:
            evidence[row["series_id"]].append(scan)
    for shown in evidence.values():
        shown.sort(key=lambda scan: of_series[scan.pk]["position"])
    whose = "a DICOM pseudonym, shared" if patient.is_pseudonym else f"a patient of {patient.owner.get_username()}"
    alone, in_series = sum(isinstance(p, Scan) for p in parts), len(evidence)
    counted = f"{alone} scan(s)" + (f" and {in_series} PACS series" if in_series else "")
    sections: list[list[Flowable]] = []
    sizes = _series_sizes(parts)
    for part in parts:
        sections.append(_scan_section(part) if isinstance(part, Scan)
                        else _series_section(part, sizes.get(part.pk, 0), evidence[part.pk]))
    return _build(f"NeuroLens report: patient {patient.reference}", generated_by, sections,
                  summary=[Paragraph(escape(f"Patient {patient.reference} ({whose}): {counted}, oldest first."),
                                     STYLES["Normal"]), Spacer(1, 3 * mm), _summary_table(parts, sizes)])


def _series_name(series: Series) -> str:
    return f"Series {series.number if series.number is not None else series.pk}"


def _series_sizes(parts: list) -> dict[int, int]:
    ids = [p.pk for p in parts if isinstance(p, Series)]
    return dict(Slice.objects.filter(series_id__in=ids).values_list("series_id").annotate(n=Count("id")))


def _summary_table(parts: list, sizes: dict[int, int]) -> Table:
    rows = [["Scan", "Uploaded", "Result", "Model said", "Status"]]
    for part in parts:
        if isinstance(part, Series):
            result = part.result or {}
            rows.append([_cell(f"{_series_name(part)}, {sizes.get(part.pk, 0)} slices"),
                         f"{timezone.localtime(part.created):%d %b %Y %H:%M}",
                         _cell(result.get("label_display", "") if part.status == Series.DONE else "Not classified yet"),
                         _cell(counts_line(result)), part.status])
            continue
        h = of_scan(part)
        rows.append([str(part.pk), f"{timezone.localtime(part.created):%d %b %Y %H:%M}", _cell(h.title),
                     _cell(h.model_said), h.status.replace("_", " ")])
    table = Table(rows, colWidths=[22 * mm, 30 * mm, 46 * mm, 48 * mm, 26 * mm], repeatRows=1)
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, 0), "Helvetica-Bold"), ("FONTSIZE", (0, 0), (-1, -1), 8),
                               ("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("GRID", (0, 0), (-1, -1), 0.25, colors.grey)]))
    return table


def _series_section(series: Series, size: int, shown: list[Scan]) -> list[Flowable]:
    """A series' result by its rule, said to summarise single-slice results, then the slice evidence."""
    result = series.result or {}
    heading = escape(f"{_series_name(series)}{': ' + series.description if series.description else ''}, "
                     f"{size} slices, {timezone.localtime(series.created):%d %b %Y %H:%M}")
    if series.status != Series.DONE:
        lines = [f"<b>Result: not available</b> (the series is {escape(series.status)})."]
    else:
        lines = [(f"<b>Series result: {escape(result.get('label_display', ''))}</b>, model "
                  f"{escape(str(result.get('model_version', '')))}. Slices: {escape(counts_line(result))}."),
                 escape(result.get("rule", "")), f"<i>{escape(result.get('single_slice_note', ''))}</i>"]
    lines.append("Slice evidence below: the key slices and every reviewed slice; the series page shows them all."
                 if shown else "No slice of this series is a key image or reviewed yet.")
    story: list[Flowable] = [Paragraph(heading, STYLES["Heading2"])]
    story += [Paragraph(line, STYLES["Normal"]) for line in lines]
    for scan in shown:
        story += [Spacer(1, 6 * mm), *_scan_section(scan, level="Heading3")]
    return story


def _cell(text: str) -> Paragraph:
    return Paragraph(escape(text), STYLES["BodyText"])


def pdf_response(data: bytes, filename: str) -> HttpResponse:
    """A report as a download that no cache keeps."""
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _build(title: str, generated_by: str, sections: list[list[Flowable]], summary: list[Flowable] = ()) -> bytes:
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, title=title, author="NeuroLens", subject=NOTICE,
                            leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm, bottomMargin=16 * mm)
    made = timezone.localtime().strftime("%d %b %Y, %H:%M %Z")
    card = get_classifier().card
    story: list[Flowable] = [
        Paragraph(escape(title), STYLES["Title"]),
        Paragraph(escape(f"Generated {made} for {generated_by}."), STYLES["Normal"]),
        Paragraph(f"<b>{NOTICE}</b>", STYLES["Normal"]),
        Paragraph(escape(f"Model {card.get('version', '?')}: {card.get('intended_use', '')}"), STYLES["Italic"]),
        Spacer(1, 6 * mm),
        *summary,
    ]
    for i, section in enumerate(sections):
        if i or summary:
            story.append(PageBreak())
        story += section
    doc.build(story)
    return buf.getvalue()


def _scan_section(scan: Scan, level: str = "Heading2") -> list[Flowable]:
    """The scan's result as its headline (scans.verdicts): the verdict once reviewed, the model's output
    beside it; an out-of-scope image "not assessed", with no class, probabilities or heat map."""
    p, h = scan.prediction, of_scan(scan)
    heading = escape(f"Scan {scan.pk}: {scan.original_name}, {timezone.localtime(scan.created):%d %b %Y %H:%M}")
    if h.reviewed:
        result = f"<b>Result: {escape(h.title)}</b> (reviewer's verdict). Model said: {escape(h.model_said)}."
    elif h.label:
        result = f"<b>Result: {escape(h.title)}</b>, model {p.model_version}, confidence {p.confidence:.1%} (calibrated)."
    else:
        result = (f"<b>Result: {OUT_OF_SCOPE_TITLE}</b>: {escape(h.detail)}. The model gives no class, probabilities "
                  "or heat map for an image unlike the brain MRI slices it was trained on.")
    facts = [escape(f"Patient reference: {scan.patient_ref or 'none'}"), result, _review_line(scan)]
    facts += [escape(f"{k}: {v}") for k, v in scan.dicom_meta.items()]
    image = display_png(scan)  # at display size: never the full resolution into the PDF
    pictures = [[_picture(image)], ["Image"]]
    if p.shows_class:
        try:
            pictures = [[_picture(image), _picture(heatmap_png(scan))],
                        ["Image", f"Heat map (where the model looked for {p.get_label_display()})"]]
        except HeatmapUnavailable as exc:
            facts.append(escape(f"Heat map: none. {exc}"))
    story = [Paragraph(heading, STYLES[level]), Table(pictures), Spacer(1, 4 * mm)]
    if p.shows_class:
        rows = [["Class (the model's probabilities)", "Probability"]] + [
            [r["name"] + (" (most likely)" if r["is_label"] else ""), f"{r['probability']:.1%}"] for r in p.class_rows()]
        table = Table(rows, colWidths=[70 * mm, 30 * mm])
        table.setStyle(TableStyle([("FONT", (0, 0), (-1, 0), "Helvetica-Bold"),
                                   ("GRID", (0, 0), (-1, -1), 0.25, colors.grey)]))
        story += [table, Spacer(1, 4 * mm)]
    return story + [Paragraph(line, STYLES["Normal"]) for line in facts]


def _review_line(scan: Scan) -> str:
    review = current_review(scan)
    if review is None:
        return "Review: unreviewed"
    verdict = review.verdict
    line = f"Review: {verdict} by {review.reviewer.get_username()} on {timezone.localtime(review.created):%d %b %Y %H:%M}"
    return escape(line + (f". Comment: {review.comment}" if review.comment else ""))


def _picture(data: bytes) -> Image:
    img = Image(io.BytesIO(data))
    scale = SIDE / max(img.imageWidth, img.imageHeight)
    img.drawWidth, img.drawHeight = img.imageWidth * scale, img.imageHeight * scale
    return img
