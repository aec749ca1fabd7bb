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
