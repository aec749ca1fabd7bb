"""The OpenAPI schema states every error an operation can answer, not only its success.

drf-spectacular documents what a view returns when all goes well. Each error added here
follows from what the operation is, which the view or its decorators say:

- 400: it reads a body or query parameters (field errors, `{"field": ["why"]}`);
- 401: always (a missing, expired or invalid token; a wrong password on sign-in);
- 403: it needs a signed-in user with a permission;
- 404: a path parameter names an object, or a query parameter or the body a page or department;
- 413, 415: it reads a body (too large; not JSON);
- 429, 503: it is rate-limited (over the limit; the limit's store down, for limits that fail closed).

A view names the others it answers (409 for a conflict, 403 from a check of its own) in
`error_statuses`, by method: `error_statuses = {"DELETE": [409]}`.
"""

from django.core.validators import RegexValidator
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

ERRORS = {
    400: "Invalid input, named by field; nothing was stored.",
    401: "No credentials, or an expired or invalid token (or, signing in, a wrong password).",
    403: "Your role may not do this.",
    404: "No such object (or page), or one of a department you are not a member of.",
    409: "The request conflicts with what is stored or recorded; the detail says what.",
    413: "The body is larger than the server accepts.",
    415: "The body is not in a media type the operation reads.",
    429: "Over a rate limit; Retry-After says when to try again.",
    503: "The rate limit's store is down and this limit refuses rather than lets through.",
}


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in a sentence.")


# {"field": ["why", ...]}, nested as the input is (a batch names the index of the bad row).
FIELD_ERRORS = {"type": "object", "additionalProperties": {}, "description": "Messages by field."}


def rate_limit_of(view, method: str):
    """The rate limit on the view's handler for `method` (set by healthcare.accounts.ratelimits), or None."""
    action = getattr(view, "action", None)
    handler = getattr(view, action or method.lower(), None)
    return getattr(handler, "rate_limit", None)


# Text DRF accepts: no NUL (PostgreSQL cannot store one) and, unless blank is allowed, something
# besides spaces (DRF trims them before it checks for blank).
TEXT = "^[^\\u0000]*$"
NON_BLANK_TEXT = "^[^\\u0000]*\\S[^\\u0000]*$"


class ProductAutoSchema(AutoSchema):
    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        plain_text = (
            schema.get("type") == "string"
            and not ({"pattern", "format", "enum"} & schema.keys())
            # A field's own pattern is inserted after this; it states the text it takes more exactly.
            and not any(isinstance(v, RegexValidator) for v in getattr(field, "validators", ()))
        )
        if direction == "request" and isinstance(field, serializers.CharField) and plain_text:
            schema["pattern"] = TEXT if field.allow_blank else NON_BLANK_TEXT
        return schema

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        if "requestBody" in operation and self.method in ("POST", "PUT"):
            operation["requestBody"]["required"] = True  # every body the API reads is needed to act
        responses = operation.setdefault("responses", {})
        for code in self._error_codes(operation):
            if str(code) not in responses:
                schema = FIELD_ERRORS if code == 400 else self.resolve_serializer(ErrorSerializer, "response").ref
                content = {"application/json": {"schema": schema}}
                responses[str(code)] = {"description": ERRORS[code], "content": content}
        return operation

    def _error_codes(self, operation: dict) -> list[int]:
        parameters = operation.get("parameters", [])
        queried = any(parameter["in"] == "query" for parameter in parameters)
        addressed = any(parameter["in"] == "path" for parameter in parameters)
        body = "requestBody" in operation
        public = any(requirement == {} for requirement in operation.get("security", [{}]))
        limit = rate_limit_of(self.view, self.method)
        codes = [401]
        if body or queried:
            codes.append(400)
        if not public:
            codes.append(403)
        if addressed or queried or body:
            codes.append(404)
        if body:
            codes += [413, 415]
        if limit is not None:
            codes.append(429)
            if not limit.fail_open:
                codes.append(503)
        codes += getattr(self.view, "error_statuses", {}).get(self.method, [])
        return sorted(set(codes))


# DRF refuses text with a NUL character in it (PostgreSQL cannot store one); the schema says so.
WITHOUT_NUL = "^[^\\u0000]*$"


def text_without_nul(result, generator, request, public):
    """drf-spectacular postprocessing hook: no free-text string a request sends (in its body, query or
    path) may hold NUL."""

    def visit(node):
        if isinstance(node, dict):
            free_text = node.get("type") == "string" and not ({"pattern", "format", "enum", "readOnly"} & node.keys())
            if free_text:
                node["pattern"] = WITHOUT_NUL
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):
            visit(component)
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                visit(parameter.get("schema"))
    return result
