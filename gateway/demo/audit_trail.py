"""The demo's audit chapter: compliance anchors the audit log's head on chain and verifies the hash chain against the
chain's anchors."""

from __future__ import annotations

import time
from typing import Any

from gateway.demo.exceptions import DemoError
from gateway.demo.stage import Stage, final_settlement
from gateway.ops.client import ApiError, UserSession


def audit(stage: Stage, compliance: UserSession) -> dict[str, Any]:
    stage.chapter("The audit trail is verified")
    anchored = _anchor_when_free(compliance)
    sent = final_settlement(compliance, anchored.get("settlement_id"), "the audit anchor")
    tx_hash = anchored["tx_hash"] or (sent["steps"][-1]["tx_hash"] if sent else None)
    stage.say(f"compliance anchors the audit-log head (entry {anchored['sequence']}) on chain in {tx_hash}")
    report: dict[str, Any] = compliance.get("/v1/audit/verify")
    if not report.get("ok"):
        raise DemoError(f"the audit log does not verify: {report}")
    stage.say(
        f"[green]hash chain intact[/green]: {report['entries']} entries, head {report['head_hash'][:18]}…, "
        f"{report['anchors_checked']} on-chain anchors match"
    )
    return report


def _anchor_when_free(compliance: UserSession, timeout: float = 120.0) -> dict[str, Any]:
    """Anchor the audit head. The gateway also anchors on its own schedule and answers 409 while an anchor is on
    its way to the chain; the demo then waits for that one to land and asks again."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            anchored: dict[str, Any] = compliance.post("/v1/audit/anchor")
            return anchored
        except ApiError as exc:
            if exc.status != 409 or time.monotonic() > deadline:
                raise
        time.sleep(0.5)
