"""Keyed pseudonyms for patient identifiers. No name or raw id is ever stored."""

import hashlib
import hmac
from collections.abc import Callable


def patient_pseudonymizer(key: str) -> Callable[[str], str]:
    """A function raw patient id -> HMAC-SHA256 hex digest under key.

    The same id gives the same pseudonym across sources and imports (so stays of one
    patient stay linkable) and nothing can reverse it without the key.
    """
    keyed = hmac.new(key.encode(), digestmod=hashlib.sha256)

    def pseudonymize(patient_id: str) -> str:
        digest = keyed.copy()
        digest.update(patient_id.encode())
        return digest.hexdigest()

    return pseudonymize
