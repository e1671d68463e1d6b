"""One exit-status table for every ``reponet`` command: one meaning per number, the README's table the same, and
no command module with statuses of its own."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.exit_status import ExitStatus

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_lists_exactly_the_table() -> None:
    readme = (ROOT / "README.md").read_text()
    rows = dict(re.findall(r"^\| (\d+) \| `([A-Z_]+)` \|", readme, flags=re.MULTILINE))
    assert {int(code): name for code, name in rows.items()} == {s.value: s.name for s in ExitStatus}


def test_no_command_module_defines_exit_statuses_of_its_own() -> None:
    commands = [ROOT / "gateway" / "cli.py", *sorted((ROOT / "gateway").glob("*/cli.py"))]
    assert len(commands) >= 4
    for path in commands:
        text = path.read_text()
        assert not re.search(r"class \w+\((?:enum\.)?IntEnum\)", text), path
        assert not re.search(r"^\s*return [0-9]+\s*$", text, flags=re.MULTILINE), path
