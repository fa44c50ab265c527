from django.contrib import admin

from scans.models import BatchItem, BatchJob, Prediction, Scan


class PredictionInline(admin.StackedInline):
    model = Prediction
    can_delete = False
    readonly_fields = [f.name for f in Prediction._meta.fields]
    extra = 0


@admin.register(Scan)
class ScanAdmin(admin.ModelAdmin):
    list_display = ["id", "original_name", "owner", "created", "label", "confidence"]
    list_filter = ["prediction__label", "prediction__out_of_scope", "created"]
    search_fields = ["original_name", "patient_ref", "owner__username"]
    date_hierarchy = "created"
    readonly_fields = ["owner", "created", "image", "sha256", "format", "width", "height", "size_bytes"]
    inlines = [PredictionInline]
    list_select_related = ["prediction", "owner"]

    def has_add_permission(self, request) -> bool:
        return False  # a scan comes from an upload (the model runs on it), never from a blank form

    @admin.display(ordering="prediction__label")
    def label(self, scan: Scan) -> str:
        return scan.prediction.get_label_display()

    @admin.display(ordering="prediction__confidence")
    def confidence(self, scan: Scan) -> str:
        return f"{scan.prediction.confidence:.1%}"


class BatchItemInline(admin.TabularInline):
    model = BatchItem
    can_delete = False
    readonly_fields = ["position", "name", "status", "error_code", "error_message", "scan", "duplicate", "settled"]
    exclude = ["staged"]
    extra = 0


@admin.register(BatchJob)
class BatchJobAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "owner", "source", "created", "finished"]
    list_filter = ["source", "created"]
    search_fields = ["name", "owner__username"]
    readonly_fields = ["owner", "created", "finished", "name", "source"]
    inlines = [BatchItemInline]

    def has_add_permission(self, request) -> bool:
        return False  # a batch comes from its upload page or the API, with its files

