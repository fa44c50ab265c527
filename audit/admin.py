from django.contrib import admin

from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail can be searched here but nobody, superusers included, can change it."""

    list_display = ["created", "username", "action", "object_type", "object_id", "ip_address", "detail"]
    list_filter = ["action", "object_type", "created"]
    search_fields = ["username", "object_id", "detail", "ip_address"]
    date_hierarchy = "created"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
