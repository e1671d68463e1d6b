"""A changed sanctions list re-screens every member and wallet: the list file is reloaded by its digest, each new
hit is recorded for an officer and as a ``sanctions.hit`` audit entry the surveillance feed carries with its
organization, and the same list is never screened twice."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from gateway.db.models import AuditEntry, Wallet
from gateway.kyc.rescreen import reload_if_changed, rescreen_if_changed
from gateway.surveillance import feed
from tests.gateway.conftest import SANCTIONS_CSV, Cast, World, application_body

ADDRESS = "0x" + "5a" * 20


def _actions(world: World, action: str) -> list[AuditEntry]:
    with world.ctx.sessions() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_a_changed_list_rescreens_members_and_wallets_once(world: World, cast: Cast, tmp_path: Path) -> None:
    body = application_body(world, "a", beneficial_owners=[{"name": "Olga Smirnova", "ownership_percent": 30,
                                                             "nationality": "GB"}])  # fmt: skip
    applied = cast.a_approver.post("/v1/kyc/applications", json=body)
    assert applied.status_code == 201 and applied.json()["hits"] == []
    with world.ctx.sessions.begin() as session:
        session.add(Wallet(organization_id=world.orgs["a"], address=ADDRESS, kind="self_held", label="cold"))
    listed = tmp_path / "listed.csv"
    listed.write_text(SANCTIONS_CSV)
    world.ctx.settings.sanctions_file = listed
    assert not reload_if_changed(world.ctx)  # the list loaded is this file
    with world.ctx.sessions() as session:
        first = rescreen_if_changed(world.ctx, session)
    assert first is not None and first.hits == 0 and first.members == 1 and first.wallets == 1

    # The list changes: Olga Smirnova (in Cyrillic) and the wallet's address as an alias are listed now.
    listed.write_text(SANCTIONS_CSV + f"SDN-9,Ольга Смирнова,{ADDRESS.upper()},TEST,RU\n")
    assert reload_if_changed(world.ctx)
    with world.ctx.sessions() as session:
        second = rescreen_if_changed(world.ctx, session)
        assert rescreen_if_changed(world.ctx, session) is None  # the same list is not screened again
    assert second is not None and second.hits == 2
    markers = _actions(world, "sanctions.list_changed")
    assert [m.object_id for m in markers][-1] == world.ctx.sanctions.digest
    with world.ctx.sessions() as session:
        hits = [i for i in feed.items(session, after=0, limit=500) if i.action == "sanctions.hit"]
    assert {i.organization_id for i in hits} == {str(world.orgs["a"])}
    assert sorted(i.detail.screened_name for i in hits if i.detail) == sorted(["Olga Smirnova", ADDRESS])
    assert {i.detail.entry_id for i in hits if i.detail} == {"SDN-9"}
    current = cast.officer1.get(f"/v1/kyc/applications/{applied.json()['id']}").json()
    assert {h["list_entry_id"] for h in current["hits"]} == {"SDN-9"}  # for an officer to decide
