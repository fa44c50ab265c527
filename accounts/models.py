from django.db import models


class ThrottleWindow(models.Model):
    """How many calls one caller made in one window of one API throttle (accounts.throttling).

    A row in the database, counted up with one atomic INSERT ... ON CONFLICT, so every process shares the count
    and two calls at the same instant cannot both read the old one."""

    key = models.CharField(max_length=255, primary_key=True)  # scope:who:window start
    count = models.PositiveIntegerField(default=0)
    expires = models.DateTimeField(db_index=True)
