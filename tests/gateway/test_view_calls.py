"""Plain ``eth_call`` views answer what web3's contract calls answer (checksummed addresses, structs as tuples, a
bare lone output), and a revert raises ContractLogicError with the decoded reason, against a running node."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3
from web3.exceptions import ContractLogicError

from contracts import eip712
from contracts.artifacts import load_artifact
from gateway.chain.calls import ViewFunction
from tests.e2e.chains import Deployment, deploy, start_chain


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    work: Path = tmp_path_factory.mktemp("views")
    for chain in start_chain("reponet-node", work):
        yield deploy(chain)


def test_views_answer_as_web3_does(deployed: Deployment) -> None:
    d = deployed
    registry = d.registry
    wallet = d.relayer.address
    is_verified = ViewFunction(d.w3, registry.address, registry.abi, "isVerified")
    assert is_verified(wallet) == registry.functions.isVerified(wallet).call()
    engine = d.engine
    position = ViewFunction(d.w3, engine.address, engine.abi, "position")
    answer = position()
    assert answer == engine.functions.position().call()
    assert answer == Web3.to_checksum_address(answer) and answer != answer.lower()  # checksummed, as web3 gives
    get_repo = ViewFunction(d.w3, engine.address, engine.abi, "getRepo")
    assert get_repo(0) == tuple(engine.functions.getRepo(0).call())  # a struct: a tuple of its fields


def test_a_revert_raises_with_its_reason(deployed: Deployment) -> None:
    d = deployed
    position = d.w3.eth.contract(address=d.engine.functions.position().call(), abi=load_artifact("RepoPosition").abi)
    owner_of = ViewFunction(d.w3, position.address, position.abi, "ownerOf")
    with pytest.raises(ContractLogicError, match="ownerOf reverted"):
        owner_of(424242)


def test_call_data_is_what_web3_encodes(deployed: Deployment) -> None:
    """Settlement steps are coded with eth_abi (Market.encode): byte for byte web3's encoding, a struct included."""
    d = deployed
    engine, cash = d.engine, d.cash
    holder = d.relayer.address
    approve = ViewFunction(d.w3, cash.address, cash.abi, "approve")
    assert approve.calldata(holder.lower(), 2**256 - 1) == Web3.to_bytes(
        hexstr=cash.functions.approve(holder, 2**256 - 1)._encode_transaction_data()
    )
    terms = tuple(
        holder if f["type"] == "address" else (-5 * 10**16 if f["type"].startswith("int") else 7)
        for f in eip712.REPO_TERMS
    )
    signature = b"\x11" * 65
    open_ = ViewFunction(d.w3, engine.address, engine.abi, "open")
    assert open_.calldata(terms, signature, signature) == Web3.to_bytes(
        hexstr=engine.functions.open(terms, signature, signature)._encode_transaction_data()
    )
