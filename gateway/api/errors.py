"""The one mapping from errors to RFC 9457 problem+json answers."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.chain.transport import NodeUnreachable
from gateway.exceptions import ChainUnavailable, GatewayError, IdempotentReplay, problem_body

logger = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


class Problem(BaseModel):
    """RFC 9457 problem details; ``code`` is the stable name to branch on (``type`` ends with it)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": True})

    type: str
    code: str
    title: str
    status: int
    detail: str
    instance: str


def problem_response(
    request: Request,
    *,
    status: int,
    title: str,
    detail: str,
    slug: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = problem_body(status, title, detail, slug, request.url.path, **extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def gateway_error_response(request: Request, exc: GatewayError) -> Response:
    if isinstance(exc, IdempotentReplay):
        return Response(
            exc.body, status_code=exc.status_code, media_type=exc.media_type, headers={"Idempotent-Replayed": "true"}
        )
    if exc.status >= 500:
        logger.error("%s on %s: %s", type(exc).__name__, request.url.path, exc.detail)
    return problem_response(
        request,
        status=exc.status,
        title=exc.title,
        detail=exc.detail,
        slug=exc.type_slug,
        headers=exc.headers(),
        **exc.extra,  # typed fields of the error (e.g. the policy decision), RFC 9457 extension members
    )


def install_error_handlers(app: FastAPI) -> None:
    async def on_gateway_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GatewayError)
        return gateway_error_response(request, exc)

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors()
        ]
        return problem_response(
            request,
            status=422,
            title="Validation failed",
            detail="the request does not match the schema",
            slug="validation",
            errors=errors,
        )

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers) if exc.headers else None
        return problem_response(
            request,
            status=exc.status_code,
            title=str(exc.detail),
            detail=str(exc.detail),
            slug=f"http-{exc.status_code}",
            headers=headers,
        )

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s", request.url.path)
        return problem_response(
            request, status=500, title="Internal error", detail="an unexpected error occurred", slug="internal"
        )

    async def on_node_unreachable(request: Request, exc: Exception) -> Response:
        """A read the request needed found the node out of reach: 503, whatever route asked."""
        return gateway_error_response(request, ChainUnavailable(f"the node did not answer: {exc}"))

    app.add_exception_handler(GatewayError, on_gateway_error)
    app.add_exception_handler(NodeUnreachable, on_node_unreachable)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries documenting problem+json answers for ``codes``."""
    return {
        code: {"model": Problem, "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        for code in codes
    }
