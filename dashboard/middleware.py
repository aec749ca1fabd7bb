"""The site's own pages for refused and missing pages, whatever the settings."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

# Paths that answer in their own way: the API (JSON), the admin, files, sockets, probes.
OWN_ANSWERS = ("/api/", "/admin/", "/static/", "/ws/", "/metrics", "/health")


class RefusalPagesMiddleware:
    """A staff page answered 403 or 404 (by Django, a view, or DEBUG's technical page) gets the
    site's own page with its navigation instead, so a nurse who follows a wrong link is never
    shown the URLconf or a bare line of text."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        status = response.status_code
        if status not in (403, 404) or getattr(response, "site_page", False) or request.path.startswith(OWN_ANSWERS):
            return response
        page = render(request, f"{status}.html", status=status)
        page.site_page = True
        return page
