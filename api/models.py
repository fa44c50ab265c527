from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiToken(models.Model):
    """An API key for one user. Only its SHA-256 is stored; the key itself is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    #  The key's first characters, so that a user can tell their tokens apart.
    prefix = models.CharField(max_length=12)
    created = models.DateTimeField(default=timezone.now)
    last_used = models.DateTimeField(null=True, blank=True)
    #  None: never expires (API_TOKEN_DAYS=0 when it was made).
    expires = models.DateTimeField(null=True, blank=True)
    #  A fingerprint of the owner's password hash when the token was made: a password changed by any
    #  path (page, admin, reset, manage.py, shell) changes the hash, and the token stops working.
    password_mark = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
