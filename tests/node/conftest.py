"""Shared fixtures for the node suites: real node processes on free loopback ports, killed on teardown."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scripts.harness.chains import Backend, start_anvil, start_node


@pytest.fixture(scope="session")
def anvil_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    backend = start_anvil(tmp_path_factory.mktemp("anvil"))
    try:
        yield backend
    finally:
        backend.stop()


@pytest.fixture(scope="session")
def node_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    backend = start_node(tmp_path_factory.mktemp("reponet-node"))
    try:
        yield backend
    finally:
        backend.stop()


@pytest.fixture(scope="session", params=["anvil", "node"])
def any_backend(request: pytest.FixtureRequest) -> Backend:
    """The real-client suites run against both backends; `node` is the one that must pass."""
    backend: Backend = request.getfixturevalue(f"{request.param}_backend")
    return backend
