"""The risk service's and the price feed's JSON configuration files: read, and written atomically owner-only (they
hold API keys, and the running processes re-read them every round). No gateway import: the demo and the processes
use it too."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def write_private_json(path: Path, data: dict[str, Any]) -> None:
    """Atomically (a reader sees the old file or the new one), mode 0600."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out, indent=2)
    os.replace(tmp, path)
