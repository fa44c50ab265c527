"""The audit trail: who did what to which object, when and from where. Rows are only ever added."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class AppendOnly(Exception):
    """Raised on any attempt to change or remove an audit entry."""


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnly("Audit entries cannot be changed.")

    def delete(self):
        raise AppendOnly("Audit entries cannot be deleted.")

    def bulk_update(self, *args, **kwargs):
        raise AppendOnly("Audit entries cannot be changed.")


class AuditEvent(models.Model):
    VIEWED, UPLOADED, DOWNLOADED, EXPORTED, REVIEWED, DELETED, CHANGED = (
        "viewed", "uploaded", "downloaded", "exported", "reviewed", "deleted", "changed")
    SENT, ASSIGNED = "sent", "assigned"  # results sent to a PACS; a study handed to a clinician
    ACTIONS = [(a, a) for a in (VIEWED, UPLOADED, DOWNLOADED, EXPORTED, REVIEWED, DELETED, CHANGED, SENT, ASSIGNED)]

    created = models.DateTimeField(default=timezone.now, db_index=True)
    #  No database foreign key: the entry must outlive the account, and deleting a user must not
    #  touch (or be blocked by) the trail. The name is copied for the same reason.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING,
                             db_constraint=False, related_name="+")
    username = models.CharField(max_length=150)
    action = models.CharField(max_length=16, choices=ACTIONS)
    object_type = models.CharField(max_length=32)
    object_id = models.CharField(max_length=64, blank=True)
    detail = models.CharField(max_length=255, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(fields=["action", "-created"], name="audit_action_created"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
            models.Index(fields=["username", "-created"], name="audit_user_created"),
        ]

    def __str__(self) -> str:
        return f"{self.created:%Y-%m-%d %H:%M} {self.username} {self.action} {self.object_type} {self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None or not self._state.adding:
            raise AppendOnly("Audit entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("Audit entries cannot be deleted.")
