from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.harness.node_process import NodeProcess, start_node


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


@pytest.fixture(scope="module")
def bounded_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    """A dev node that accepts bodies large enough to carry the adversarial inputs (1 MiB), sealing empty blocks."""
    node = start_node(
        tmp_path_factory.mktemp("bounded") / "data",
        "--block-time",
        "0.1",
        "--empty-blocks",
        "--rpc-max-body",
        "1048576",
    )
    yield node
    node.stop()
