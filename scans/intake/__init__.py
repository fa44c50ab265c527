"""Intake: bytes from an upload -> a checked image, or the refusal and its one HTTP status (errors)."""
