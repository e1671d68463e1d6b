"""The settlement API by resource: settlements, repo lifecycle steps, two-party instructions; one router for the app."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.settlement.routes import instructions, positions, repos, settlements

router = APIRouter()
router.include_router(settlements.router)
router.include_router(repos.router)
router.include_router(instructions.router)
router.include_router(positions.router)
