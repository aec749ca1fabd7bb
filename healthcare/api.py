"""The API's front door: the index at /api/v1/ and JSON for every error under /api/.

DRF answers its own errors in JSON. What reaches a client from outside DRF (the URL resolver's
404, Django's 405 and 500 pages, in DEBUG its technical pages) is turned into the same
{"detail": ...} shape here, so an integrator's client never has to parse HTML.
"""

from collections import defaultdict
from functools import cache

from django.http import HttpRequest, HttpResponse, JsonResponse
from drf_spectacular.generators import EndpointEnumerator
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

API_PREFIX = "/api/"
VERSION_PREFIX = "/api/v1/"

ERROR_DETAILS = {
    404: "Not found: no API endpoint at {path}. The index of endpoints is /api/v1/.",
    405: "Method {method} is not allowed on {path}.",
    500: "Server error. The X-Request-ID header names this request in the server's logs.",
}


@cache
def _endpoint_methods() -> dict[str, list[str]]:
    """Methods by path of every /api/v1/ endpoint; enumerated once per process (the URLs are fixed)."""
    methods: dict[str, list[str]] = defaultdict(list)
    for path, _, method, _ in EndpointEnumerator().get_api_endpoints():
        if path.startswith(VERSION_PREFIX) and path != VERSION_PREFIX:
            methods[path].append(method)
    return dict(methods)


class ApiRootView(APIView):
    """Every endpoint of the API, by area, with its methods. Sign in with POST /api/v1/auth/token/,
    then send `Authorization: Bearer <access>`. The OpenAPI schema is at /api/schema/ and its
    documentation at /api/docs/."""

    permission_classes = [AllowAny]

    @extend_schema(exclude=True)
    def get(self, request):
        methods = _endpoint_methods()
        areas: dict[str, list[dict]] = defaultdict(list)
        for path in sorted(methods):
            area = path[len(VERSION_PREFIX) :].split("/")[0]
            areas[area].append({"path": path, "methods": sorted(methods[path])})
        return Response(
            {
                "schema": reverse("schema", request=request),
                "docs": reverse("api-docs", request=request),
                "endpoints": dict(areas),
            }
        )


class ApiErrorsMiddleware:
    """An error under /api/ that did not come from DRF becomes {"detail": ...} JSON with its status."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path.startswith(API_PREFIX)
            or isinstance(response, Response)
            or response.get("Content-Type", "").startswith("application/")
        ):
            return response
        template = ERROR_DETAILS.get(response.status_code, "{reason}.")
        detail = template.format(path=request.path, method=request.method, reason=response.reason_phrase)
        answer = JsonResponse({"detail": detail}, status=response.status_code)
        for header in ("Allow", "Retry-After", "X-Request-ID"):
            if header in response:
                answer[header] = response[header]
        return answer
