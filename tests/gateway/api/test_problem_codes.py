"""Every problem ``code`` the gateway can answer is listed in the README, so a client knows every name it may have
to branch on; and the answer carries ``code`` beside ``type``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from gateway import app, workers
from gateway.exceptions import GatewayError, IdempotentReplay, problem_body

README = Path(__file__).resolve().parents[3] / "README.md"


def error_classes(root: type[GatewayError] = GatewayError) -> Iterator[type[GatewayError]]:
    for sub in root.__subclasses__():
        yield sub
        yield from error_classes(sub)


def test_every_code_is_documented() -> None:
    assert app.routers() and workers.attach  # every domain imported, so every error class is defined
    text = README.read_text()
    table = text[text.index("The codes (a test keeps this list complete)") :][:3000]
    documented = set(re.findall(r"`([a-z0-9-]+)`", table))
    codes = {c.type_slug for c in error_classes() if c is not IdempotentReplay}
    assert codes - documented == set()


def test_a_problem_names_its_code() -> None:
    body = problem_body(409, "Conflict", "the trade is failed", "invalid-state", "/v1/trades/x/sign")
    assert body["code"] == "invalid-state" and body["type"].endswith("/" + body["code"])
