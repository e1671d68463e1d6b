"""Gateway configuration: one ``Settings`` object built from ``REPONET_*`` environment variables."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset({"", "changethis", "change-me", "secret", "dev-insecure-secret"})
DEV_JWT_SECRET = "dev-insecure-secret"  # noqa: S105 - refused outside development by the validator below


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class KeyPurpose(StrEnum):
    """What a gateway account sends on chain; each has a key (and so a nonce sequence) of its own."""

    RELAYER = "relayer"
    KYC_AGENT = "kyc_agent"
    ORACLE_FEEDER = "oracle_feeder"
    ISSUER = "issuer"
    ANCHOR = "anchor"

    @property
    def setting(self) -> str:
        return "relayer_private_key" if self is KeyPurpose.RELAYER else f"{self.value}_key"

    @property
    def env(self) -> str:
        return f"REPONET_{self.setting.upper()}"


class Settings(BaseSettings):
    """Everything the gateway reads from its environment (prefix ``REPONET_``)."""

    model_config = SettingsConfigDict(env_prefix="REPONET_", env_file=None, extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path("./reponet-data")
    database_url: str = "sqlite:///./reponet-data/gateway.db"

    # HTTP
    public_origin: str = "https://localhost:8443"
    cors_origins: list[str] = Field(default_factory=list)
    max_request_bytes: int = 64 * 1024
    expose_docs: bool = True
    # ``gateway run``: HTTP worker processes. Above 1 the background work (relayer, indexer, balance follower,
    # webhooks, anchoring, KYC maintenance) runs once, in a process of its own, and the HTTP workers run at
    # ``api_nice`` so that settlement keeps its share of CPU under any read load. SQLite in WAL mode serves readers
    # in every process; in-memory rate limits then count per worker (a shared REPONET_RATE_LIMIT_STORAGE_URL
    # counts across them).
    api_workers: int = Field(default=1, ge=1, le=64)
    api_nice: int = Field(default=5, ge=0, le=19)
    # reads in progress at once per process (gateway.api.admission); writes never wait for reads; 0: no limit
    read_concurrency: int = Field(default=8, ge=0, le=10_000)
    # ... and while a write (create, sign, approve) is in progress in that process: the write's steps then wait
    # for the interpreter behind this many reads, not ``read_concurrency``
    read_concurrency_writing: int = Field(default=1, ge=1, le=10_000)
    background_work: bool = True  # false in the HTTP workers of a multi-worker gateway (set by ``gateway run``)

    # Tokens
    jwt_secret: str = DEV_JWT_SECRET
    jwt_issuer: str = "reponet-gateway"
    jwt_audience: str = "reponet-api"
    access_token_seconds: int = 300
    refresh_token_seconds: int = 8 * 3600
    client_token_seconds: int = 600

    # Passwords and MFA
    argon2_time_cost: int = 3
    argon2_memory_cost_kib: int = 65536
    argon2_parallelism: int = 4
    step_up_seconds: int = 300
    totp_issuer: str = "RepoNet"

    # Rate limits (limits library notation) and storage
    rate_limit_storage_url: str = "memory://"
    rate_limit_ip: str = "300/minute"
    rate_limit_principal: str = "120/minute"
    # A service's lease heartbeats (/v1/leases): a leader renews every TTL/3 s and its standby, on the same key, polls
    # every 0.5 s (about 180 a minute together); counted apart, so they neither starve the service's own calls nor
    # lose the lease to a 429 (under up --replicas a leader stepped down when they shared the 120)
    rate_limit_lease: str = "600/minute"
    rate_limit_matching: str = "6000/minute"  # the matching service's reads and answers (one per instruction)
    rate_limit_login: str = "10/minute"

    # Sign-in backoff (gateway.auth.throttle), in place of a lockout: free failures, then a wait that doubles with
    # each further failure, capped low per account (others can slow its owner down, not shut them out) and higher
    # per address (the guesser's own); failures are forgotten after a quiet while
    login_free_failures_per_account: int = 5
    login_free_failures_per_address: int = 20
    login_backoff_base_seconds: float = 1.0
    login_backoff_max_account_seconds: float = 60.0
    login_backoff_max_address_seconds: float = 900.0
    login_failure_memory_seconds: int = 900

    # Client addresses: X-Forwarded-For is believed only from these proxies (addresses or CIDR networks)
    trusted_proxies: list[str] = Field(default_factory=list)

    # Keys at rest
    master_key_file: Path | None = None
    master_keys: str | None = None  # "1:<base64 32 bytes>,2:<base64>" (environment key provider)
    master_key_min_version: int = 1

    # KYC
    sanctions_file: Path | None = None
    sanctions_threshold: float = 88.0
    kyc_review_days: int = 365
    kyc_provider: str = "manual"
    maintenance_interval_seconds: int = 300  # KYC expiry sweep; 0 disables

    # Chain (JSON-RPC only)
    chain_rpc_url: str | None = None  # http(s)://node:8545, or memory:// for demos
    chain_rpc_token: str | None = None  # the node's JSON-RPC bearer token (`reponet-node token issue`)
    chain_id: int = 31337
    chain_private_key: str | None = None  # development: the one key every purpose below falls back to
    identity_registry_address: str | None = None
    audit_anchor_address: str | None = None
    anchor_interval_seconds: int = 5  # the unanchored tail of the audit log stays seconds long; 0 disables

    # Settlement: the engine and oracle the relayer (the outbox) and the indexer (the inbox) work with
    repo_engine_address: str | None = None
    price_oracle_address: str | None = None
    finality_confirmations: int = 0  # QBFT and Anvil blocks are final once sealed
    relayer_poll_seconds: float = 0.05
    relayer_workers: int = 8  # settlements advanced side by side
    indexer_poll_seconds: float = 0.25
    settle_window_seconds: int = 600  # deadline of signed terms after acceptance: short, no late replay
    collateral_maturity_warning_days: int = 7  # a live repo's bond maturing this soon needs substitution
    gas_limit: int = 1_500_000

    # One sending account per purpose, each with its own nonce sequence (gateway.chain.purposes): an unset one
    # falls back to REPONET_CHAIN_PRIVATE_KEY (development; a warning at startup in production)
    relayer_private_key: str | None = None  # parties' settlement steps and the engine's operator steps
    kyc_agent_key: str | None = None  # IdentityRegistry: register, update, add wallets, freeze, revoke
    oracle_feeder_key: str | None = None  # PriceOracle: prices
    issuer_key: str | None = None  # cash and bond tokens: issue and redeem
    anchor_key: str | None = None  # AuditAnchor: audit heads

    # Bond prices (percent of par): a move larger than the instrument's bound (its own, else this default) from the
    # last price, or a first price outside the band, waits for a second operator person to confirm it
    price_max_move_bps: int = Field(default=1_000, ge=1, le=100_000)
    price_band_min_percent_of_par: int = Field(default=20, ge=0)
    price_band_max_percent_of_par: int = Field(default=150, ge=1)

    # Sign-In with Ethereum
    siwe_domain: str = "localhost:8443"
    siwe_challenge_seconds: int = 300

    # WebSocket stream: a session's token is checked again this often, and before each event it is sent
    stream_session_check_seconds: float = 5.0

    # Webhooks: public https endpoints only; loopback (http or https) only in development, when switched on
    webhook_allow_loopback: bool = False

    # Scale-out (API replicas, workers as processes under leader election: gateway.leader): the event stream from the
    # indexer's leader to every replica (Redis Streams: gateway.events.broker); unset, replicas read the database
    broker_url: str | None = None  # redis://host:6379/0
    event_stream: str = "reponet:events"
    instance_name: str = ""  # named in /readyz (``reponet up --replicas`` sets replica-1, replica-2, ...)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: list[str]) -> list[str]:
        import ipaddress

        for entry in value:
            ipaddress.ip_network(entry.strip(), strict=False)  # ValueError names the bad entry
        return value

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.environment is Environment.DEVELOPMENT:
            return self
        if self.webhook_allow_loopback:
            raise ValueError("REPONET_WEBHOOK_ALLOW_LOOPBACK is for development only")
        if self.jwt_secret in PLACEHOLDER_SECRETS or len(self.jwt_secret) < 32:
            raise ValueError("REPONET_JWT_SECRET must be set to a random value of 32+ characters")
        if self.environment is Environment.PRODUCTION and not (self.master_key_file or self.master_keys):
            raise ValueError("REPONET_MASTER_KEY_FILE or REPONET_MASTER_KEYS is required in production")
        if self.environment is Environment.PRODUCTION and self.chain_rpc_url == "memory://":
            raise ValueError("REPONET_CHAIN_RPC_URL=memory:// (an in-memory registry) is for demos only")
        return self

    @property
    def is_development(self) -> bool:
        return self.environment is Environment.DEVELOPMENT

    def key_for(self, purpose: KeyPurpose) -> str | None:
        """The private key that sends ``purpose``'s transactions: its own, else the chain key (development).
        Issuing and feeding prices fall back to the relayer's key first: deployments made before these keys
        existed granted the issuer and feeder roles to the relayer."""
        own: str | None = getattr(self, purpose.setting)
        if own:
            return own
        if purpose in (KeyPurpose.ISSUER, KeyPurpose.ORACLE_FEEDER) and self.relayer_private_key:
            return self.relayer_private_key
        return self.chain_private_key

    def shared_key_purposes(self) -> list[KeyPurpose]:
        """The purposes without a key of their own (they share REPONET_CHAIN_PRIVATE_KEY and its nonce sequence)."""
        if self.chain_private_key is None:
            return []
        return [purpose for purpose in KeyPurpose if not getattr(self, purpose.setting)]


@lru_cache
def get_settings() -> Settings:
    return Settings()


def up_database_url(data_dir: Path) -> str:
    """The database of the gateway in a ``reponet up`` data directory: ``gateway.env``'s (PostgreSQL under
    ``--replicas``), else the embedded gateway's SQLite file. The commands that grant service keys write there."""
    try:
        lines = (data_dir / "gateway.env").read_text().splitlines()
    except FileNotFoundError:
        lines = []
    for line in lines:
        name, _, value = line.partition("=")
        if name == "REPONET_DATABASE_URL" and value:
            return value
    return f"sqlite:///{(data_dir / 'gateway' / 'gateway.db').resolve()}"
