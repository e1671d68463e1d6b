"""The KYC provider interface: the built-in manual review, or an external vendor's adapter."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from gateway.db.models import KycApplication


@dataclass(frozen=True)
class ProviderOutcome:
    reference: str | None
    """The vendor's case reference, if any."""
    recommendation: str | None = None
    """'approve' or 'reject' from an automated vendor; a compliance officer still decides."""


class KycProvider(ABC):
    name: str

    @abstractmethod
    def submit(self, application: KycApplication) -> ProviderOutcome:
        """Hand a new application to the provider."""


class ManualReviewProvider(KycProvider):
    """Built in: nothing automated; a compliance officer reviews every application."""

    name = "manual"

    def submit(self, application: KycApplication) -> ProviderOutcome:
        return ProviderOutcome(reference=None)


def provider_named(name: str) -> KycProvider:
    if name == "manual":
        return ManualReviewProvider()
    raise ValueError(f"unknown KYC provider {name!r}")
