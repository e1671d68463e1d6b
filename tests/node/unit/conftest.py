from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.node.unit.helpers import NodeProcess, start_node


@pytest.fixture(scope="module")
def dev_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    """One dev node per test module (starting a node costs about a second)."""
    node = start_node(
        tmp_path_factory.mktemp("dev") / "data",
        "--block-time",
        "0.1",
        "--rpc-batch-limit",
        "50",
        "--rpc-logs-range",
        "100",
        "--rpc-max-body",
        "300000",
    )
    yield node
    node.stop()


@pytest.fixture
def node_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"
