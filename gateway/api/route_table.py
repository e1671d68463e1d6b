"""One flat table of routes.

FastAPI (since 0.137) keeps an included router as a node of the route tree and resolves it anew on every request:
each level is walked once to match and again to handle. Over the gateway's ~270 routes in three levels that was
about half a millisecond of CPU per request, before any of the route's own work. ``include_flat`` copies a router's
routes onto the target router instead, so a request walks one list once; what each route is (path, methods,
dependencies, models, responses, tags) is what ``include_router`` would have made of it.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.routing import APIRoute, APIWebSocketRoute


def include_flat(target: APIRouter, router: APIRouter) -> None:
    """Add every route of ``router`` to ``target`` under ``target``'s prefix, in order.

    ``router``'s own prefix, tags, responses and dependencies are already part of each of its routes. A route of a
    kind this does not know (a mount, an included router) is refused rather than dropped. Not carried, as no router
    of the gateway has them: a router's own ``form_limits``, startup hooks or lifespan, and streamed (generator)
    endpoints. Routes added to ``router`` after the copy are not seen."""
    for route in router.routes:
        if isinstance(route, APIRoute):
            target.add_api_route(
                route.path,
                route.endpoint,
                response_model=route.response_model,
                status_code=route.status_code,
                tags=list(route.tags),
                dependencies=list(route.dependencies),
                summary=route.summary,
                description=route.description,
                response_description=route.response_description,
                responses=dict(route.responses),
                deprecated=route.deprecated,
                methods=set(route.methods or ()),
                operation_id=route.operation_id,
                response_model_include=route.response_model_include,
                response_model_exclude=route.response_model_exclude,
                response_model_by_alias=route.response_model_by_alias,
                response_model_exclude_unset=route.response_model_exclude_unset,
                response_model_exclude_defaults=route.response_model_exclude_defaults,
                response_model_exclude_none=route.response_model_exclude_none,
                include_in_schema=route.include_in_schema,
                response_class=route.response_class,
                name=route.name,
                route_class_override=type(route),
                callbacks=route.callbacks,
                openapi_extra=route.openapi_extra,
                generate_unique_id_function=route.generate_unique_id_function,
                strict_content_type=route.strict_content_type,
                max_body_size=route.max_body_size,
                form_limits=route.form_limits,
            )
        elif isinstance(route, APIWebSocketRoute):
            target.add_api_websocket_route(route.path, route.endpoint, name=route.name, dependencies=route.dependencies)
        else:
            raise TypeError(f"include_flat: {type(route).__name__} at {getattr(route, 'path', '?')} is not a route")
