"""Without a valid token every operation except signing in and the health probes refuses (401/403):
schemathesis' cases, seeded and bounded, over HTTP to the live ASGI server on the test database.
(tests/test_fuzzer.py runs the fuzzer's command line with a token of each role.)
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

pytestmark = pytest.mark.django_db(transaction=True)

# Signing in, the probes a load balancer calls without credentials, and the FHIR CapabilityStatement
# (a FHIR client reads it before it has a token).
PUBLIC = {
    "/api/v1/auth/token/",
    "/api/v1/auth/token/refresh/",
    "/api/v1/health/",
    "/api/v1/status/",
    "/api/v1/fhir/metadata/",
}
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


def test_without_a_token_every_operation_but_sign_in_refuses(asgi_server):
    def check(case):
        response = case.call(base_url=asgi_server, headers={"Authorization": "Bearer not-a-token"})
        if case.path in PUBLIC:
            assert response.status_code < 500, response.status_code
        else:
            assert response.status_code in (401, 403), f"{case.method} {case.formatted_path}: {response.status_code}"

    failures = each_operation(asgi_server, check)
    assert failures == [], "\n".join(failures)
