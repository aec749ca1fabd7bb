from hashlib import blake2b

from django.core.paginator import Paginator
from django.utils.functional import cached_property
from rest_framework.pagination import PageNumberPagination

from healthcare.encounters.selectors import encounters_generation

# Counting a department's encounters (90,000 rows in the demo ED) took longer than reading the page.
CACHED_COUNT_MIN_ROWS = 10_000
CACHED_COUNT_TTL = 300


class StandardPagination(PageNumberPagination):
    """?page=N&page_size=M; 100 per page by default, never more than 1000 (a week of hours is 168)."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class EncounterCountPaginator(Paginator):
    """A Paginator that keeps counts of CACHED_COUNT_MIN_ROWS or more until an encounter is written.

    The key is the count's SQL and parameters (the user's departments and filters included), stored
    under encounters_generation, which every write of encounters replaces. Smaller counts are always
    counted: they are cheap.
    """

    @cached_property
    def count(self) -> int:
        sql, params = self.object_list.query.sql_with_params()
        digest = blake2b(repr((sql, params)).encode(), digest_size=16).hexdigest()
        key = f"encounters:count:{digest}"
        token, cached = encounters_generation.read(key)
        if cached is not None:
            return cached
        count = self.object_list.count()
        if count >= CACHED_COUNT_MIN_ROWS:
            encounters_generation.store(key, token, count, timeout=CACHED_COUNT_TTL)
        return count


class EncounterPagination(StandardPagination):
    django_paginator_class = EncounterCountPaginator
