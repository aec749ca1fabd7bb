"""A real OpenID Connect provider for the sign-in tests: panva's oidc-provider (npm), started with node."""

import contextlib
import copy
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[1]
PROVIDER_DIR = REPO / "tests" / "accounts" / "oidc_provider"
CLIENT_ID = "hospital-workload"
CLIENT_SECRET = "test-client-secret-not-used-anywhere-else"
MAPPING = {
    "roles_claim": "groups",
    "roles": {"ward-charge-nurses": "staff", "hl7-integration": "integrator", "workload-admins": "admin"},
    "departments_claim": "departments",
    "departments": {},
}


@contextlib.contextmanager
def oidc_provider_running(product_url: str, directory: Path):
    """The provider, its one client the product at product_url, for as long as the block runs:
    {"issuer", "accounts"} (the accounts file it reads at every look-up, a copy in directory)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("needs Node.js (`node`) to run the OpenID provider of these tests; CI has it")
    if not (REPO / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("node_modules/oidc-provider is missing: run `npm ci` (make install does)")
    accounts = directory / "accounts.json"
    shutil.copy(PROVIDER_DIR / "accounts.json", accounts)
    environment = {
        "PATH": str(Path(node).parent),
        "CLIENT_ID": CLIENT_ID,
        "CLIENT_SECRET": CLIENT_SECRET,
        "REDIRECT_URI": f"{product_url}/oidc/callback/",
        "POST_LOGOUT_REDIRECT_URI": f"{product_url}/accounts/login/",
        "ACCOUNTS_FILE": str(accounts),
    }
    process = subprocess.Popen(
        [node, str(PROVIDER_DIR / "provider.mjs")],
        cwd=REPO,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        issuer = json.loads(process.stdout.readline() or "{}").get("issuer")
        if issuer is None:
            pytest.fail(f"the OpenID provider did not start (exit code {process.wait(timeout=10)})")
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the OpenID provider's discovery document did not answer within 30 s")
            time.sleep(0.1)
        yield {"issuer": issuer, "accounts": accounts}
    finally:
        process.terminate()
        process.wait(timeout=10)


def sso_settings(settings, issuer: str, button: str) -> None:
    """Single sign-on on, against the provider at issuer (pytest-django's settings fixture)."""
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_OP_DISCOVERY = issuer
    settings.OIDC_RP_SCOPES = "openid email profile groups"
    settings.OIDC_CLAIMS_MAPPING = MAPPING
    settings.OIDC_BUTTON_LABEL = button
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, "healthcare.accounts.oidc.OidcBackend"]
    # What settings.py derives from the same variables at start-up: the sign-out form may go on to the provider.
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["form-action"] = ["'self'", issuer]
    settings.CONTENT_SECURITY_POLICY = policy
