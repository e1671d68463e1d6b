"""The risk package's errors: one root."""

from __future__ import annotations


class RiskError(Exception):
    """Root of the risk package's errors."""


class GatewayUnavailable(RiskError):
    """The gateway did not answer (the watcher retries on its next tick)."""


class CallRefused(RiskError):
    """The gateway refused a margin call with a final answer (4xx other than a conflict on the same key)."""

    def __init__(self, repo_id: int, status: int, detail: str) -> None:
        super().__init__(f"margin call on repo {repo_id} refused: {status} {detail}")
        self.repo_id = repo_id
        self.status = status
        self.detail = detail
