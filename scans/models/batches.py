"""Batches: many files uploaded at once, one item per file, classified by scans.batches (tasks and work)."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class BatchJob(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="batches")
    created = models.DateTimeField(default=timezone.now)
    #  Set once, when the last item is done or failed.
    finished = models.DateTimeField(null=True, blank=True)
    name = models.CharField(max_length=255, blank=True, help_text="The archive's name, or how many files.")
    source = models.CharField(max_length=8, default="page", help_text="page or api")

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["owner", "-created"], name="batch_owner_created")]

    def __str__(self) -> str:
        return f"Batch {self.pk} ({self.name})"


class BatchItem(models.Model):
    PENDING, DONE, FAILED, SKIPPED = "pending", "done", "failed", "skipped"
    STATUS_CHOICES = [(s, s) for s in (PENDING, DONE, FAILED, SKIPPED)]

    batch = models.ForeignKey(BatchJob, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    name = models.CharField(max_length=255)
    status = models.CharField(max_length=8, choices=STATUS_CHOICES, default=PENDING)
    #  Where the raw bytes wait for a worker (the staging storage); emptied once the item is settled.
    staged = models.CharField(max_length=200, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.CharField(max_length=255, blank=True)
    #  The scan this file gave, or the one the same file gave before (duplicate).
    scan = models.ForeignKey("scans.Scan", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    duplicate = models.BooleanField(default=False)
    settled = models.DateTimeField(null=True, blank=True)
    #  Recovery (scans.batches.tasks.sweep): how many times a process began to settle the item (one
    #  killed each time, e.g. for memory, gives up after BATCH_MAX_ATTEMPTS instead of looping), and
    #  before when the periodic sweep leaves a pending item to the work already sent for it.
    attempts = models.PositiveSmallIntegerField(default=0)
    retry_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["batch", "position"], name="batch_item_position")]
        indexes = [models.Index(fields=["batch", "status"], name="batch_item_status")]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"
