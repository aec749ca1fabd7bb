"""OPTIONS on every operation of the API answers its metadata, never a server error (DRF's metadata
asks a view for its serializer and, on PUT, its object: a view that has neither must not be generic)."""

import re

import pytest
from drf_spectacular.generators import SchemaGenerator


def api_paths() -> list[str]:
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    # Path parameters filled with a value of the right shape for every route (ids, codes, uuids).
    return sorted({re.sub(r"\{[^}]+\}", "ED", path) for path in paths})


@pytest.mark.parametrize("path", api_paths())
def test_options_answers_every_operation(api_client, hospital_admin, ed, path):
    api_client.force_authenticate(hospital_admin)
    response = api_client.options(path)
    assert response.status_code < 500, (path, response.status_code)
