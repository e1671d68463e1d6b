"""The import structure of the README's layout: import-linter's contracts (pyproject.toml) hold, and scripts never
import tests (scripts are not a package, so import-linter cannot see them; this reads their imports)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Scripts that still borrow a test harness (node and chain fixtures). Each is to move onto a shared harness outside
# tests/; the list may only shrink: a script that stops importing tests must leave it.


def _lint_imports() -> Path:
    found = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("lint-imports is not installed: `pip install -e '.[dev]'` (import-linter is a dev dependency)")
    return Path(found)


def test_import_linter_contracts_hold() -> None:
    result = subprocess.run(
        [str(_lint_imports()), "--no-logo", "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_a_broken_contract_fails_the_check(tmp_path: Path) -> None:
    """The check can fail: a copy of the project where the gateway imports the node breaks its contract."""
    for name in ("gateway", "node", "contracts", "tests"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.json", "*.sol"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    chain = tmp_path / "gateway" / "chain" / "base.py"
    chain.write_text(chain.read_text() + "\nimport node.chain  # noqa: E402\n")
    result = subprocess.run(
        [str(_lint_imports()), "--no-logo", "--no-cache", "--contract", "gateway-edges"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "gateway.chain.base -> node.chain" in result.stdout


def _imports_tests(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import) and any(a.name == "tests" or a.name.startswith("tests.") for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            if node.module == "tests" or node.module.startswith("tests."):
                return True
    return False


def test_scripts_never_import_tests() -> None:
    scripts = sorted(p for p in (ROOT / "scripts").rglob("*.py"))
    assert scripts, "no scripts found"
    importing = sorted(str(p.relative_to(ROOT)) for p in scripts if _imports_tests(p))
    assert not importing, f"scripts must not import tests (shared harnesses live in scripts/harness): {importing}"
