"""The settlement API by resource: settlements, repo lifecycle steps, two-party instructions, positions."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.settlement.routes import instructions, positions, repos, settlements

ROUTERS: tuple[APIRouter, ...] = (settlements.router, repos.router, instructions.router, positions.router)
