"""API list pagination: DRF's limit/offset with bounds, so a huge ``limit`` cannot reach the database.

Found by the robustness suite's fuzzer: ``?limit=42208635782142992384`` overflowed the database's
integer (a 500 on SQLite and PostgreSQL). ``limit`` is capped; an offset past the end is an empty page.

Web lists and API lists read a page's keys before its rows (:func:`page_rows`); a first page shorter
than the page size is its own count (:func:`first_page`).
"""

from django.core.paginator import Paginator as DjangoPaginator
from django.db.models import QuerySet
from rest_framework.pagination import LimitOffsetPagination

MAX_OFFSET = 2**31 - 1


def page_rows(queryset, start: int, stop: int) -> list:
    """Rows ``start``..``stop`` of ``queryset``: their keys first, then those rows by key.

    The key query reads only the ordering columns and the key, which an index in the list's
    order (e.g. ``registry_person_path_pinyin`` for people) answers index-only, page 20 as
    cheaply as page 1; the rows (with their joins) are then fetched for the page alone, instead
    of the planner sorting the scope's full rows to find them.
    """
    if stop <= start:
        return []
    if _plain(queryset):
        return list(queryset[start:stop])
    return _rows_by_key(queryset, list(queryset.values_list("pk", flat=True)[start:stop]))


def first_page(queryset, size: int) -> tuple[list, int | None]:
    """The first ``size`` rows, and the count of all rows when the first page holds them all.

    Reads one row more than the page: when fewer come back, that is the count, and the count
    query — for a search, a second pass over its matches — is not needed. ``None`` otherwise.
    """
    rows = page_rows(queryset, 0, size + 1)
    return rows[:size], (len(rows) if len(rows) <= size else None)


def _plain(queryset) -> bool:
    """DISTINCT or UNION: sliced as Django does (``filter()`` cannot follow a union)."""
    return not isinstance(queryset, QuerySet) or bool(queryset.query.distinct or queryset.query.combinator)


def _rows_by_key(queryset, keys: list) -> list:
    if not keys:
        return []
    rows = {row.pk: row for row in queryset.filter(pk__in=keys).order_by()}
    return [rows[key] for key in keys if key in rows]  # a row deleted in between is left out


class Paginator(DjangoPaginator):
    """Django's paginator, reading each page's rows with :func:`page_rows`."""

    def page(self, number):
        if number in (1, "1") and "count" not in self.__dict__ and not self.orphans:
            rows, count = first_page(self.object_list, self.per_page)
            if count is not None:
                self.__dict__["count"] = count  # Django's cached_property: no count query
            self.validate_number(number)
            return self._get_page(rows, 1, self)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        return self._get_page(page_rows(self.object_list, bottom, top), number, self)


class Pagination(LimitOffsetPagination):
    max_limit = 1000

    def get_offset(self, request):
        return min(super().get_offset(request), MAX_OFFSET)

    def paginate_queryset(self, queryset, request, view=None):
        # DRF's own, but for the last line: the page's rows through page_rows().
        self.request = request
        self.limit = self.get_limit(request)
        if self.limit is None:
            return None
        self.offset = self.get_offset(request)
        rows = None
        if self.offset == 0:  # the usual request: a short first page is its own count
            rows, count = first_page(queryset, self.limit)
            self.count = self.get_count(queryset) if count is None else count
        else:
            self.count = self.get_count(queryset)
        if self.count > self.limit and self.template is not None:
            self.display_page_controls = True
        if self.count == 0 or self.offset > self.count:
            return []
        return rows if rows is not None else page_rows(queryset, self.offset, self.offset + self.limit)
