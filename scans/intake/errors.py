"""How a submission ends without a scan, and the one HTTP status each ending gets.

`ScanRejected` is a file the user must fix (its `code` is stable: the API returns it; its `message`
is written for people); `InferenceFailed` is the model failing on a file it accepted. Pages and the
API answer both through `http_status`, so the same file gets the same status wherever it is sent.
"""

from __future__ import annotations


class ScanRejected(Exception):
    """An upload the user must fix; `code` is stable for the API, `message` is for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class InferenceFailed(Exception):
    """The model could not produce a result; nothing was stored."""

    code = "inference_failed"


class HeatmapUnavailable(InferenceFailed):
    """A stored prediction's heat map cannot be drawn: the model version that made it is not kept."""

    code = "heatmap_unavailable"


#  What the file is: 415. Its size (a file, the pixels it declares, an archive, the request): 413.
#  The model failing: 503; a heat map whose model is not kept: 404. Anything else the caller must fix: 400.
UNSUPPORTED = frozenset({"unsupported_format", "not_an_image"})
TOO_LARGE = frozenset({"file_too_large", "image_too_large", "archive_too_large", "request_too_large"})


def http_status(code: str) -> int:
    if code in TOO_LARGE:
        return 413
    if code in UNSUPPORTED:
        return 415
    if code == InferenceFailed.code:
        return 503
    if code == HeatmapUnavailable.code:
        return 404
    return 400
