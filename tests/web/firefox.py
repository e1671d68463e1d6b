"""Debian's Firefox ESR driven over WebDriver BiDi, the W3C protocol Firefox itself speaks.

Playwright 1.65 reaches Firefox over BiDi too, but it sends ``emulation.setMediaFeaturesOverride`` on every new
context, a command ESR 153 does not know; the part of the protocol a page test needs is small, so the tests speak it
directly: user contexts (a cookie jar each: another person), navigation, real pointer and key input on elements the
page's own labels and roles name, and the uncaught errors the page raises."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

FIREFOX = Path("/usr/bin/firefox-esr")
STARTUP_SECONDS = 60.0
COMMAND_SECONDS = 60.0
CLICK_ATTEMPTS = 5  # a live page may move a target out of view between the scroll and the click

# finds an element the way a person names it: by its label's text, or by role and accessible name, in ``scope``
_FIND = """(how, name, scope) => {
  const root = scope ? document.querySelector(scope) : document;
  if (!root) return null;
  const text = (e) => (e.getAttribute('aria-label') || e.textContent || '').replace(/\\s+/g, ' ').trim();
  const shown = (e) => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length) && !e.closest('[hidden]');
  if (how === 'label') {
    const label = [...root.querySelectorAll('label')].find((l) => text(l) === name && l.control && shown(l.control));
    return label ? label.control : null;
  }
  if (how === 'button') return [...root.querySelectorAll('button')].find((b) => text(b) === name && shown(b)) || null;
  if (how === 'css') return [...root.querySelectorAll(name)].find(shown) || null;
  throw new Error('unknown locator ' + how);
}"""


class BiDiError(Exception):
    """Firefox answered a command with an error, or a condition did not come true in time."""


@dataclass
class Firefox:
    """One headless Firefox with a WebDriver BiDi session; uncaught page errors collect in ``errors`` as events are
    read (``page_errors()`` reads the rest first)."""

    process: subprocess.Popen[bytes]
    socket: ClientConnection
    errors: list[str] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def send(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """A command and its answer; events that arrive meanwhile are read on the way."""
        command_id = next(self._ids)
        self.socket.send(json.dumps({"id": command_id, "method": method, "params": params}))
        deadline = time.monotonic() + COMMAND_SECONDS
        while True:
            message = json.loads(self.socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("type") == "event":
                self._event(message)
            elif message.get("id") == command_id:
                if message.get("type") == "error":
                    raise BiDiError(f"{method}: {message.get('error')}: {message.get('message')}")
                result: dict[str, Any] = message["result"]
                return result

    def _event(self, message: dict[str, Any]) -> None:
        params = message.get("params", {})
        if message.get("method") == "log.entryAdded" and params.get("type") == "javascript":
            self.errors.append(str(params.get("text")))

    def page_errors(self) -> list[str]:
        """The uncaught errors so far, those still on the wire included (a round trip reads every event before it)."""
        self.send("session.status", {})
        return list(self.errors)

    def person(self) -> Tab:
        """A tab in a user context of its own: cookies and storage no other tab sees."""
        user_context = self.send("browser.createUserContext", {})["userContext"]
        context = self.send("browsingContext.create", {"type": "tab", "userContext": user_context})["context"]
        self.send("browsingContext.setViewport", {"context": context, "viewport": {"width": 1280, "height": 900}})
        return Tab(self, context)


@contextmanager
def firefox() -> Iterator[Firefox]:
    """Firefox ESR headless on a fresh profile, its BiDi port chosen by the system and read back from the profile."""
    profile = Path(tempfile.mkdtemp(prefix="reponet-firefox-"))
    process = subprocess.Popen(
        [str(FIREFOX), "--headless", "--no-remote", "--profile", str(profile), "--remote-debugging-port=0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        server = profile / "WebDriverBiDiServer.json"
        deadline = time.monotonic() + STARTUP_SECONDS
        while not server.exists() or not server.read_text().strip().endswith("}"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise BiDiError(f"Firefox did not open its WebDriver BiDi port (exit {process.poll()})")
            time.sleep(0.1)
        port = json.loads(server.read_text())["ws_port"]
        with connect(f"ws://127.0.0.1:{port}/session", max_size=None, open_timeout=STARTUP_SECONDS) as socket:
            browser = Firefox(process, socket)
            browser.send("session.new", {"capabilities": {"alwaysMatch": {"acceptInsecureCerts": False}}})
            browser.send("session.subscribe", {"events": ["log.entryAdded"]})
            try:
                yield browser
            finally:
                try:
                    browser.send("browser.close", {})
                except (BiDiError, OSError, TimeoutError):  # a browser already going away
                    pass
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=20)
        shutil.rmtree(profile, ignore_errors=True)


@dataclass
class Tab:
    """One person's page: navigation, reading the DOM, and real pointer and key input."""

    browser: Firefox
    context: str

    def goto(self, url: str) -> None:
        self.browser.send("browsingContext.navigate", {"context": self.context, "url": url, "wait": "complete"})

    def call(self, function: str, *args: Any) -> Any:
        """``function`` called in the page with JSON-able ``args``; its value (a node comes back as a reference)."""
        result = self.browser.send(
            "script.callFunction",
            {
                "functionDeclaration": function,
                "arguments": [_local(a) for a in args],
                "target": {"context": self.context},
                "awaitPromise": True,
            },
        )
        if result.get("type") == "exception":
            raise BiDiError(f"in the page: {result['exceptionDetails'].get('text')}")
        return _value(result["result"])

    def wait(self, function: str, *args: Any, timeout: float = 30.0) -> Any:
        """Poll ``function`` until it returns something truthy: a condition, not a sleep."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.call(function, *args)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BiDiError(f"not true within {timeout} s: {function} {args}")
            time.sleep(0.2)

    def find(self, how: str, name: str, scope: str = "", timeout: float = 30.0) -> dict[str, str]:
        """The element a person would name so, once it is shown: ``label`` text, ``button`` name or ``css``."""
        node: dict[str, str] = self.wait(_FIND, how, name, scope, timeout=timeout)
        return node

    def text(self, selector: str) -> str:
        return str(self.call("(s) => { const e = document.querySelector(s); return e ? e.innerText : ''; }", selector))

    def wait_text(self, text: str, scope: str = "body", timeout: float = 30.0) -> None:
        self.wait(
            "(s, t) => { const e = document.querySelector(s); return !!e && e.innerText.includes(t); }",
            scope,
            text,
            timeout=timeout,
        )

    def click(self, how: str, name: str, scope: str = "") -> None:
        """A real mouse click at the element's centre (taken when the click is dispatched), scrolled into view first.
        The page updates live: a list above it may grow between the scroll and the click and push it out of view,
        which Firefox refuses ("move target out of bounds"), so it is scrolled to and clicked again."""
        node = self.find(how, name, scope)
        origin = {"type": "element", "element": node}
        pointer = [
            {"type": "pointerMove", "x": 0, "y": 0, "origin": origin},
            {"type": "pointerDown", "button": 0},
            {"type": "pointerUp", "button": 0},
        ]
        mouse = {"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": pointer}
        for attempt in range(CLICK_ATTEMPTS):
            self.browser.send(
                "script.callFunction",
                {
                    "functionDeclaration": "(e) => e.scrollIntoView({block: 'center', behavior: 'instant'})",
                    "arguments": [node],
                    "target": {"context": self.context},
                    "awaitPromise": False,
                },
            )
            try:
                self.browser.send("input.performActions", {"context": self.context, "actions": [mouse]})
                return
            except BiDiError as exc:
                if "out of bounds" not in str(exc) or attempt == CLICK_ATTEMPTS - 1:
                    raise

    def choose(self, label: str, option_text: str, scope: str = "") -> None:
        """In the labelled select, the option whose text contains ``option_text`` (as selectOption does: the value
        set and the input and change events the page listens to)."""
        chosen = self.call(
            """(e, t) => {
              const option = [...e.options].find((o) => o.textContent.includes(t));
              if (!option) return false;
              e.value = option.value;
              e.dispatchEvent(new Event('input', { bubbles: true }));
              e.dispatchEvent(new Event('change', { bubbles: true }));
              return true;
            }""",
            self.find("label", label, scope),
            option_text,
        )
        if chosen is not True:
            raise BiDiError(f"no option with {option_text!r} in {label!r}")

    def fill(self, label: str, value: str, scope: str = "") -> None:
        """Click the labelled field, clear it, and type ``value`` key by key."""
        self.click("label", label, scope)
        self.call("(e) => { e.value = ''; }", self.find("label", label, scope))
        keys = [step for ch in value for step in ({"type": "keyDown", "value": ch}, {"type": "keyUp", "value": ch})]
        self.browser.send(
            "input.performActions",
            {"context": self.context, "actions": [{"type": "key", "id": "keyboard", "actions": keys}]},
        )
        typed = self.call("(e) => e.value", self.find("label", label, scope))
        if typed != value:
            raise BiDiError(f"typed {value!r} into {label!r}, the field holds {typed!r}")


def _local(value: Any) -> dict[str, Any]:
    """A BiDi local value: a node reference passes as is, anything else as a JSON string the page parses."""
    if isinstance(value, dict) and "sharedId" in value:
        return {"sharedId": value["sharedId"]}
    if isinstance(value, str):
        return {"type": "string", "value": value}
    if isinstance(value, bool):
        return {"type": "boolean", "value": value}
    if isinstance(value, int | float):
        return {"type": "number", "value": value}
    raise TypeError(f"no BiDi form for {type(value).__name__}")


def _value(remote: dict[str, Any]) -> Any:
    """A BiDi remote value as Python: primitives and arrays of them; a node as its ``{"sharedId": ...}``."""
    kind = remote.get("type")
    if kind == "node":
        return {"sharedId": remote["sharedId"]}
    if kind in ("undefined", "null"):
        return None
    if kind == "array":
        return [_value(item) for item in remote.get("value", [])]
    if kind == "object":
        return {str(_value(k) if isinstance(k, dict) else k): _value(v) for k, v in remote.get("value", [])}
    return remote.get("value")
