"""The page sends a self-held wallet's step only if its calldata is the function the person chose: the 4-byte
selectors ``wallet.js`` knows each step by must be those of the compiled contracts' functions, or the page would
refuse every honest step (or let a wrong one through); and the ERC-20 calls ``allowances.js`` builds itself must be
the tokens' own."""

from __future__ import annotations

import re

from web3 import Web3

from contracts.artifacts import load_artifact
from gateway.web.routes import STATIC

# the page's step (the API path it asked) -> the contract and function the gateway hands back for it
STEPS = {
    "margin-call": ("RepoEngine", "callMargin"),
    "repurchase": ("RepoEngine", "repurchase"),
    "margin": ("RepoEngine", "postMargin"),
    "withdraw-excess": ("RepoEngine", "withdrawExcess"),
    "terminate": ("RepoEngine", "terminate"),
    "default": ("RepoEngine", "declareDefault"),
    "close-out": ("RepoEngine", "closeOut"),
    "early-repurchase": ("RepoEngine", "repurchaseEarly"),
    "substitution": ("RepoEngine", "substitute"),
    "position-transfer": ("RepoPosition", "transferFrom"),
}


def _type(item: dict[str, object]) -> str:
    kind = str(item["type"])
    if kind.startswith("tuple"):
        components = item["components"]
        assert isinstance(components, list)
        return "(" + ",".join(_type(c) for c in components) + ")" + kind[len("tuple") :]
    return kind


def _selector(contract: str, function: str) -> tuple[str, list[str]]:
    (item,) = [i for i in load_artifact(contract).abi if i.get("type") == "function" and i["name"] == function]
    signature = f"{function}({','.join(_type(i) for i in item['inputs'])})"
    return Web3.keccak(text=signature)[:4].hex().removeprefix("0x"), [str(i["name"]) for i in item["inputs"]]


def test_every_step_the_page_sends_is_known_by_its_contract_selector() -> None:
    source = (STATIC / "wallet.js").read_text()
    table = source[source.index("const SELECTORS = {") : source.index("};", source.index("const SELECTORS = {"))]
    known = dict(re.findall(r'"?([a-z-]+)"?: "([0-9a-f]{8})"', table))
    assert set(known) == set(STEPS)
    for step, (contract, function) in STEPS.items():
        selector, inputs = _selector(contract, function)
        assert known[step] == selector, (step, function)
        # the page reads the repo id as the first word (the position's token id as the third, after from and to)
        assert inputs[:1] == ["repoId"] if contract == "RepoEngine" else inputs == ["from", "to", "tokenId"]


def test_the_allowance_calls_the_page_builds_are_the_tokens_own() -> None:
    source = (STATIC / "allowances.js").read_text()
    for name, function, inputs in (("APPROVE", "approve", ["spender", "value"]), ("ALLOWANCE", "allowance", None)):
        (known,) = re.findall(rf'export const {name} = "([0-9a-f]{{8}})"', source)
        selector, names = _selector("CashToken", function)
        assert known == selector and len(names) == 2, (name, names)
        if inputs is not None:
            assert names == inputs  # the spender (the engine) first, then the amount
