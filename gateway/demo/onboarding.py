"""The demo's first chapter: the operator onboards two members, each member's administrator invites its treasurer,
the treasurer links a self-held wallet (Sign-In with Ethereum) and opens a custodial one, and compliance approves the
KYC application (a second person), which registers the wallet on chain. Every run onboards two new members; their
wallet keys are kept in the data directory (``secrets/demo-wallets.json``)."""

from __future__ import annotations

import secrets

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from gateway.demo.exceptions import DemoError
from gateway.demo.records import Member
from gateway.demo.stage import MAX_UINT, Stage, final_settlement
from gateway.members.validation import lei_with_check_digits
from gateway.ops.chain import ensure_gas, send
from gateway.ops.client import Credentials, UserSession

DEMO_WALLETS = "demo-wallets.json"


def join(stage: Stage, inviter: UserSession, org_id: str, email: str, full_name: str, role: str) -> UserSession:
    """``inviter`` invites a person into the organization; the person accepts with a password of their own and
    enrols TOTP (the invitation's token is all that passes between them)."""
    invitation = inviter.post(
        f"/v1/organizations/{org_id}/invitations", body={"email": email, "full_name": full_name, "role": role}
    )
    session = UserSession(stage.net.gateway, Credentials(email=email, password=secrets.token_urlsafe(18)))
    session.accept_invitation(invitation["token"])
    session.confirm()
    return session


def onboard(stage: Stage, ops: UserSession, compliance: UserSession) -> None:
    stage.chapter("Two banks are onboarded and KYC-approved")
    stored = stage.net.dir.read_json_secret(DEMO_WALLETS)
    for key, label in (("a", "Bank A"), ("b", "Fund B")):
        name = f"{label} plc" if key == "a" else f"{label} LLC"
        name = f"{name} (demo {stage.tag})"
        lei = lei_with_check_digits(f"DEMO{stage.tag}{key.upper()}".ljust(18, "0"))
        org = ops.post("/v1/organizations", body={"name": name, "lei": lei, "jurisdiction": "GB"})
        admin = join(
            stage, ops, org["id"], f"admin-{key}-{stage.tag.lower()}@demo.example", f"{label} admin", "member_admin"
        )
        email = f"treasury-{key}-{stage.tag.lower()}@demo.example"
        session = join(stage, admin, org["id"], email, f"{label} treasurer", "approver")
        wallet: LocalAccount = Account.create()
        member = Member(key=key, name=name, lei=lei, session=session, wallet=wallet, org_id=str(org["id"]), admin=admin)
        stage.members[key] = member
        stored[f"{stage.tag}-{key}"] = {
            "organization": name,
            "address": wallet.address,
            "private_key": "0x" + bytes(wallet.key).hex(),
        }
        stage.net.dir.write_json_secret(DEMO_WALLETS, stored)
        stage.say(
            f"operator onboards [bold]{name}[/bold] (LEI {lei}) and invites its first administrator, "
            f"who invites the treasurer {email}; each sets a password and enrols TOTP"
        )
        challenge = session.post(
            "/v1/wallets/siwe/challenge", body={"address": wallet.address, "label": "treasury (self-held)"}
        )
        signature = Account.sign_message(encode_defunct(text=challenge["message"]), wallet.key).signature
        linked = session.post(
            "/v1/wallets/siwe/verify",
            body={"message": challenge["message"], "signature": "0x" + bytes(signature).hex()},
        )
        member.wallet_id = str(linked["id"])
        custodial = session.post("/v1/wallets", body={"label": "custody"})
        member.custodial = custodial["address"]
        stage.say(
            f"links its self-held wallet {wallet.address} (Sign-In with Ethereum) "
            f"and opens a custodial wallet {member.custodial}"
        )
        application = session.post(
            "/v1/kyc/applications",
            body={
                "legal_name": name,
                "lei": lei,
                "jurisdiction": "GB",
                "registered_address": f"{1 + ord(key) - ord('a')} Demo Street, London",
                "investor_class": 1,
                "beneficial_owners": [{"name": f"{label} Holdings", "ownership_percent": 100, "nationality": "GB"}],
                "documents": [{"kind": "certificate_of_incorporation", "sha256": secrets.token_hex(32)}],
            },
        )
        for hit in application.get("hits", []):
            compliance.post(
                f"/v1/kyc/applications/{application['id']}/hits/{hit['id']}/decision",
                body={"decision": "false_positive", "note": "demo: different entity"},
            )
        decided = compliance.post(
            f"/v1/kyc/applications/{application['id']}/decision",
            body={"approve": True, "note": "demo: documents verified"},
        )
        final_settlement(compliance, decided.get("settlement_id"), f"{name}: the registration")
        verified = stage.registry.functions.isVerified(wallet.address).call()
        if not verified:
            raise DemoError(f"{name}: approved, but its wallet is not verified on chain")
        identity = stage.registry.functions.identityOf(wallet.address).call()
        stage.say(
            f"KYC application screened, approved by a second person (compliance); "
            f"[green]verified on chain[/green] (identity #{identity})"
        )
        ensure_gas(stage.w3, stage.net.operator, wallet.address)
    for member in stage.members.values():
        for t in (stage.cash, stage.gov, stage.corp):
            send(
                stage.w3,
                member.wallet,
                stage.tok(t).functions.approve(stage.engine.address, MAX_UINT),
                f"{member.name}: approve the engine for {t.symbol}",
            )
    stage.say("both members let the repo engine move their cash and bonds (ERC-20 approvals)")
