"""An HTTPS client of the gateway's API that logs in with TOTP, refreshes, and steps up when asked.

TOTP codes are single use per 30-second step, so a session remembers the last step it spent and waits for the
next one rather than being refused.
"""

from __future__ import annotations

import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyotp

TOTP_STEP = 30


class ApiError(Exception):
    """A problem+json answer (or a transport failure, status 0)."""

    def __init__(self, status: int, problem: dict[str, Any], method: str = "", path: str = "") -> None:
        self.status = status
        self.problem = problem
        self.slug = str(problem.get("type", "")).rsplit("/", 1)[-1]
        detail = problem.get("detail") or problem.get("title") or problem
        super().__init__(f"{method} {path}: {status} {detail}")


def tls_context(ca_file: Path | None) -> ssl.SSLContext | bool:
    if ca_file is None:
        return True
    return ssl.create_default_context(cafile=str(ca_file))


class Gateway:
    """Unauthenticated calls; :class:`UserSession` adds a user's tokens."""

    def __init__(self, base_url: str, ca_file: Path | None = None, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, verify=tls_context(ca_file), timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if method == "POST":
            headers["Idempotency-Key"] = uuid.uuid4().hex
        try:
            response = self.http.request(method, path, json=body, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise ApiError(0, {"detail": f"cannot reach the gateway at {self.base_url}: {exc}"}, method, path) from exc
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"detail": response.text[:300]}
            raise ApiError(
                response.status_code, problem if isinstance(problem, dict) else {"detail": problem}, method, path
            )
        if response.status_code == 204 or not response.content:
            return None
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.text

    def get(self, path: str, **kw: Any) -> Any:
        return self.call("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.call("POST", path, **kw)


@dataclass
class Credentials:
    email: str
    password: str
    totp_secret: str = ""
    access_token: str = ""
    refresh_token: str = ""
    last_step: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class UserSession:
    """A user's session: login with password and TOTP, refresh on 401, step-up on ``step-up-required``."""

    def __init__(self, gateway: Gateway, creds: Credentials, on_change: Callable[[Credentials], None] | None = None):
        self.gateway = gateway
        self.creds = creds
        self._on_change = on_change

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change(self.creds)

    def fresh_code(self) -> str:
        """A TOTP code of a step this session has not spent yet (waits up to one step)."""
        step = int(time.time()) // TOTP_STEP
        if step <= self.creds.last_step:
            time.sleep((self.creds.last_step + 1) * TOTP_STEP - time.time() + 0.2)
            step = int(time.time()) // TOTP_STEP
        self.creds.last_step = step
        self._changed()
        return pyotp.TOTP(self.creds.totp_secret).at(step * TOTP_STEP)

    def _take(self, pair: dict[str, Any]) -> None:
        self.creds.access_token = pair["access_token"]
        self.creds.refresh_token = pair["refresh_token"]
        self._changed()

    def enroll(self) -> dict[str, Any]:
        """Start TOTP enrolment (first login); returns the secret, its otpauth URI and recovery codes."""
        enrollment: dict[str, Any] = self.gateway.post(
            "/v1/auth/enroll", body={"email": self.creds.email, "password": self.creds.password}
        )
        self.creds.totp_secret = enrollment["totp_secret"]
        self._changed()
        return enrollment

    def accept_invitation(self, token: str) -> dict[str, Any]:
        """Join an organization with an invitation and this session's own password; starts TOTP enrolment
        (finish it with ``confirm``)."""
        enrollment: dict[str, Any] = self.gateway.post(
            "/v1/invitations/accept", body={"token": token, "password": self.creds.password}
        )
        self.creds.totp_secret = enrollment["totp_secret"]
        self._changed()
        return enrollment

    def confirm(self) -> None:
        code = self.fresh_code()
        self._take(
            self.gateway.post(
                "/v1/auth/enroll/confirm",
                body={"email": self.creds.email, "password": self.creds.password, "totp_code": code},
            )
        )

    def login(self) -> None:
        code = self.fresh_code()
        self._take(
            self.gateway.post(
                "/v1/auth/login", body={"email": self.creds.email, "password": self.creds.password, "totp_code": code}
            )
        )

    def _refresh(self) -> None:
        if self.creds.refresh_token:
            try:
                self._take(self.gateway.post("/v1/auth/refresh", body={"refresh_token": self.creds.refresh_token}))
                return
            except ApiError as exc:
                if exc.status not in (400, 401, 403):
                    raise
        self.login()

    def step_up(self) -> None:
        code = self.fresh_code()
        self.gateway.post("/v1/auth/step-up", token=self.creds.access_token, body={"totp_code": code})

    def call(self, method: str, path: str, **kw: Any) -> Any:
        if not self.creds.access_token:
            self._refresh()
        for attempt in range(3):
            try:
                return self.gateway.call(method, path, token=self.creds.access_token, **kw)
            except ApiError as exc:
                if attempt == 2:
                    raise
                if exc.status == 401:
                    self._refresh()
                elif exc.status == 403 and exc.slug == "step-up-required":
                    self.step_up()
                else:
                    raise
        raise AssertionError("unreachable")

    def get(self, path: str, **kw: Any) -> Any:
        return self.call("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.call("POST", path, **kw)

    def every(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        """Every item of a list endpoint, following ``next_cursor`` page by page (oldest first)."""
        items: list[Any] = []
        query: dict[str, Any] = {**(params or {}), "limit": 200, "order": "oldest"}
        while True:
            page = self.get(path, params=query)
            items.extend(page["data"])
            if not page.get("next_cursor"):
                return items
            query["cursor"] = page["next_cursor"]


class SettlementFailed(Exception):
    """A settlement the gateway queued failed or did not finish in time."""


def wait_settlement(
    session: UserSession, answer: dict[str, Any], timeout: float = 90.0, poll: float = 0.25
) -> dict[str, Any]:
    """Poll a settlement the gateway queued (202, ``{"settlement": …}`` or the settlement itself) until final."""
    settlement = answer.get("settlement", answer)
    if not settlement or "id" not in settlement:
        raise SettlementFailed(f"the gateway queued nothing: {answer}")
    deadline = time.monotonic() + timeout
    while settlement["status"] == "pending":
        if time.monotonic() > deadline:
            raise SettlementFailed(f"settlement {settlement['id']} still pending after {timeout:.0f} s")
        time.sleep(poll)
        settlement = session.get(f"/v1/settlements/{settlement['id']}")
    if settlement["status"] != "final":
        raise SettlementFailed(f"settlement {settlement['id']} {settlement['status']}: {settlement.get('error')}")
    return dict(settlement)
