from django.contrib import admin

from audit.models import AuditEvent
from audit.trail import record
from scans.models import BatchItem, BatchJob, Prediction, Scan
from scans.services import delete_scan

ADMIN_REASON = "deleted in the Django admin"


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
    #  The patient is fixed at upload (scans.patients): changing the reference here would part it from its Patient.
    readonly_fields = ["owner", "created", "image", "sha256", "format", "width", "height", "size_bytes", "patient",
                       "patient_ref"]
    inlines = [PredictionInline]
    list_select_related = ["prediction", "owner"]

    def has_add_permission(self, request) -> bool:
        return False  # a scan comes from an upload (the model runs on it), never from a blank form

    #  The admin is one more way to patient data: what it shows, changes and deletes is audited, and a
    #  delete goes through the same service as the page's (rows, then the image file).
    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            record(request.user, AuditEvent.VIEWED, object_type="scan", object_id=object_id, detail="admin")
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change:
            record(request.user, AuditEvent.CHANGED, obj, "admin: " + ", ".join(form.changed_data))

    #  The admin's confirmation page asks no reason: for a reviewed scan the entry says where it was deleted.
    def delete_model(self, request, obj):
        delete_scan(obj, by=request.user, reason=ADMIN_REASON if obj.reviews.exists() else "")

    def delete_queryset(self, request, queryset):
        for scan in queryset:
            delete_scan(scan, by=request.user, reason=ADMIN_REASON if scan.reviews.exists() else "")

    @admin.display(ordering="prediction__label")
    def label(self, scan: Scan) -> str:
        p = scan.prediction
        return p.get_label_display() if p.shows_class else "not assessed: out of scope"

    @admin.display(ordering="prediction__confidence")
    def confidence(self, scan: Scan) -> str:
        p = scan.prediction
        return f"{p.confidence:.1%}" if p.shows_class else "—"


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

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            record(request.user, AuditEvent.VIEWED, object_type="batchjob", object_id=object_id, detail="admin")
        return super().change_view(request, object_id, form_url, extra_context)
