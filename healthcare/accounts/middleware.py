from django.http import HttpResponse, JsonResponse

from healthcare.accounts.ratelimits import limit_response_headers


class RateLimitMiddleware:
    """Pages (the sign-in form): a rate limit answers 429 (or 503 when its store is down), not 403."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        answer = limit_response_headers(exception)
        if answer is None:
            return None
        status, headers, message = answer
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": message}, status=status)
        else:
            response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
        for name, value in headers.items():
            response[name] = value
        return response


class ApiPagesCspMiddleware:
    """The browsable API and Swagger UI (HTML under /api/) style elements inline: allow inline styles there.

    Scripts stay 'self' only everywhere; the staff pages and the admin need no inline style.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith("/api/") and response.get("Content-Type", "").startswith("text/html"):
            response._csp_update = {"style-src": ["'unsafe-inline'"]}
        return response
