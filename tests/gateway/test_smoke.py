from tests.gateway.conftest import Cast, World, application_body


def test_member_applies_and_second_officer_approves(world: World, cast: Cast) -> None:
    r = cast.a_approver.post("/v1/wallets", json={"label": "desk"})
    assert r.status_code == 201, r.text
    wallet = r.json()
    r = cast.a_approver.post("/v1/kyc/applications", json=application_body(world, "a"))
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    r = cast.officer1.post(f"/v1/kyc/applications/{app_id}/decision", json={"approve": True})
    assert r.status_code == 200, r.text
    assert world.chain.is_verified(wallet["address"])
