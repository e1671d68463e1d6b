"""KYC onboarding: screening, hit decisions, approval whitelisting on chain, revoke and freeze."""

from gateway.screening.sanctions import ListedParty, SanctionsList, normalize
from tests.gateway.conftest import SANCTIONS_CSV, Cast, World, application_body


def test_fuzzy_screening_matches_variants() -> None:
    sanctions = SanctionsList([ListedParty("1", "Evil Shipping Ltd", (normalize("Evil Shipping Ltd"),))])
    assert sanctions.screen(["EVIL SHIPPING LIMITED"])
    assert sanctions.screen(["Evil Shiping Ltd."])  # a typo
    assert not sanctions.screen(["Good Shipping plc"])


def _apply(world: World, cast: Cast, **overrides: object) -> dict[str, object]:
    response = cast.a_approver.post("/v1/kyc/applications", json=application_body(world, "a", **overrides))
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_screening_hit_blocks_approval_until_decided(world: World, cast: Cast) -> None:
    owners = [{"name": "Ivan Bad-Actor", "ownership_percent": 40, "nationality": "GB"}]
    application = _apply(world, cast, beneficial_owners=owners)
    assert application["status"] == "screening_hits"
    hits = application["hits"]
    assert isinstance(hits, list) and hits[0]["list_entry_id"] == "SDN-1"
    app_id = application["id"]
    blocked = cast.officer1.post(f"/v1/kyc/applications/{app_id}/decision", json={"approve": True})
    assert blocked.status_code == 409
    decided = cast.officer1.post(
        f"/v1/kyc/applications/{app_id}/hits/{hits[0]['id']}/decision", json={"decision": "false_positive"}
    )
    assert decided.status_code == 200 and decided.json()["status"] == "pending_review"
    approved = cast.officer2.post(f"/v1/kyc/applications/{app_id}/decision", json={"approve": True})
    assert approved.status_code == 200, approved.text


def test_true_match_cannot_be_approved(world: World, cast: Cast) -> None:
    application = _apply(world, cast, legal_name="Evil Shipping Company")
    hit = application["hits"][0]  # type: ignore[index]
    cast.officer1.post(
        f"/v1/kyc/applications/{application['id']}/hits/{hit['id']}/decision", json={"decision": "true_match"}
    )
    response = cast.officer2.post(f"/v1/kyc/applications/{application['id']}/decision", json={"approve": True})
    assert response.status_code == 409
    rejected = cast.officer2.post(f"/v1/kyc/applications/{application['id']}/decision", json={"approve": False})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"


def test_lei_must_match_organization_and_be_valid(world: World, cast: Cast) -> None:
    bad = cast.a_approver.post("/v1/kyc/applications", json=application_body(world, "a", lei="5493001KJTIIGC8Y1R13"))
    assert bad.status_code == 422
    other = cast.a_approver.post("/v1/kyc/applications", json=application_body(world, "a", lei=world.lei_of("b")))
    assert other.status_code == 400


def test_approval_whitelists_wallets_with_expiry_and_review_date(world: World, cast: Cast) -> None:
    before = cast.a_approver.post("/v1/wallets", json={"label": "before"}).json()
    assert not world.chain.is_verified(before["address"])
    application = _apply(world, cast)
    cast.officer1.post(f"/v1/kyc/applications/{application['id']}/decision", json={"approve": True})
    org = cast.a_viewer.get(f"/v1/organizations/{world.orgs['a']}").json()
    assert org["kyc_status"] == "approved" and org["onchain_identity_id"] == 1
    assert org["kyc_expiry"] and org["next_review_at"] and org["next_review_at"] < org["kyc_expiry"]
    assert world.chain.is_verified(before["address"])
    identity = world.chain.identities[1]
    assert identity.jurisdiction == "GB" and identity.kyc_expiry > 0
    after = cast.a_approver.post("/v1/wallets", json={"label": "after"}).json()
    assert after["onchain_whitelisted"] and world.chain.is_verified(after["address"])


def test_revoke_and_freeze_are_pushed_on_chain(world: World, cast: Cast) -> None:
    wallet = cast.a_approver.post("/v1/wallets", json={"label": "w"}).json()
    application = _apply(world, cast)
    cast.officer1.post(f"/v1/kyc/applications/{application['id']}/decision", json={"approve": True})
    org_path = f"/v1/organizations/{world.orgs['a']}/kyc"
    assert cast.officer1.post(f"{org_path}/freeze", json={"reason": "investigation"}).status_code == 200
    assert not world.chain.is_verified(wallet["address"])
    assert cast.officer1.post(f"{org_path}/unfreeze", json={"reason": "cleared"}).status_code == 200
    assert world.chain.is_verified(wallet["address"])
    assert cast.a_approver.post(f"{org_path}/revoke", json={"reason": "x"}).status_code == 403
    assert cast.officer2.post(f"{org_path}/revoke", json={"reason": "licence withdrawn"}).status_code == 200
    assert not world.chain.is_verified(wallet["address"])
    assert world.chain.calls.count("revokeIdentity") == 1


def test_one_open_application_at_a_time(world: World, cast: Cast) -> None:
    _apply(world, cast)
    again = cast.a_approver.post("/v1/kyc/applications", json=application_body(world, "a"))
    assert again.status_code == 409


def test_review_queue_for_officers(world: World, cast: Cast) -> None:
    _apply(world, cast)
    queue = cast.officer1.get("/v1/kyc/applications", params={"status": "pending_review"}).json()
    assert len(queue["data"]) == 1


def test_renewal_pushes_new_expiry_and_review_queue(world: World, cast: Cast) -> None:
    first = _apply(world, cast)
    cast.officer1.post(f"/v1/kyc/applications/{first['id']}/decision", json={"approve": True})
    expiry_before = world.chain.identities[1].kyc_expiry
    assert cast.officer1.get("/v1/kyc/reviews", params={"within_days": 30}).json()["data"] == []
    due = cast.officer1.get("/v1/kyc/reviews", params={"within_days": 400}).json()
    assert [o["id"] for o in due["data"]] == [str(world.orgs["a"])]
    assert cast.a_viewer.get("/v1/kyc/reviews").status_code == 403
    renewal = _apply(world, cast)
    cast.officer2.post(f"/v1/kyc/applications/{renewal['id']}/decision", json={"approve": True})
    assert "updateIdentity" in world.chain.calls and world.chain.calls.count("registerIdentity") == 1
    assert world.chain.identities[1].kyc_expiry >= expiry_before


def test_lapsed_kyc_marked_expired(world: World, cast: Cast) -> None:
    from datetime import UTC, datetime, timedelta

    from gateway.kyc.upkeep import expire_lapsed

    application = _apply(world, cast)
    cast.officer1.post(f"/v1/kyc/applications/{application['id']}/decision", json={"approve": True})
    with world.ctx.sessions() as session:
        assert expire_lapsed(session) == []
        lapsed = expire_lapsed(session, now=datetime.now(UTC) + timedelta(days=400))
        assert [o.id for o in lapsed] == [world.orgs["a"]]
    assert cast.a_viewer.get(f"/v1/organizations/{world.orgs['a']}").json()["kyc_status"] == "expired"


def test_screening_records_the_list_it_used(world: World, cast: Cast) -> None:
    import hashlib

    application = _apply(world, cast)
    expected = hashlib.sha256(SANCTIONS_CSV.encode()).hexdigest()
    assert application["screening_list_sha256"] == expected == world.ctx.sanctions.digest


def test_stale_challenges_and_idempotency_records_purged(world: World, cast: Cast) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import func, select

    from gateway.db.models import IdempotencyRecord, SiweChallenge
    from gateway.kyc.upkeep import purge_stale

    headers = {**cast.a_approver.headers, "Idempotency-Key": "purge-me"}
    world.client.post("/v1/wallets", json={"label": "w"}, headers=headers)
    cast.a_approver.post("/v1/wallets/siwe/challenge", json={"address": "0x" + "12" * 20, "label": "x"})
    with world.ctx.sessions() as session:
        assert purge_stale(session) == 0
        assert purge_stale(session, now=datetime.now(UTC) + timedelta(days=2)) == 2
        assert session.execute(select(func.count()).select_from(SiweChallenge)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(IdempotencyRecord)).scalar_one() == 0


def test_newer_sanctions_list_rescreens_before_approval(world: World, cast: Cast, tmp_path: object) -> None:
    from pathlib import Path

    from gateway.screening.sanctions import SanctionsList

    application = _apply(world, cast)
    assert application["status"] == "pending_review"
    newer = Path(str(tmp_path)) / "newer.csv"
    newer.write_text(SANCTIONS_CSV + "SDN-3,Jane Doe,,TEST,GB\n")
    world.ctx.sanctions = SanctionsList.from_csv(newer)
    blocked = cast.officer1.post(f"/v1/kyc/applications/{application['id']}/decision", json={"approve": True})
    assert blocked.status_code == 409
    current = cast.officer1.get(f"/v1/kyc/applications/{application['id']}").json()
    assert current["status"] == "screening_hits" and current["hits"][0]["list_entry_id"] == "SDN-3"
    assert current["screening_list_sha256"] == world.ctx.sanctions.digest
    assert not world.chain.identities
