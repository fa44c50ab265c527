from django.contrib import admin

from api.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """See and revoke (delete) tokens; keys are created where they can be shown once (page, manage.py)."""

    list_display = ["name", "user", "prefix", "created", "last_used"]
    search_fields = ["name", "user__username", "prefix"]
    readonly_fields = ["user", "name", "prefix", "created", "last_used"]
    exclude = ["key_hash"]
    list_select_related = ["user"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
