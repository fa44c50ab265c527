"""Small helpers with no domain in them, shared by every app (healthchecks' and Zulip's `lib`)."""
