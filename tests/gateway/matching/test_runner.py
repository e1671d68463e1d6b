"""The matching service's loop against a fake gateway (httpx MockTransport): instructions in order, each answer
posted with the service key, and an answer the gateway failed to take sent again rather than the order re-run."""

from __future__ import annotations

import json

import httpx

from gateway.matching.runner import InstructionWire, OrderWire, Runner
from tests.gateway.matching.factories import BP, make_book


def _order(order_id: str, member: str, side: str, rate_bp: int, size: int, tif: str = "limit") -> OrderWire:
    return OrderWire(
        order_id=order_id,
        member=member,
        basket_id="GC-EUR-A",
        tenor="ON",
        forward_start_days=0,
        side=side,
        tif=tif,
        rate=str(rate_bp * BP),
        size_units=str(size),
        min_fill_units="1",
    )


class FakeGateway:
    def __init__(self, instructions: list[InstructionWire], fail_posts: int = 0) -> None:
        self.instructions, self.fail_posts = instructions, fail_posts
        self.outcomes: list[dict[str, object]] = []
        self.keys: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.keys.add(request.headers.get("X-API-Key", ""))
        if request.url.path == "/v1/gc/instructions":
            after = int(request.url.params["after"])
            data = [i for i in self.instructions if i["sequence"] > after]
            return httpx.Response(200, json={"data": data, "next_cursor": None})
        if self.fail_posts:
            self.fail_posts -= 1
            return httpx.Response(503)
        self.outcomes.append(json.loads(request.content))
        return httpx.Response(204)


def test_runner_applies_instructions_in_order_and_resends_unsent_answers() -> None:
    instructions = [
        InstructionWire(sequence=1, action="submit", order=_order("l1", "A", "lend", 340, 100), order_id=None),
        InstructionWire(sequence=2, action="submit", order=_order("b1", "B", "borrow", 350, 60), order_id=None),
        InstructionWire(sequence=3, action="cancel", order=None, order_id="l1"),
        InstructionWire(sequence=4, action="cancel", order=None, order_id="l1"),
    ]
    gateway = FakeGateway(instructions, fail_posts=1)
    http = httpx.Client(transport=httpx.MockTransport(gateway), base_url="http://gateway")
    runner = Runner(http, make_book(), api_key=lambda: "svc-key")
    try:
        runner.step()
    except httpx.HTTPStatusError:
        pass  # the first answer was refused: kept, not lost
    assert runner.unsent is not None and runner.after == 0
    assert runner.step() == 3 and runner.step() == 0
    assert [o["sequence"] for o in gateway.outcomes] == [1, 2, 3, 4]
    assert gateway.outcomes[1]["fills"] == [
        {"sequence": 1, "lend_order_id": "l1", "borrow_order_id": "b1", "rate": str(340 * BP), "amount_units": "60"}
    ]
    assert gateway.outcomes[2]["orders"] == [
        {"order_id": "l1", "status": "cancelled", "filled_units": None, "cancel_reason": "member"}
    ]
    assert gateway.outcomes[3]["refused"] == "no live order l1"
    assert gateway.keys == {"svc-key"}
