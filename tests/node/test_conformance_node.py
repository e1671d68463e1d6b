"""The conformance suite against our node (`reponet-node dev` as a subprocess)."""

from __future__ import annotations

import pytest

from scripts.harness.chains import Backend
from tests.node.conformance import EthConformance


class TestNodeConformance(EthConformance):
    @pytest.fixture(scope="class")
    @classmethod
    def backend(cls, node_backend: Backend) -> Backend:
        return node_backend
