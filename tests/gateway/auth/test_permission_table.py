"""docs/permissions.md is generated from the code: the committed copy must be what the generator writes now."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[3]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("permissions_table", ROOT / "scripts" / "permissions_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["permissions_table"] = module
    spec.loader.exec_module(module)
    return module


def test_docs_permissions_is_current() -> None:
    generated = _script().generate()
    committed = (ROOT / "docs" / "permissions.md").read_text()
    assert committed == generated, "docs/permissions.md is stale: run .venv/bin/python scripts/permissions_table.py"


def test_the_table_says_what_the_code_says() -> None:
    """Not a table of blanks: a trader lacks kyc:submit (the 403 a newcomer met), a member admin holds it, and the
    trade signing route is listed under trades:write."""
    text = _script().generate()
    roles_table, routes_table = text.split("## Routes by permission")
    rows = {line.split("|")[1].strip(): line for line in roles_table.splitlines() if line.startswith("| `")}
    header = next(line for line in text.splitlines() if line.startswith("| permission | operator_admin"))
    columns = [c.strip() for c in header.split("|")[1:-1]]
    kyc = [c.strip() for c in rows["`kyc:submit`"].split("|")[1:-1]]
    assert kyc[columns.index("trader")] == "" and kyc[columns.index("member_admin")] == "✓"
    assert "`POST /v1/trades/{trade_id}/sign`" in routes_table
