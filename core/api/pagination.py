from typing import Any

from rest_framework import pagination

from core.api.fields import ascii_integer
from core.errors import ValidationFailed


class PageNumberPagination(pagination.PageNumberPagination):
    """DRF's page-number envelope; `?page_size=` up to 200.

    `?page=` and `?page_size=` are integers of ASCII digits or a 400 naming them (DRF would
    ignore a bad page size and answer 404 to a bad page, and takes '٣' through `int()`)."""

    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request: Any) -> int | None:
        raw = request.query_params.get(self.page_size_query_param)
        if not raw:
            return self.page_size
        size = ascii_integer(raw, field=self.page_size_query_param)
        if size < 1:
            raise ValidationFailed(
                "Ensure this value is greater than or equal to 1.",
                field=self.page_size_query_param,
            )
        return min(size, self.max_page_size)

    def get_page_number(self, request: Any, paginator: Any) -> Any:
        raw = request.query_params.get(self.page_query_param)
        if not raw:
            return 1
        if raw in self.last_page_strings:
            return paginator.num_pages
        return ascii_integer(raw, field=self.page_query_param)
