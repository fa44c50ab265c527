"""Loaded by the schemathesis CLI (SCHEMATHESIS_HOOKS) in tests/api/test_schemathesis.py.

STOW-RS (POST /dicomweb/studies) takes `multipart/related`, for which schemathesis has no serializer:
its generated bodies are sent as the raw bytes they are, as for application/octet-stream, so the
endpoint is fuzzed with bodies it must refuse with a documented answer."""

import schemathesis

schemathesis.serializer.alias("multipart/related", "application/octet-stream")
