"""The conformance suite against Anvil: the reference our node is compared with."""

from __future__ import annotations

import pytest

from scripts.harness.chains import Backend
from tests.node.conformance import EthConformance


class TestAnvilConformance(EthConformance):
    @pytest.fixture(scope="class")
    @classmethod
    def backend(cls, anvil_backend: Backend) -> Backend:
        return anvil_backend
