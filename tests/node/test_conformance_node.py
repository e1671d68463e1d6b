"""The conformance suite against our node (`reponet-node dev` as a subprocess)."""

from __future__ import annotations

import pytest

from tests.node.conformance import EthConformance
from tests.node.harness import Backend


class TestNodeConformance(EthConformance):
    @pytest.fixture(scope="class")
    @classmethod
    def backend(cls, node_backend: Backend) -> Backend:
        return node_backend
