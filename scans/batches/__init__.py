"""Batches: many files in one upload. services (create) -> tasks (send) -> work (settle), with state."""
