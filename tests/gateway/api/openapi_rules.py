"""Rules every operation of the OpenAPI document keeps: typed objects only, one list shape, one error shape with
the statuses declared. Pure functions over the document, so the test reports every breach at once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

METHODS = ("get", "post", "put", "patch", "delete")
EVERY_ROUTE = ("400", "401", "403", "404", "422", "503")
WRITES = ("409",)
# RFC 9457 allows extension members on a problem: its open object is the standard's, not an untyped answer
OPEN_BY_DESIGN = {"Problem"}


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = doc["components"]["schemas"][name]
    return schema


def untyped(doc: dict[str, Any]) -> list[str]:
    """Schemas that say nothing of their content: ``{}``, or an object with neither properties nor a typed
    ``additionalProperties``."""
    found: list[str] = []

    def walk(schema: Any, where: str) -> None:
        if isinstance(schema, list):
            for i, s in enumerate(schema):
                walk(s, f"{where}[{i}]")
            return
        if not isinstance(schema, dict):
            return
        if schema == {}:
            found.append(f"{where}: empty schema")
            return
        if schema.get("type") == "object" and "properties" not in schema:
            extra = schema.get("additionalProperties")
            if not isinstance(extra, dict) or extra == {}:
                found.append(f"{where}: object without properties")
        for key in ("properties",):
            for name, sub in schema.get(key, {}).items():
                walk(sub, f"{where}.{name}")
        for key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf"):
            if key in schema and schema[key] is not True:
                walk(schema[key], f"{where}.{key}")

    for name, schema in doc["components"]["schemas"].items():
        if name not in OPEN_BY_DESIGN:
            walk(schema, f"#/components/schemas/{name}")
    for path, method, op in operations(doc):
        for status, response in op.get("responses", {}).items():
            for media, content in response.get("content", {}).items():
                walk(content.get("schema", {}), f"{method.upper()} {path} {status} {media}")
        for media, content in op.get("requestBody", {}).get("content", {}).items():
            walk(content.get("schema", {}), f"{method.upper()} {path} body {media}")
    return found


# Facts about a whole page that a list may carry beside ``data`` and ``next_cursor``: the block the page reflects
# (reads that follow the indexer), the FX rates its repos were valued at (/v1/risk/repos), the bucket and retention
# of a history (/v1/risk/exposure/history), the guard rails of the pair whose prices are listed (/v1/prices/history).
# A new one is added here on purpose, not by accident.
PAGE_FACTS = {"as_of_block", "fx", "bucket_seconds", "retention_days", "guard_rails"}


def list_shapes(doc: dict[str, Any]) -> list[str]:
    """GET answers that are lists but not ``{data, next_cursor}`` (plus page facts, ``PAGE_FACTS``)."""
    found: list[str] = []
    for path, method, op in operations(doc):
        if method != "get":
            continue
        for status, response in op.get("responses", {}).items():
            if not status.startswith("2"):
                continue
            for content in response.get("content", {}).values():
                schema = _resolve(doc, content.get("schema", {}))
                if schema.get("type") == "array":
                    found.append(f"GET {path}: a bare array")
                props = schema.get("properties", {})
                if "data" in props and (set(props) - PAGE_FACTS != {"data", "next_cursor"}):
                    found.append(f"GET {path}: list fields {sorted(props)}, not data and next_cursor")
    return found


def undeclared_problems(doc: dict[str, Any]) -> list[str]:
    """/v1 operations missing a status the layers around every route can answer, or answering it without the
    problem shape."""
    found: list[str] = []
    for path, method, op in operations(doc):
        if not path.startswith("/v1/"):
            continue
        wanted = EVERY_ROUTE + (WRITES if method != "get" else ())
        responses = op.get("responses", {})
        for status in wanted:
            response = responses.get(status)
            if response is None:
                found.append(f"{method.upper()} {path}: {status} not declared")
                continue
            content = response.get("content", {})
            schema = content.get("application/problem+json", {}).get("schema", {})
            if schema.get("$ref", "").rsplit("/", 1)[-1] != "Problem":
                found.append(f"{method.upper()} {path}: {status} is not a problem+json Problem")
    return found
