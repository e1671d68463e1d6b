"""The request's Announcer, for routes: the hub's bus and the request's session. Kept apart from
``gateway.trading.announce`` so that workers below the HTTP layer (the indexer's instruction expiry) can announce
without importing it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gateway.api.deps import SessionDep
from gateway.trading.announce import Announcer


def announcer(request: Request, session: SessionDep) -> Announcer:
    hub = getattr(request.app.state, "hub", None)
    return Announcer(getattr(hub, "bus", None), session)


AnnouncerDep = Annotated[Announcer, Depends(announcer)]
