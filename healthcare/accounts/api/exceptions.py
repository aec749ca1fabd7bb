from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework.response import Response
from rest_framework.views import exception_handler

from healthcare.accounts.ratelimits import limit_response_headers


def api_exception_handler(exc, context):
    """DRF's handler, with rate limits answered 429 + Retry-After (503 when the limit store is down),
    and an oversized body 413 in JSON (Django would answer its 400 page)."""
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response(
            {"detail": f"The request body is larger than {limit:,} bytes; send smaller batches."}, status=413
        )
    answer = limit_response_headers(exc)
    if answer is not None:
        status, headers, message = answer
        return Response({"detail": message}, status=status, headers=headers)
    return exception_handler(exc, context)
