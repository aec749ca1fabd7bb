from hashlib import blake2b

from django.core.paginator import Paginator
from django.utils.functional import cached_property
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination

from healthcare.encounters.selectors import department_scope, encounters_generation
from healthcare.private_pieces import private_piece_enabled

# Counting a department's encounters (90,000 rows in the demo ED) takes longer than reading the page
# (docs/performance.md).
CACHED_COUNT_MIN_ROWS = 10_000
CACHED_COUNT_TTL = 300


class StandardPagination(PageNumberPagination):
    """?page=N&page_size=M; 100 per page by default, never more than 1000 (a week of hours is 168)."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_number(self, request, paginator):
        """The page asked for; one that is not a whole number (empty, 'last') is a 400, as the schema says."""
        given = request.query_params.get(self.page_query_param)
        if given is not None:
            try:
                int(given)
            except ValueError:
                raise ValidationError({self.page_query_param: ["a whole page number"]}) from None
        return super().get_page_number(request, paginator)

    def get_page_size(self, request):
        """The page size asked for (at most max_page_size); a page_size that is not a whole number is a 400."""
        given = request.query_params.get(self.page_size_query_param)
        if given is not None:
            try:
                int(given)
            except ValueError:
                raise ValidationError({self.page_size_query_param: ["a whole number of rows per page"]}) from None
        return super().get_page_size(request)


class EncounterCountPaginator(Paginator):
    """A Paginator that keeps counts of CACHED_COUNT_MIN_ROWS or more until an encounter is written.

    count_key names the rows counted; the count is stored under it and encounters_generation, which
    every write of encounters replaces. Smaller counts are always counted: they are cheap.
    """

    def __init__(self, object_list, per_page, *, count_key: str, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.count_key = count_key

    @cached_property
    def count(self) -> int:
        token, cached = encounters_generation.read(self.count_key)
        if cached is not None:
            return cached
        count = self.object_list.count()
        if count >= CACHED_COUNT_MIN_ROWS:
            encounters_generation.store(self.count_key, token, count, timeout=CACHED_COUNT_TTL)
        return count


class EncounterPagination(StandardPagination):
    """StandardPagination for lists that the user's department scope and the view's declared filters
    determine (the encounters): their large counts are kept under a key made of those two.

    The scope's key (selectors.department_scope) and the filters' values name the rows counted, and
    cost nothing to make, where the count query's SQL would have to be compiled for the key.
    """

    count_key = ""

    def paginate_queryset(self, queryset, request, view=None):
        names = view.filterset_class.base_filters if view is not None else ()
        filters = sorted((name, request.query_params.getlist(name)) for name in names if name in request.query_params)
        scope = department_scope(request.user).key
        what = (type(view).__qualname__, scope, filters)
        self.count_key = f"encounters:count:{blake2b(repr(what).encode(), digest_size=16).hexdigest()}"
        return super().paginate_queryset(queryset, request, view)

    def django_paginator_class(self, object_list, per_page):
        if not private_piece_enabled("count-cache"):
            return Paginator(object_list, per_page)
        # DRF calls self.django_paginator_class(queryset, page_size): as a method it passes this request's key.
        return EncounterCountPaginator(object_list, per_page, count_key=self.count_key)
