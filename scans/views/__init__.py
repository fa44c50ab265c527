"""The HTML pages of the clinical core (batch pages live in scans.batches.views)."""
