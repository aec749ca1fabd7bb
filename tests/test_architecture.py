"""The module graph: the import contracts of pyproject.toml hold (lint-imports runs them in CI), and
the cycle contract does catch a cycle, including one made by an import inside a function."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))

CONFIG = """
[importlinter]
root_package = ward
contract_types =
    acyclic_modules: tests.import_contracts.AcyclicModulesContract

[importlinter:contract:cycles]
name = No import cycle
type = acyclic_modules
{ignore}
"""


def _lint(directory: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": f"{directory}{os.pathsep}{REPO}"}
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"], cwd=directory, env=environment, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def ward(tmp_path):
    """A package whose selectors import its services inside a function, and services the selectors."""
    package = tmp_path / "ward"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "services.py").write_text("from ward.selectors import census\n\n\ndef admit():\n    return census()\n")
    (package / "selectors.py").write_text(
        "def census():\n    return 1\n\n\ndef outlook():\n    from ward.services import admit\n\n    return admit\n"
    )
    return tmp_path


def test_a_cycle_through_an_import_inside_a_function_breaks_the_contract(ward):
    (ward / ".importlinter").write_text(CONFIG.format(ignore=""))
    result = _lint(ward)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Import cycle among 2 modules" in result.stdout
    assert "ward.selectors -> ward.services (l.6)" in result.stdout


def test_an_ignored_import_is_the_only_way_out(ward):
    (ward / ".importlinter").write_text(CONFIG.format(ignore="ignore_imports =\n    ward.selectors -> ward.services"))
    result = _lint(ward)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_product_keeps_its_import_contracts():
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout
