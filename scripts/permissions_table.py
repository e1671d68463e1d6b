"""Write docs/permissions.md, the roles × permissions table, from the code (``--check``: exit 1 if it is stale).

Usage: ``.venv/bin/python scripts/permissions_table.py [--check]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "permissions.md"


def generate() -> str:
    from gateway.app import create_app
    from gateway.auth.permission_table import render
    from gateway.config import Settings

    with tempfile.TemporaryDirectory() as data:  # an app only to read its route table: nothing is served
        app = create_app(Settings(database_url=f"sqlite:///{data}/routes.db", data_dir=Path(data)))
        return render(app)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/permissions.md is not current")
    args = parser.parse_args()
    text = generate()
    if args.check:
        current = DOC.read_text() if DOC.exists() else ""
        if current != text:
            print(f"{DOC} is stale: run scripts/permissions_table.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text)
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
