"""The real AccountRules contract (with the real IdentityRegistry) decides who may transact on a running 4-validator
network: a verified member's transactions are accepted by every validator, and once the registry revokes the member,
every validator refuses them, over HTTP and over WebSocket."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.middleware import ExtraDataToPOAMiddleware
from websockets.sync.client import connect

from contracts.deploy import contract, deploy_system, transact
from scripts.harness.qbft_network import Network, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
NOT_AUTHORIZED = -32007


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Network]:
    network = Network(tmp_path / "net")
    try:
        network.start()
        yield network
    finally:
        network.close()


def raw_transfer(net: Network, member: LocalAccount, nonce: int) -> str:
    tx = member.sign_transaction(
        {
            "to": net.accounts[-1]["address"],
            "value": 0,
            "gas": 21_000,
            "maxFeePerGas": 0,
            "maxPriorityFeePerGas": 0,
            "nonce": nonce,
            "chainId": int(net.rpcs[0].call("eth_chainId"), 16),
            "type": 2,
        }
    )
    return "0x" + tx.raw_transaction.hex()


def send_http(net: Network, i: int, raw: str) -> dict[str, Any]:
    return net.rpcs[i].request("eth_sendRawTransaction", raw)


def send_ws(net: Network, i: int, raw: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {net.token}"}
    url = net.rpcs[i].url.replace("http://", "ws://", 1)  # the port each node bound and reported
    with connect(url, additional_headers=headers, open_timeout=10) as ws:
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction", "params": [raw]}))
        return dict(json.loads(ws.recv(timeout=10)))


def test_a_member_revoked_in_the_registry_is_refused_by_every_validator(net: Network) -> None:
    w3 = Web3(
        Web3.HTTPProvider(
            net.rpcs[0].url, request_kwargs={"timeout": 30, "headers": {"Authorization": f"Bearer {net.token}"}}
        )
    )
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    operator = Account.from_key(net.accounts[0]["private_key"])  # on the nodes' local allowlist
    addresses = deploy_system(w3, operator)
    registry = contract(w3, "IdentityRegistry", addresses.identity_registry)
    member = Account.create()
    expiry = int(time.time()) + 365 * 86_400
    transact(w3, operator, registry.functions.registerIdentity(b"\x01" * 32, b"DE", 1, expiry, [member.address]))
    for i in range(4):  # every validator asks the contract from now on
        net.admin(i, "reponet_setAccountRules", addresses.account_rules)

    # verified: every validator accepts the member's transactions, over HTTP and WebSocket
    nonce = 0
    for i in range(4):
        for send in (send_http, send_ws):
            answer = send(net, i, raw_transfer(net, member, nonce))
            assert "result" in answer, answer
            nonce += 1
    wait_until(
        lambda: int(net.rpcs[0].call("eth_getTransactionCount", member.address, "latest"), 16) == nonce,
        30,
        "the member's transactions in blocks",
    )

    identity = registry.functions.identityOf(member.address).call()
    transact(w3, operator, registry.functions.revokeIdentity(identity))
    assert registry.functions.isVerified(member.address).call() is False
    head = net.head(0)
    wait_until(lambda: min(net.head(i) for i in range(4)) >= head, 30, "every validator at the revocation's block")

    for i in range(4):
        for send in (send_http, send_ws):
            answer = send(net, i, raw_transfer(net, member, nonce))
            assert answer.get("error", {}).get("code") == NOT_AUTHORIZED, (i, send.__name__, answer)
    assert int(net.rpcs[0].call("eth_getTransactionCount", member.address, "pending"), 16) == nonce
