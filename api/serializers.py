from django.urls import reverse
from rest_framework import serializers

from api.models import ApiToken
from ml.infer import CLASSES, DISPLAY_NAMES
from scans.models import LABEL_CHOICES, Prediction, Review, Scan


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


class PredictionSerializer(serializers.ModelSerializer):
    scan = serializers.IntegerField(source="scan_id", read_only=True)
    label = serializers.ChoiceField(choices=LABEL_CHOICES)
    label_display = serializers.CharField(source="get_label_display")
    probabilities = ProbabilitiesSerializer()

    class Meta:
        model = Prediction
        fields = ["id", "scan", "label", "label_display", "confidence", "probabilities", "out_of_scope",
                  "out_of_scope_reason", "model_version", "inference_ms", "created"]


class ScanSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.get_username")
    image_url = serializers.SerializerMethodField()
    heatmap_url = serializers.SerializerMethodField()
    report_url = serializers.SerializerMethodField()
    prediction = PredictionSerializer()
    review_status = serializers.SerializerMethodField()
    dicom_meta = serializers.DictField(child=serializers.CharField(), read_only=True,
                                       help_text="DICOM only: the technical attributes kept after de-identification.")

    class Meta:
        model = Scan
        fields = ["id", "created", "owner", "original_name", "format", "width", "height", "size_bytes",
                  "patient_ref", "note", "image_url", "heatmap_url", "report_url", "prediction", "review_status",
                  "dicom_meta"]

    def _url(self, name: str, scan: Scan) -> str:
        return self.context["request"].build_absolute_uri(reverse(name, args=[scan.pk]))

    def get_image_url(self, scan: Scan) -> str:
        return self._url("api:scan-image", scan)

    def get_heatmap_url(self, scan: Scan) -> str:
        return self._url("api:scan-heatmap", scan)

    def get_report_url(self, scan: Scan) -> str:
        return self._url("api:scan-report", scan)

    def get_review_status(self, scan: Scan) -> str:
        """unreviewed, confirmed or corrected (the scan's current review)."""
        annotated = getattr(scan, "review_status", None)
        if annotated:
            return annotated
        current = scan.reviews.filter(current=True).values_list("status", flat=True).first()
        return current or Review.UNREVIEWED


class ReviewSerializer(serializers.ModelSerializer):
    reviewer = serializers.CharField(source="reviewer.get_username")
    label = serializers.ChoiceField(choices=LABEL_CHOICES, help_text="The class the reviewer stands by.")
    corrected_label = serializers.CharField(help_text="The corrected class key; empty when confirmed.")

    class Meta:
        model = Review
        fields = ["id", "scan", "prediction", "reviewer", "status", "corrected_label", "label", "comment",
                  "current", "created"]


class UploadResultSerializer(ScanSerializer):
    duplicate = serializers.BooleanField(help_text="True: this file was already uploaded; that scan is returned.")

    class Meta(ScanSerializer.Meta):
        fields = [*ScanSerializer.Meta.fields, "duplicate"]


class UploadSerializer(serializers.Serializer):
    image = serializers.FileField(allow_empty_file=True, help_text="A JPEG or PNG MRI slice.")
    patient_ref = serializers.CharField(required=False, allow_blank=True, default="",
                                        max_length=Scan._meta.get_field("patient_ref").max_length)
    note = serializers.CharField(required=False, allow_blank=True, default="",
                                 max_length=Scan._meta.get_field("note").max_length)


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
