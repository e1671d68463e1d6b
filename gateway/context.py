"""What a running gateway holds once: settings, database, key provider, chain client, rate limiter."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from gateway.chain.base import ChainClient
from gateway.config import Settings
from gateway.keys.provider import KeyProvider
from gateway.ratelimit import RateLimiter
from gateway.screening.provider import KycProvider
from gateway.screening.sanctions import SanctionsList


@dataclass
class GatewayContext:
    settings: Settings
    engine: Engine
    read_engine: Engine
    sessions: sessionmaker[Session]  # writes (on SQLite each transaction takes the write lock)
    read_sessions: sessionmaker[Session]  # reads only: never wait for a writer
    keys: KeyProvider
    chain: ChainClient
    limiter: RateLimiter
    sanctions: SanctionsList
    kyc_provider: KycProvider
    background: list[object] = field(default_factory=list)

    @property
    def inline_reads(self) -> bool:
        """Authentication reads only local state (SQLite file, in-memory or shared-file rate limits): no network
        waits."""
        local = self.settings.rate_limit_storage_url.startswith(("memory://", "file://"))
        return self.engine.dialect.name == "sqlite" and local
