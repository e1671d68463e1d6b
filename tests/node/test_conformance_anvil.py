"""The conformance suite against Anvil: the reference our node is compared with."""

from __future__ import annotations

import pytest

from tests.node.conformance import EthConformance
from tests.node.harness import Backend


class TestAnvilConformance(EthConformance):
    @pytest.fixture(scope="class")
    @classmethod
    def backend(cls, anvil_backend: Backend) -> Backend:
        return anvil_backend
