"""The external API fuzzer finds nothing: the schemathesis command line, every phase (examples,
coverage, fuzzing, stateful), every check (the default; schemathesis.toml turns one off for the
ingestion endpoints and says why), a fixed seed and 50 examples per operation, against the live
ASGI server on the test database, with a token of each role: the staff's and the integrator's side
by side, each on a daphne server of its own, then the admin's alone.

Nothing found means: no server error, no response outside its schema, no status code the schema
does not document, no schema-valid request refused and no invalid one accepted.
"""

import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from rest_framework_simplejwt.tokens import AccessToken

from tests.servers import daphne_serving

pytestmark = pytest.mark.django_db(transaction=True)

REPO = Path(__file__).resolve().parent.parent
SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
SEED = 2026
EXAMPLES = 50


def _fuzz(base: str, username: str) -> subprocess.Popen:
    """The schemathesis command line against `base` with a token of `username`, started."""
    # Issued here, not through /auth/token/: the previous role's run has used up this address's
    # sign-in tries in the server's rate-limit window.
    token = str(AccessToken.for_user(get_user_model().objects.get(username=username)))
    return subprocess.Popen(
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
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _findings(run: subprocess.Popen) -> tuple[int, str]:
    """The run's exit code, and its report of failures (or its whole output when it found none)."""
    try:
        stdout, stderr = run.communicate(timeout=900)
    except subprocess.TimeoutExpired:
        run.kill()
        stdout, stderr = run.communicate()
    report = stdout[stdout.find("FAILURES") :] if "FAILURES" in stdout else stdout
    return run.returncode, report[-12000:] + stderr[-2000:]


@pytest.fixture(scope="module")
def second_asgi_server(django_db_setup, django_db_blocker):
    """A second daphne server on the same test database: each side-by-side run has one of its own,
    as the server, not the fuzzer, is what a run waits for."""
    with daphne_serving(django_db_blocker) as base:
        yield base


def test_the_fuzzer_finds_nothing_with_a_staff_or_an_integrator_token(
    asgi_server, second_asgi_server, ed_history, icu, ed_staff, integrator, hospital_admin
):
    # Side by side: neither role can change what the other may see but the ED's data itself.
    runs = {"ed_staff": _fuzz(asgi_server, "ed_staff"), "integrator": _fuzz(second_asgi_server, "integrator")}
    findings = {username: _findings(run) for username, run in runs.items()}  # both end before any assert
    for username, (code, report) in findings.items():
        assert code == 0, f"{username}: {report}"


def test_the_fuzzer_finds_nothing_with_an_admin_token(
    asgi_server, ed_history, icu, ed_staff, integrator, hospital_admin
):
    # Alone and after the others: the admin's stateful sequences create, change and delete departments.
    code, report = _findings(_fuzz(asgi_server, "admin"))
    assert code == 0, report
