"""API list pagination: DRF's limit/offset with bounds, so a huge ``limit`` cannot reach the database.

Found by the robustness suite's fuzzer: ``?limit=42208635782142992384`` overflowed the database's
integer (a 500 on SQLite and PostgreSQL). ``limit`` is capped; an offset past the end is an empty page.
"""

from rest_framework.pagination import LimitOffsetPagination

MAX_OFFSET = 2**31 - 1


class Pagination(LimitOffsetPagination):
    max_limit = 1000

    def get_offset(self, request):
        return min(super().get_offset(request), MAX_OFFSET)
