"""web3.py, unmodified, against a running node process: deploy, transact, receipts, events, reverts, and
AsyncWeb3 WebSocket subscriptions (newHeads, logs, newPendingTransactions)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3 import AsyncWeb3, Web3
from web3.exceptions import ContractCustomError, ContractLogicError, Web3RPCError
from web3.middleware import ExtraDataToPOAMiddleware, SignAndSendRawMiddlewareBuilder
from web3.providers.persistent import WebSocketProvider

from scripts.harness.chains import Backend, load_contracts

SUPPLY = 10**24
TIMEOUT = 30


def _account(backend: Backend) -> LocalAccount:
    return backend.accounts[1 % len(backend.accounts)]


@pytest.fixture
def w3(any_backend: Backend) -> Web3:
    w3 = Web3(Web3.HTTPProvider(any_backend.http_url, request_kwargs={"timeout": TIMEOUT}))
    account = _account(any_backend)
    if any_backend.profile.qbft_extra_data:
        w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(account), layer=0)
    w3.eth.default_account = account.address
    return w3


def _deploy(w3: Web3, name: str, *args: Any) -> Any:
    artifact = load_contracts()[name]
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    tx_hash = factory.constructor(*args).transact()
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=TIMEOUT, poll_latency=0.05)
    assert receipt["status"] == 1
    return w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])


def test_connects_and_reads_chain(w3: Web3, any_backend: Backend) -> None:
    assert w3.is_connected()
    assert w3.eth.chain_id == any_backend.chain_id
    assert w3.eth.block_number >= 0
    assert w3.eth.get_block("latest")["number"] >= w3.eth.get_block("earliest")["number"] == 0
    assert w3.eth.get_balance(_account(any_backend).address) > 0


def test_deploy_transact_and_events(w3: Web3, any_backend: Backend) -> None:
    token = _deploy(w3, "TestToken", SUPPLY)
    me = w3.eth.default_account
    other = any_backend.extra_accounts[0].address
    assert token.functions.totalSupply().call() == SUPPLY
    assert token.functions.balanceOf(me).call() == SUPPLY
    assert token.functions.symbol().call() == "TT"

    tx_hash = token.functions.transfer(other, 250).transact()
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=TIMEOUT, poll_latency=0.05)
    assert receipt["status"] == 1
    (event,) = token.events.Transfer().process_receipt(receipt)
    assert event["args"] == {"from": me, "to": other, "value": 250}
    assert event["blockHash"] == receipt["blockHash"]
    assert token.functions.balanceOf(other).call() == 250

    logs = token.events.Transfer().get_logs(from_block=receipt["blockNumber"] - 1, to_block="latest")
    assert [log["args"]["value"] for log in logs][-1] == 250
    filtered = token.events.Transfer().get_logs(
        from_block=0, argument_filters={"to": other}, to_block=receipt["blockNumber"]
    )
    assert [log["transactionHash"] for log in filtered] == [tx_hash]

    # State at the block before the transfer, through web3's block_identifier.
    assert token.functions.balanceOf(other).call(block_identifier=receipt["blockNumber"] - 1) == 0
    tx = w3.eth.get_transaction(tx_hash)
    assert tx["from"] == me and tx["to"] == token.address
    assert token.decode_function_input(tx["input"])[1] == {"to": other, "value": 250}


def test_reverts_surface_as_web3_exceptions(w3: Web3) -> None:
    reverter = _deploy(w3, "Reverter")
    with pytest.raises(ContractCustomError) as custom:
        reverter.functions.failCustom(5).call()
    selector = Web3.keccak(text="ReverterUnauthorized(address,uint256)")[:4]
    assert str(custom.value.data).startswith("0x" + selector.hex())
    with pytest.raises(ContractLogicError, match="Reverter: always fails"):
        reverter.functions.failReason().call()
    with pytest.raises(ContractLogicError, match="Reverter: zero"):
        reverter.functions.failIfZero(0).estimate_gas()
    tx_hash = reverter.functions.store(77).transact()
    w3.eth.wait_for_transaction_receipt(tx_hash, timeout=TIMEOUT, poll_latency=0.05)
    assert reverter.functions.stored().call() == 77


def test_nonce_too_low_is_a_web3_rpc_error(w3: Web3, any_backend: Backend) -> None:
    account = _account(any_backend)
    fees = {"maxFeePerGas": w3.eth.gas_price * 2 + 1, "maxPriorityFeePerGas": 1}
    tx = {"to": account.address, "value": 0, "gas": 21_000, "nonce": 0, "chainId": any_backend.chain_id, **fees}
    signed = account.sign_transaction(tx)
    with pytest.raises(Web3RPCError, match="nonce too low"):
        w3.eth.send_raw_transaction(signed.raw_transaction)


async def _next(queue: asyncio.Queue[Any], predicate: Any, timeout: float = TIMEOUT) -> Any:
    async def take() -> Any:
        while True:
            item = await queue.get()
            if predicate(item):
                return item

    return await asyncio.wait_for(take(), timeout)


async def _subscriptions(backend: Backend) -> dict[str, Any]:
    account = _account(backend)
    artifact = load_contracts()["TestToken"]
    async with AsyncWeb3(WebSocketProvider(backend.ws_url, max_connection_retries=1)) as w3:
        if backend.profile.qbft_extra_data:
            w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
        assert await w3.is_connected()
        assert await w3.eth.chain_id == backend.chain_id
        heads_id = await w3.eth.subscribe("newHeads")
        pending_id = await w3.eth.subscribe("newPendingTransactions")
        queues: dict[Any, asyncio.Queue[Any]] = {heads_id: asyncio.Queue(), pending_id: asyncio.Queue()}

        async def pump() -> None:
            async for message in w3.socket.process_subscriptions():
                queue = queues.get(message["subscription"])
                if queue is not None:
                    queue.put_nowait(message["result"])

        pump_task = asyncio.create_task(pump())
        try:
            nonce = await w3.eth.get_transaction_count(account.address, "pending")
            latest = await w3.eth.get_block("latest")
            tip = await w3.eth.max_priority_fee
            fees = {"maxFeePerGas": 2 * latest.get("baseFeePerGas", 0) + tip, "maxPriorityFeePerGas": tip}
            factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
            deploy = await factory.constructor(SUPPLY).build_transaction(
                {"from": account.address, "nonce": nonce, "gas": 2_000_000, **fees}
            )
            deploy_hash = await w3.eth.send_raw_transaction(account.sign_transaction(deploy).raw_transaction)
            receipt = await w3.eth.wait_for_transaction_receipt(deploy_hash, timeout=TIMEOUT, poll_latency=0.05)
            token = w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])

            logs_id = await w3.eth.subscribe("logs", {"address": token.address})
            queues[logs_id] = asyncio.Queue()
            other = backend.extra_accounts[1].address
            transfer = await token.functions.transfer(other, 9).build_transaction(
                {"from": account.address, "nonce": nonce + 1, "gas": 100_000, **fees}
            )
            transfer_hash = await w3.eth.send_raw_transaction(account.sign_transaction(transfer).raw_transaction)
            transfer_receipt = await w3.eth.wait_for_transaction_receipt(
                transfer_hash, timeout=TIMEOUT, poll_latency=0.05
            )
            log = await _next(queues[logs_id], lambda item: item["transactionHash"] == transfer_hash)
            head = await _next(queues[heads_id], lambda item: item["number"] == transfer_receipt["blockNumber"])
            pending = await _next(queues[pending_id], lambda item: item in (deploy_hash, transfer_hash))
            event = token.events.Transfer().process_log(log)
            unsubscribed = await w3.eth.unsubscribe(logs_id)
            return {
                "log": log,
                "event": event,
                "head": head,
                "pending": pending,
                "receipt": transfer_receipt,
                "hashes": (deploy_hash, transfer_hash),
                "other": other,
                "unsubscribed": unsubscribed,
                "subscription_ids": (heads_id, pending_id, logs_id),
            }
        finally:
            pump_task.cancel()
            await asyncio.gather(pump_task, return_exceptions=True)


def test_async_websocket_subscriptions(any_backend: Backend) -> None:
    seen = asyncio.run(asyncio.wait_for(_subscriptions(any_backend), 3 * TIMEOUT))
    receipt = seen["receipt"]
    assert len(set(seen["subscription_ids"])) == 3
    assert seen["event"]["args"]["to"] == seen["other"] and seen["event"]["args"]["value"] == 9
    assert seen["log"]["blockHash"] == receipt["blockHash"]
    assert seen["head"]["hash"] == receipt["blockHash"]
    assert seen["head"]["parentHash"] and seen["head"]["stateRoot"]
    assert seen["pending"] in seen["hashes"]
    assert seen["unsubscribed"] is True


def test_event_and_block_filters(w3: Web3, any_backend: Backend) -> None:
    token = _deploy(w3, "TestToken", SUPPLY)
    other = any_backend.extra_accounts[1].address
    event_filter = token.events.Transfer.create_filter(from_block="latest", argument_filters={"to": other})
    block_filter = w3.eth.filter("latest")
    tx_hash = token.functions.transfer(other, 11).transact()
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=TIMEOUT, poll_latency=0.05)
    entries = event_filter.get_new_entries()
    assert [(e["transactionHash"], e["args"]["value"]) for e in entries] == [(tx_hash, 11)]
    assert event_filter.get_new_entries() == []
    assert receipt["blockHash"] in block_filter.get_new_entries()
    assert [e["transactionHash"] for e in event_filter.get_all_entries()] == [tx_hash]
    assert w3.eth.uninstall_filter(event_filter.filter_id) is True
    assert w3.eth.uninstall_filter(block_filter.filter_id) is True
