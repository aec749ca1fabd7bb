from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    """?page=N&page_size=M; 100 per page by default, never more than 1000 (a week of hours is 168)."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
