"""Typed bindings for the oracle (prices, FX pair terms, pending moves), the identity registry and the tokens: each
struct decoded by the committed ABI's field names, a renamed or reordered field failing loudly."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest
from eth_utils.address import to_checksum_address

from contracts.artifacts import load_artifact
from gateway.chain.bindings import oracle, registry
from gateway.chain.bindings.engine import snake_case
from gateway.chain.bindings.oracle import FxTerms, Oracle, OracleAtBlock, PendingMove, PriceReading
from gateway.chain.bindings.registry import Identity, IdentityStatus, Registry
from gateway.chain.bindings.tokens import Token, TokenMetadata
from gateway.chain.head_memo import HeadMemo

ASSET, QUOTE, WALLET = "0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20


@dataclass
class _Call:
    value: object
    seen: list[dict[str, object]]

    def call(self, **kwargs: object) -> object:
        self.seen.append(kwargs)
        return self.value


@dataclass
class _Functions:
    """A web3 contract's ``functions`` answering fixed values, recording each call's arguments and block."""

    answers: dict[str, object]
    calls: list[tuple[str, tuple[object, ...]]] = field(default_factory=list)
    blocks: list[dict[str, object]] = field(default_factory=list)

    def __getattr__(self, name: str) -> object:
        if name not in self.answers:
            raise AttributeError(name)

        def bind(*args: object) -> _Call:
            self.calls.append((name, args))
            return _Call(self.answers[name], self.blocks)

        return bind


@dataclass
class _Provider:
    """JSON-RPC answering every ``eth_call`` with ``answer`` (one ABI-coded word), recording each request."""

    answer: int = 0
    requests: list[tuple[str, list[object]]] = field(default_factory=list)

    def make_request(self, method: str, params: list[object]) -> dict[str, object]:
        self.requests.append((str(method), params))
        return {"jsonrpc": "2.0", "id": 1, "result": "0x" + self.answer.to_bytes(32, "big").hex()}


@dataclass
class _Web3:
    provider: _Provider = field(default_factory=_Provider)


@dataclass(eq=False)  # hashable by identity, as a web3 contract is
class _Contract:
    functions: _Functions
    address: str = "0x" + "0c" * 20
    w3: _Web3 = field(default_factory=_Web3)
    abi: list[dict[str, object]] = field(default_factory=lambda: load_artifact("BondToken").abi)


def _contract(**answers: object) -> _Contract:
    return _Contract(_Functions(answers))


def test_every_struct_matches_the_committed_abi_field_for_field() -> None:
    for cls, outputs in (
        (PriceReading, oracle._outputs("getPrice")),
        (FxTerms, oracle._outputs("fxTermsOf")),
        (PendingMove, oracle._outputs("pendingMoveOf")),
        (Identity, registry._outputs("getIdentity")),
    ):
        assert [f.name for f in dataclasses.fields(cls)] == [snake_case(str(o["name"])) for o in outputs], cls


def test_oracle_reads_come_back_typed_and_at_the_block_asked() -> None:
    contract = _contract(
        getPrice=(98 * 10**18, 1_700_000_000),
        fxTermsOf=(True, True, 150),
        pendingMoveOf=(120 * 10**18, WALLET, 1_700_000_100),
        maxAgeOf=3_600,
        currencyOf=QUOTE,
    )
    o = Oracle(contract)
    assert o.price(ASSET, QUOTE) == PriceReading(price=98 * 10**18, updated_at=1_700_000_000)
    assert o.fx_terms(ASSET, QUOTE) == FxTerms(quote_listed=True, cross_currency=True, fx_haircut_bps=150)
    assert o.pending_move(ASSET, QUOTE) == PendingMove(price=120 * 10**18, proposer=WALLET, proposed_at=1_700_000_100)
    assert o.max_age(ASSET, QUOTE, block=42) == 3_600
    assert o.currency_of(ASSET) == QUOTE
    assert contract.functions.blocks == [{}, {}, {}, {"block_identifier": 42}, {}]
    assert ("getPrice", (ASSET, QUOTE)) in contract.functions.calls


def test_the_oracles_currency_and_fx_terms_are_read_once_per_block_whoever_asks() -> None:
    contract = _contract(currencyOf=QUOTE, fxTermsOf=(True, True, 150))
    memo = HeadMemo()
    for _request in range(3):  # three members' GET /v1/risk/repos in block 7, each with its own reader
        at7 = OracleAtBlock(contract, 7, memo)
        assert at7.currency_of(ASSET) == QUOTE and at7.currency_of(ASSET.upper().replace("0X", "0x")) == QUOTE
        assert at7.fx_terms(ASSET, QUOTE).fx_haircut_bps == 150
    assert contract.functions.calls == [("currencyOf", (ASSET,)), ("fxTermsOf", (ASSET, QUOTE))]
    assert contract.functions.blocks == [{"block_identifier": 7}] * 2  # read at the pinned block, not "latest"
    contract.functions.answers["currencyOf"] = WALLET  # the admin renamed the currency in block 8
    assert OracleAtBlock(contract, 8, memo).currency_of(ASSET) == WALLET
    assert OracleAtBlock(contract, 7, memo).currency_of(ASSET) == WALLET  # the chain went back: read afresh
    contract.functions.answers["currencyOf"] = QUOTE  # block 8 mined again, differently
    assert OracleAtBlock(contract, 8, memo).currency_of(ASSET) == QUOTE  # not the value kept for the first block 8
    memo.forget()  # the gateway saw the chain's clock jump
    assert OracleAtBlock(contract, 8, memo).currency_of(ASSET) == QUOTE
    assert [name for name, _ in contract.functions.calls].count("currencyOf") == 5
    assert OracleAtBlock(contract, 8, memo).currency_of(ASSET, block=3) == QUOTE  # a named block: read, not kept
    assert contract.functions.blocks[-1] == {"block_identifier": 3}


def test_a_reordered_or_renamed_output_fails_loudly() -> None:
    outputs = oracle._outputs("fxTermsOf")
    with pytest.raises(ValueError, match="fields"):
        FxTerms.decode((True, False), outputs)
    renamed = [{**o, "name": "haircutBps"} if o["name"] == "fxHaircutBps" else o for o in outputs]
    with pytest.raises(ValueError, match="fx_haircut_bps"):
        FxTerms.decode((True, False, 10), renamed)


@pytest.mark.parametrize(
    ("frozen", "revoked", "status"),
    [
        (False, False, IdentityStatus.ACTIVE),
        (True, False, IdentityStatus.FROZEN),
        (True, True, IdentityStatus.REVOKED),
        (False, True, IdentityStatus.REVOKED),
    ],
)
def test_an_identity_is_decoded_by_name_with_its_status(frozen: bool, revoked: bool, status: IdentityStatus) -> None:
    contract = _contract(getIdentity=(b"\x01" * 32, b"GB", 2, 1_800_000_000, frozen, revoked), identityOf=7)
    r = Registry(contract)
    identity = r.identity(7)
    assert identity.jurisdiction == "GB" and identity.investor_class == 2 and identity.kyc_expiry == 1_800_000_000
    assert identity.lei_hash == b"\x01" * 32 and identity.status is status
    assert r.identity_of(WALLET) == 7


def test_token_reads_come_back_typed() -> None:
    contract = _contract(symbol="rUSD", name="Repo USD", decimals=6, balanceOf=1_000, allowance=2**255, maturity=0)
    contract.w3.provider.answer = 1_000
    t = Token(contract)
    assert t.metadata() == TokenMetadata(symbol="rUSD", name="Repo USD", decimals=6)
    assert t.balance_of(WALLET, block=9) == 1_000 and t.allowance(WALLET, ASSET) == 2**255 and t.maturity() == 0
    assert t.balance_of(WALLET) == 1_000
    # balanceOf is a plain eth_call (gateway.chain.calls), at the block asked, else the latest
    (method, (call, at)), (_, (_, latest)) = contract.w3.provider.requests
    assert method == "eth_call" and at == hex(9) and latest == "latest"
    assert call == {"to": to_checksum_address(contract.address), "data": "0x70a08231" + "00" * 12 + WALLET[2:]}
