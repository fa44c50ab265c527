"""PDF reports, one scan or one patient's scans: image and heat map, the four probabilities, the model
and its intended use, the review, when the report was made, and the decision-support notice."""

from __future__ import annotations

import io
from collections.abc import Iterable
from xml.sax.saxutils import escape

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
from scans.models import Patient, Scan
from scans.reports.heatmaps import display_png, heatmap_png
from scans.verdicts import OUT_OF_SCOPE_TITLE, current_review, of_scan

NOTICE = "This report supports a clinical decision; it is not a diagnosis."
STYLES = getSampleStyleSheet()
SIDE = 70 * mm


def scan_report_pdf(scan: Scan, generated_by: str) -> bytes:
    return _build(f"NeuroLens report: scan {scan.pk}", generated_by, [scan])


def patient_report_pdf(patient: Patient, scans: Iterable[Scan], generated_by: str) -> bytes:
    """One patient's scans: a summary table (one row per scan, its result as headlined), then a page each."""
    scans = list(selectors.with_review_status(Scan.objects.filter(pk__in=[s.pk for s in scans]))
                 .select_related("prediction", "owner").order_by("created", "id"))
    whose = "a DICOM pseudonym, shared" if patient.is_pseudonym else f"a patient of {patient.owner.get_username()}"
    return _build(f"NeuroLens report: patient {patient.reference}", generated_by, scans,
                  summary=[Paragraph(escape(f"Patient {patient.reference} ({whose}): {len(scans)} scan(s), oldest "
                                            "first."), STYLES["Normal"]), Spacer(1, 3 * mm), _summary_table(scans)])


def _summary_table(scans: list[Scan]) -> Table:
    rows = [["Scan", "Uploaded", "Result", "Model said", "Status"]]
    for scan in scans:
        h = of_scan(scan)
        rows.append([str(scan.pk), f"{timezone.localtime(scan.created):%d %b %Y %H:%M}", _cell(h.title),
                     _cell(h.model_said), h.status.replace("_", " ")])
    table = Table(rows, colWidths=[14 * mm, 32 * mm, 48 * mm, 50 * mm, 28 * mm], repeatRows=1)
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, 0), "Helvetica-Bold"), ("FONTSIZE", (0, 0), (-1, -1), 8),
                               ("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("GRID", (0, 0), (-1, -1), 0.25, colors.grey)]))
    return table


def _cell(text: str) -> Paragraph:
    return Paragraph(escape(text), STYLES["BodyText"])


def pdf_response(data: bytes, filename: str) -> HttpResponse:
    """A report as a download that no cache keeps."""
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _build(title: str, generated_by: str, scans: list[Scan], summary: list[Flowable] = ()) -> bytes:
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
    for i, scan in enumerate(scans):
        if i or summary:
            story.append(PageBreak())
        story += _scan_section(scan)
    doc.build(story)
    return buf.getvalue()


def _scan_section(scan: Scan) -> list[Flowable]:
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
        pictures = [[_picture(image), _picture(heatmap_png(scan))],
                    ["Image", f"Heat map (where the model looked for {p.get_label_display()})"]]
    story = [Paragraph(heading, STYLES["Heading2"]), Table(pictures), Spacer(1, 4 * mm)]
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
