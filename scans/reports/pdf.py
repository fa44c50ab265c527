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
from scans.models import Review, Scan
from scans.reports.heatmaps import heatmap_png

NOTICE = "This report supports a clinical decision; it is not a diagnosis."
STYLES = getSampleStyleSheet()
SIDE = 70 * mm


def scan_report_pdf(scan: Scan, generated_by: str) -> bytes:
    return _build(f"NeuroLens report: scan {scan.pk}", generated_by, [scan])


def patient_report_pdf(patient_ref: str, scans: Iterable[Scan], generated_by: str) -> bytes:
    return _build(f"NeuroLens report: patient {patient_ref}", generated_by, list(scans))


def pdf_response(data: bytes, filename: str) -> HttpResponse:
    """A report as a download that no cache keeps."""
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _build(title: str, generated_by: str, scans: list[Scan]) -> bytes:
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
    ]
    for i, scan in enumerate(scans):
        if i:
            story.append(PageBreak())
        story += _scan_section(scan)
    doc.build(story)
    return buf.getvalue()


def _scan_section(scan: Scan) -> list[Flowable]:
    p = scan.prediction
    heading = escape(f"Scan {scan.pk}: {scan.original_name}, {timezone.localtime(scan.created):%d %b %Y %H:%M}")
    rows = [["Class", "Probability"]] + [[r["name"] + (" (most likely)" if r["is_label"] else ""),
                                           f"{r['probability']:.1%}"] for r in p.class_rows()]
    table = Table(rows, colWidths=[70 * mm, 30 * mm])
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, 0), "Helvetica-Bold"),
                               ("GRID", (0, 0), (-1, -1), 0.25, colors.grey)]))
    facts = [
        escape(f"Patient reference: {scan.patient_ref or 'none'}"),
        f"Model {p.model_version}: {p.get_label_display()} at {p.confidence:.1%} (calibrated)",
        _review_line(scan),
    ]
    if p.out_of_scope:
        facts.append(f"<b>Out of scope</b>: {p.out_of_scope_reason or 'unlike the training images'}; "
                     "do not rely on the label.")
    facts += [escape(f"{k}: {v}") for k, v in scan.dicom_meta.items()]
    with scan.image.open("rb") as fh:
        image = fh.read()
    return [
        Paragraph(heading, STYLES["Heading2"]),
        Table([[_picture(image), _picture(heatmap_png(scan))],
               ["Image", "Heat map (where the model looked)"]]),
        Spacer(1, 4 * mm),
        table,
        Spacer(1, 4 * mm),
        *[Paragraph(line, STYLES["Normal"]) for line in facts],
    ]


def _review_line(scan: Scan) -> str:
    review = scan.reviews.filter(current=True).select_related("reviewer").first()
    if review is None:
        return "Review: unreviewed"
    verdict = review.get_status_display().lower()
    if review.status == Review.CORRECTED:
        verdict += f" to {review.get_corrected_label_display()}"
    line = f"Review: {verdict} by {review.reviewer.get_username()} on {timezone.localtime(review.created):%d %b %Y %H:%M}"
    return escape(line + (f". Comment: {review.comment}" if review.comment else ""))


def _picture(data: bytes) -> Image:
    img = Image(io.BytesIO(data))
    scale = SIDE / max(img.imageWidth, img.imageHeight)
    img.drawWidth, img.drawHeight = img.imageWidth * scale, img.imageHeight * scale
    return img
