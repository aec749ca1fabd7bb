from rest_framework.response import Response
from rest_framework.views import exception_handler

from healthcare.accounts.ratelimits import limit_response_headers


def api_exception_handler(exc, context):
    """DRF's handler, with rate limits answered 429 + Retry-After (503 when the limit store is down)."""
    answer = limit_response_headers(exc)
    if answer is not None:
        status, headers, message = answer
        return Response({"detail": message}, status=status, headers=headers)
    return exception_handler(exc, context)
