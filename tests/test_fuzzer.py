"""The external API fuzzer finds nothing: the schemathesis command line, every phase (examples,
coverage, fuzzing, stateful), every check (the default; schemathesis.toml turns one off for the
ingestion endpoints and says why), a fixed seed and 50 examples per operation, against the live
ASGI server on the test database, with a token of each role in turn.

Nothing found means: no server error, no response outside its schema, no status code the schema
does not document, no schema-valid request refused and no invalid one accepted.
"""

import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from rest_framework_simplejwt.tokens import AccessToken

pytestmark = pytest.mark.django_db(transaction=True)

REPO = Path(__file__).resolve().parent.parent
SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
SEED = 2026
EXAMPLES = 50


def _fuzz(base: str, username: str) -> subprocess.CompletedProcess:
    # Issued here, not through /auth/token/: the previous role's run has used up this address's
    # sign-in tries in the server's rate-limit window.
    token = str(AccessToken.for_user(get_user_model().objects.get(username=username)))
    return subprocess.run(
        [
            SCHEMATHESIS,
            "run",
            f"{base}/api/schema/",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--max-examples",
            str(EXAMPLES),
            "--seed",
            str(SEED),
            "--header",
            f"Authorization: Bearer {token}",
            "--generation-database",
            "none",
            "--no-color",
        ],
        cwd=REPO,  # schemathesis.toml
        capture_output=True,
        text=True,
        timeout=900,
    )


# Staff first and the admin last: the admin's stateful sequences create, change and delete departments.
@pytest.mark.parametrize("username", ["ed_staff", "integrator", "admin"])
def test_the_fuzzer_finds_nothing_with_a_token_of_each_role(
    asgi_server, ed_history, icu, ed_staff, integrator, hospital_admin, username
):
    result = _fuzz(asgi_server, username)
    report = result.stdout[result.stdout.find("FAILURES") :] if "FAILURES" in result.stdout else result.stdout
    assert result.returncode == 0, report[-12000:] + result.stderr[-2000:]
