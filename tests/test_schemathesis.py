"""The API against its own OpenAPI schema (schemathesis, seeded and bounded for CI), over HTTP to the
live ASGI server on the test database.

With a valid token: no operation answers 5xx, and every answer it documents matches the schema.
Without one: every operation except signing in and the health probes refuses (401/403).
"""

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

# Signing in, and the probes a load balancer calls without credentials.
PUBLIC = {"/api/v1/auth/token/", "/api/v1/auth/token/refresh/", "/api/v1/health/", "/api/v1/status/"}
BOUNDED = settings(
    max_examples=4,
    derandomize=True,  # a fixed seed: the same cases on every run
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)


def each_operation(base: str, check) -> list[str]:
    """Run `check(case)` on bounded generated cases of every operation; returns the failures."""
    schema = schemathesis.openapi.from_url(f"{base}/api/schema/")
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @BOUNDED
        def run(case):
            check(case)

        try:
            run()
        except Exception as exc:  # noqa: BLE001 - collected, every operation is tried
            failures.append(f"{operation.label}: {str(exc)[:400]}")
    return failures


def test_with_a_token_no_operation_fails_or_leaves_its_schema(asgi_server, ed, integrator):
    token = requests.post(
        f"{asgi_server}/api/v1/auth/token/", json={"username": "integrator", "password": PASSWORD}, timeout=30
    ).json()["access"]

    def check(case):
        case.call_and_validate(
            base_url=asgi_server,
            headers={"Authorization": f"Bearer {token}"},
            checks=[not_a_server_error, response_schema_conformance],
        )

    failures = each_operation(asgi_server, check)
    assert failures == [], "\n".join(failures)


def test_without_a_token_every_operation_but_sign_in_refuses(asgi_server):
    def check(case):
        response = case.call(base_url=asgi_server, headers={"Authorization": "Bearer not-a-token"})
        if case.path in PUBLIC:
            assert response.status_code < 500, response.status_code
        else:
            assert response.status_code in (401, 403), f"{case.method} {case.formatted_path}: {response.status_code}"

    failures = each_operation(asgi_server, check)
    assert failures == [], "\n".join(failures)
