from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.models import ApiToken
from ml.infer import CLASSES, DISPLAY_NAMES
from scans.intake.errors import ScanRejected
from scans.models import LABEL_CHOICES, Prediction, Review, Scan
from scans.patients import clean_reference
from scans.verdicts import of_scan


class StrictCharField(serializers.CharField):
    """Text only: DRF's CharField would turn a JSON number or boolean into text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class ProbabilitiesSerializer(serializers.Serializer):
    glioma = serializers.FloatField()
    meningioma = serializers.FloatField()
    notumor = serializers.FloatField()
    pituitary = serializers.FloatField()


NOT_ASSESSED = "null for an out-of-scope image: it was not assessed, so the model gave no class."


class PredictionSerializer(serializers.ModelSerializer):
    """What the model said. For an out-of-scope image `label`, `label_display`, `confidence` and
    `probabilities` are null, with `out_of_scope` true and the reason."""

    scan = serializers.IntegerField(source="scan_id", read_only=True)
    label = serializers.ChoiceField(choices=LABEL_CHOICES, allow_null=True, help_text=f"The model's class; {NOT_ASSESSED}")
    label_display = serializers.CharField(source="get_label_display", allow_null=True)
    confidence = serializers.FloatField(allow_null=True, help_text=f"Calibrated probability of the label, 0 to 1; "
                                                                   f"{NOT_ASSESSED}")
    probabilities = ProbabilitiesSerializer(allow_null=True)

    class Meta:
        model = Prediction
        fields = ["id", "scan", "label", "label_display", "confidence", "probabilities", "out_of_scope",
                  "out_of_scope_reason", "model_version", "inference_ms", "created"]

    def to_representation(self, prediction):
        return prediction_body(prediction)

    def drf_representation(self, prediction):
        """DRF's own output (the declared fields), for the test that holds to_representation equal to it."""
        data = super().to_representation(prediction)
        if not prediction.shows_class:
            data.update(label=None, label_display=None, confidence=None, probabilities=None)
        return data


#  DRF's writing of a date and time (ISO 8601, in the active zone, UTC as "Z"); it keeps no state.
_DATETIME = serializers.DateTimeField()


def prediction_body(prediction: Prediction) -> dict:
    """PredictionSerializer's fields written out: DRF builds a ModelSerializer's fields anew for every
    instance (model introspection and deep copies), which cost more than the rest of an answer.
    tests/api/test_representation.py holds this equal to DRF's own output."""
    shown = prediction.shows_class
    return {
        "id": prediction.pk, "scan": prediction.scan_id,
        "label": prediction.label if shown else None,
        "label_display": prediction.get_label_display() if shown else None,
        "confidence": float(prediction.confidence) if shown else None,
        "probabilities": {c: float(v) for c, v in prediction.probabilities.items()} if shown else None,
        "out_of_scope": bool(prediction.out_of_scope), "out_of_scope_reason": prediction.out_of_scope_reason,
        "model_version": prediction.model_version, "inference_ms": float(prediction.inference_ms),
        "created": _DATETIME.to_representation(prediction.created),
    }


STATUSES = [Review.UNREVIEWED, *dict(Review.STATUS_CHOICES)]


class ScanSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.get_username")
    patient = serializers.UUIDField(source="patient.public_id", allow_null=True, default=None,
                                    help_text="The patient's opaque id (/api/v1/patients/{id}); null without one.")
    image_url = serializers.SerializerMethodField()
    heatmap_url = serializers.SerializerMethodField()
    report_url = serializers.SerializerMethodField()
    prediction = PredictionSerializer()
    status = serializers.SerializerMethodField(help_text="The current verdict: unreviewed, confirmed, corrected or "
                                                         "not_assessable.")
    review_status = serializers.SerializerMethodField(help_text="The same as `status` (kept for older clients).")
    effective_label = serializers.SerializerMethodField(
        help_text="The class the scan stands at: the reviewer's once reviewed, else the model's; null when there is "
                  "none (out of scope and unreviewed, or not assessable).")
    not_assessable_reason = serializers.SerializerMethodField(
        help_text="When not assessable: wrong_modality, poor_quality, not_brain or other; else null.")
    headline = serializers.SerializerMethodField(help_text="The result in words, as the pages headline it.")
    dicom_meta = serializers.DictField(child=serializers.CharField(), read_only=True,
                                       help_text="DICOM only: the technical attributes kept after de-identification.")

    class Meta:
        model = Scan
        fields = ["id", "created", "owner", "original_name", "format", "width", "height", "size_bytes",
                  "patient", "patient_ref", "note", "image_url", "heatmap_url", "report_url", "prediction", "status",
                  "review_status", "effective_label", "not_assessable_reason", "headline", "dicom_meta"]

    def _url(self, name: str, scan: Scan) -> str:
        return self.context["request"].build_absolute_uri(reverse(name, args=[scan.pk]))

    def get_image_url(self, scan: Scan) -> str:
        return self._url("api:scan-image", scan)

    def get_heatmap_url(self, scan: Scan) -> str:
        return self._url("api:scan-heatmap", scan)

    def get_report_url(self, scan: Scan) -> str:
        return self._url("api:scan-report", scan)

    @extend_schema_field(serializers.ChoiceField(choices=STATUSES))
    def get_status(self, scan: Scan) -> str:
        return of_scan(scan).status

    @extend_schema_field(serializers.ChoiceField(choices=STATUSES))
    def get_review_status(self, scan: Scan) -> str:
        return of_scan(scan).status

    @extend_schema_field(serializers.ChoiceField(choices=list(CLASSES), allow_null=True))
    def get_effective_label(self, scan: Scan) -> str | None:
        return of_scan(scan).label

    @extend_schema_field(serializers.ChoiceField(choices=[k for k, _ in Review.REASON_CHOICES], allow_null=True))
    def get_not_assessable_reason(self, scan: Scan) -> str | None:
        return of_scan(scan).reason or None

    def get_headline(self, scan: Scan) -> str:
        return _headline_text(of_scan(scan))

    def to_representation(self, scan):
        """The declared fields written out (see PredictionSerializer.to_representation): a page of 50 scans
        built 50 sets of fields, and an upload's answer took 1.6 of its 17 ms."""
        patient, h = scan.patient, of_scan(scan)  # the headline once, not once per field
        return {
            "id": scan.pk, "created": _DATETIME.to_representation(scan.created), "owner": scan.owner.get_username(),
            "original_name": scan.original_name, "format": scan.format, "width": int(scan.width),
            "height": int(scan.height), "size_bytes": int(scan.size_bytes),
            "patient": str(patient.public_id) if patient is not None and patient.public_id is not None else None,
            "patient_ref": scan.patient_ref, "note": scan.note, "image_url": self.get_image_url(scan),
            "heatmap_url": self.get_heatmap_url(scan), "report_url": self.get_report_url(scan),
            "prediction": prediction_body(scan.prediction),
            "status": h.status, "review_status": h.status, "effective_label": h.label,
            "not_assessable_reason": h.reason or None,
            "headline": _headline_text(h),
            "dicom_meta": {str(k): None if v is None else str(v) for k, v in (scan.dicom_meta or {}).items()},
        }

    def drf_representation(self, scan):
        """DRF's own output, for the test that holds to_representation equal to it."""
        return super().to_representation(scan)


def _headline_text(h) -> str:
    """The result in words, as the pages headline it: the detail only while nobody has reviewed it."""
    return f"{h.title} ({h.detail})" if h.detail and not h.reviewed else h.title


class ReviewSerializer(serializers.ModelSerializer):
    reviewer = serializers.CharField(source="reviewer.get_username")
    label = serializers.CharField(help_text="The class the reviewer stands by; empty when not assessable.")
    corrected_label = serializers.CharField(help_text="The corrected class key; empty unless corrected.")
    reason = serializers.CharField(help_text="Not assessable only: wrong_modality, poor_quality, not_brain or "
                                             "other; else empty.")

    class Meta:
        model = Review
        fields = ["id", "scan", "prediction", "reviewer", "status", "corrected_label", "reason", "label", "comment",
                  "current", "created"]


class UploadResultSerializer(ScanSerializer):
    duplicate = serializers.BooleanField(help_text="True: this file was already uploaded; that scan is returned.")

    class Meta(ScanSerializer.Meta):
        fields = [*ScanSerializer.Meta.fields, "duplicate"]

    def to_representation(self, scan):
        return {**super().to_representation(scan), "duplicate": bool(scan.duplicate)}


class UploadSerializer(serializers.Serializer):
    image = serializers.FileField(allow_empty_file=True, help_text="A JPEG or PNG MRI slice.")
    patient_ref = serializers.CharField(required=False, allow_blank=True, default="",
                                        max_length=Scan._meta.get_field("patient_ref").max_length)
    note = serializers.CharField(required=False, allow_blank=True, default="",
                                 max_length=Scan._meta.get_field("note").max_length)

    def validate_patient_ref(self, value: str) -> str:
        try:
            return clean_reference(value)
        except ScanRejected as exc:
            raise serializers.ValidationError(exc.message, code=exc.code) from None


class ClassSerializer(serializers.Serializer):
    key = serializers.ChoiceField(choices=CLASSES)
    name = serializers.CharField()

    @staticmethod
    def all() -> list[dict]:
        return [{"key": c, "name": DISPLAY_NAMES[c]} for c in CLASSES]


class TokenSerializer(serializers.ModelSerializer):
    name = StrictCharField(max_length=100, required=False, allow_blank=True)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created", "last_used", "expires"]
        read_only_fields = ["id", "prefix", "created", "last_used", "expires"]


class NewTokenSerializer(TokenSerializer):
    token = serializers.CharField(help_text="The key itself. Shown only this once.")

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "token"]


class CredentialsSerializer(serializers.Serializer):
    username = StrictCharField(max_length=150)
    password = StrictCharField(max_length=4096, trim_whitespace=False)
    name = StrictCharField(max_length=100, required=False, allow_blank=True,
                           help_text="The token to (re)issue; signing in again with the same name replaces "
                                     "its key. Default: 'Obtained with a password'.")


class KeySerializer(serializers.Serializer):
    token = serializers.CharField()
