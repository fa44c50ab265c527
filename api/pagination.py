import re

from django.conf import settings
from rest_framework.pagination import PageNumberPagination

from api.errors import ApiError


class Pagination(PageNumberPagination):
    """Like the history page: `page`, plus `page_size`; a page size out of range is a 400, not ignored."""

    page_size_query_param = "page_size"

    @property
    def page_size(self) -> int:
        return settings.API_PAGE_SIZE

    @property
    def max_page_size(self) -> int:
        return settings.API_MAX_PAGE_SIZE

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not re.fullmatch(r"[0-9]{1,6}", raw) or not 1 <= int(raw) <= self.max_page_size:
            raise ApiError(400, "invalid", f"page_size must be a whole number from 1 to {self.max_page_size}.",
                           self.page_size_query_param)
        return int(raw)

    def get_paginated_response_schema(self, schema):
        body = super().get_paginated_response_schema(schema)
        body["required"] = ["count", "next", "previous", "results"]
        return body
