"""The finishing pass over the generated OpenAPI document: what every route shares, declared once.

FastAPI writes each route's own answers; the answers that come from the layers around every route (validation,
authentication, permissions, rate limits, size limits, an unreachable chain, idempotency) are added here, so a
client generated from the document knows every status it can meet and that each carries the same problem shape."""

from __future__ import annotations

from typing import Any

from gateway.api.errors import PROBLEM_JSON, Problem

IDEMPOTENCY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Retry-safe request: the work, its answer and its audit entry commit together; the same key "
    "from the same caller returns the first answer (status and body, refusals included) for 24 hours. While the "
    "first is still running: 409 idempotency-in-flight with Retry-After. 5xx and 429 answers are not kept (nothing "
    "was done; send the key again). Answers carrying secrets are not stored; their replay is refused (422).",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,64}$"},
}

WRITE_METHODS = ("post", "put", "patch", "delete")
# why each status can come from any /v1 route, whatever the route itself does
COMMON: dict[str, str] = {
    "400": "Malformed request: body not JSON, a bad Idempotency-Key or cursor, or a refusal the client can fix "
    "(`code` names it).",
    "401": "Not authenticated (no, expired or revoked credentials; `mfa-required`).",
    "403": "Authenticated, but without the permission or the object (`forbidden`, `step-up-required`).",
    "404": "The object does not exist or is not visible to the caller (`not-found`).",
    "422": "The request does not match the schema (`validation`, with `errors`) or names something that is not "
    "what it must be (`not-a-token`, `idempotency-key-reused`).",
    "429": "Rate limited (`rate-limited`); see Retry-After.",
    "503": "The chain is out of reach (`chain-unavailable`), an outage the client should retry after Retry-After.",
}
WRITES: dict[str, str] = {
    "409": "The state does not allow it (`conflict`, `contract-refused` naming the contract's error, "
    "`four-eyes`, `idempotency-in-flight`).",
    "413": "Request body too large (`payload-too-large`).",
    "502": "The chain answered the call with a failure that is neither a refusal nor an outage (`chain`).",
}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    """Adds the shared answers and the Idempotency-Key header to every /v1 operation (a route's own declaration of
    a status wins)."""
    schema.setdefault("components", {}).setdefault("schemas", {}).setdefault(
        "Problem", Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    )
    for path, item in schema["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, operation in item.items():
            if method not in ("get", *WRITE_METHODS):
                continue
            declared = operation.setdefault("responses", {})
            shared = dict(COMMON)
            if method in WRITE_METHODS:
                shared.update(WRITES)
                if not path.startswith(("/v1/auth/", "/v1/oauth/")):
                    operation.setdefault("parameters", []).append(IDEMPOTENCY_PARAMETER)
            for status, description in shared.items():
                declared.setdefault(status, _problem(description))
    return schema
