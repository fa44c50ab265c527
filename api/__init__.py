"""The REST API (DRF): /api/v1/ and the prototype's calls under /api/."""
