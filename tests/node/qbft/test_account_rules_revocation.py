"""The real ``AccountRules`` contract governs who may transact on a running four-validator network: a member that
the identity registry verifies is accepted by every validator; once its identity is revoked on chain, every
validator refuses its transactions, over HTTP and over WebSocket, and none of them is ever included.

Nothing is stubbed: the contracts are the compiled artifacts that ``reponet up`` deploys, the network is four
``reponet-node run`` processes, and the member is not on any node's local allowlist (the contract alone decides).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import HTTPProvider, Web3
from web3.middleware import ExtraDataToPOAMiddleware
from websockets.sync.client import connect

from contracts.deploy import contract, deploy_system, transact
from tests.node.harness import RpcError
from tests.node.qbft.network import Network, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

VALIDATORS = 4
LEI_HASH = Web3.keccak(text="MEMBER-LEI-0000000001")


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Network]:
    network = Network(tmp_path / "net", validators=VALIDATORS)
    try:
        network.start()
        yield network
    finally:
        network.close()


def _web3(net: Network, i: int) -> Web3:
    provider = HTTPProvider(
        net.rpcs[i].url, request_kwargs={"headers": {"Authorization": f"Bearer {net.token}"}, "timeout": 30}
    )
    w3 = Web3(provider)
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)  # QBFT headers carry a long extraData
    return w3


def _signed(w3: Web3, member: LocalAccount, nonce: int) -> str:
    tx = member.sign_transaction(
        {
            "to": member.address,
            "value": 0,
            "gas": 21_000,
            "gasPrice": 0,
            "nonce": nonce,
            "chainId": w3.eth.chain_id,
        }
    )
    return "0x" + bytes(tx.raw_transaction).hex()


def _send_ws(net: Network, i: int, raw: str) -> dict[str, Any]:
    url = net.rpcs[i].url.replace("http://", "ws://") + f"/?token={net.token}"
    with connect(url, open_timeout=10, close_timeout=5) as ws:
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction", "params": [raw]}))
        answer: dict[str, Any] = json.loads(ws.recv(timeout=10))
    return answer


def test_revoked_member_is_refused_by_every_validator(net: Network) -> None:
    w3 = _web3(net, 0)
    deployer = Account.from_key(net.accounts[0]["private_key"])  # on every node's allowlist (dev account)
    member: LocalAccount = Account.create()

    system = deploy_system(w3, deployer)
    registry = contract(w3, "IdentityRegistry", system.identity_registry)
    expiry = w3.eth.get_block("latest")["timestamp"] + 365 * 86400
    transact(
        w3,
        deployer,
        registry.functions.registerIdentity(LEI_HASH, b"GB", 1, expiry, [member.address]),
        "register the member",
    )
    identity = registry.functions.identityOf(member.address).call()
    assert registry.functions.isVerified(member.address).call()
    for i in range(VALIDATORS):
        perm = net.admin(i, "reponet_setAccountRules", system.account_rules)
        assert perm["accountRules"].lower() == system.account_rules.lower()
        assert member.address.lower() not in perm["allowlist"]  # only the contract can let it in

    # verified: each validator accepts the member's transaction, over HTTP and WebSocket, and it is included
    nonce = 0
    accepted = []
    for i in range(VALIDATORS):
        accepted.append(net.rpcs[i].call("eth_sendRawTransaction", _signed(w3, member, nonce)))
        nonce += 1
        answer = _send_ws(net, i, _signed(w3, member, nonce))
        assert "result" in answer, answer
        accepted.append(answer["result"])
        nonce += 1
    for tx_hash in accepted:
        wait_until(lambda h=tx_hash: net.rpcs[0].call("eth_getTransactionReceipt", h) is not None, 30, "inclusion")

    # the KYC agent revokes the member's identity on chain; every validator sees the block
    receipt = transact(w3, deployer, registry.functions.revokeIdentity(identity), "revoke the member")
    assert not registry.functions.isVerified(member.address).call()
    for i in range(VALIDATORS):
        wait_until(lambda i=i: net.head(i) >= receipt["blockNumber"], 30, f"validator {i} to see the revocation")

    refused = _signed(w3, member, nonce)
    for i in range(VALIDATORS):
        with pytest.raises(RpcError) as http_refusal:
            net.rpcs[i].call("eth_sendRawTransaction", refused)
        assert (http_refusal.value.code, http_refusal.value.message) == (-32007, "sender account not authorized")
        answer = _send_ws(net, i, refused)
        assert "error" in answer and "result" not in answer, answer
        assert answer["error"]["message"] == http_refusal.value.message
    # a later transaction of an allowed sender is included: the refused one never will be
    later = transact(w3, deployer, registry.functions.setSystemAccount(deployer.address, True), "a later step")
    for i in range(VALIDATORS):
        wait_until(lambda i=i: net.head(i) >= later["blockNumber"], 30, f"validator {i} to see the later block")
    refused_hash = Web3.keccak(hexstr=refused).hex()
    for i in range(VALIDATORS):
        assert net.rpcs[i].call("eth_getTransactionReceipt", "0x" + refused_hash.removeprefix("0x")) is None
        assert net.rpcs[i].call("eth_getTransactionCount", member.address, "latest") == hex(nonce)
