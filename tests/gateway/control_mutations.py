# ruff: noqa: E501 - a table of code snippets
"""Mutation check of the gateway's security controls: disable one control at a time and show that its test fails.

Run by hand (it edits gateway source files in place and restores each one at once):

    .venv/bin/python -m tests.gateway.control_mutations [name-filter ...]

Each row names the control, the edit that disables it, and the tests that must then fail.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
T = "tests/gateway/"
AUTH = T + "auth/test_auth.py::"
MATRIX = T + "api/test_authz_matrix.py::"
INVITES = T + "members/test_invitations.py::"
VIEWS = T + "members/test_operator_views.py::"
KYC = T + "kyc/test_kyc.py::"
KEYS = T + "wallets/test_keys.py::"
AUDIT = T + "audit/test_audit.py::"
HTTP = T + "api/test_http.py::"
ROTATION = T + "keys/test_rotation.py::"
HOOKS = T + "events/test_webhook_destinations.py::"
AGAINST_CHAIN = T + "audit/test_against_chain.py::"
BACKOFF = T + "auth/test_backoff.py::"
PROXIES = T + "api/test_proxies.py::"
STREAM = T + "stream/test_stream_sessions.py::"
JSON = T + "api/test_bounded_json.py::"

MUTATIONS: list[tuple[str, str, str, str, str]] = [
    (
        "seam: inside the write transaction the custody door asks the chain nothing",
        "gateway/custody/kyc.py",
        "    if chain_checked is not None and chain_checked.lower() == wallet.address.lower():",
        "    if False:",
        T + "custody/test_door_checks.py::test_consent_in_the_write_transaction_asks_the_chain_nothing",
    ),
    (
        "outbox: a KYC approval is a queued registration, nothing written to the chain in the request",
        "gateway/kyc/routes.py",
        "        outbox=registry.registry_outbox(hub),",
        "        outbox=None,",
        T + "kyc/test_registry_outbox.py::test_kyc_approval_is_a_pending_registration_until_the_relayer_sees_it_final",
    ),
    (
        "outbox: a freeze is queued for the KYC agent's account",
        "gateway/members/routes.py",
        "            outbox=registry.registry_outbox(hub),",
        "            outbox=None,",
        T + "kyc/test_registry_outbox.py::test_freeze_takes_effect_here_at_once_and_on_chain_through_the_outbox",
    ),
    (
        "custody: a member's transaction is signed only with its consent",
        "gateway/custody/door.py",
        "    if consent is None or consent.wallet_id != wallet.id or consent.purpose != Purpose.TRANSACTION.value:",
        "    if False:",
        T + "custody/test_door.py::test_a_custodial_step_is_signed_only_with_the_members_consent_to_exactly_it",
    ),
    (
        "custody: the consent covers the exact calldata",
        "gateway/custody/door.py",
        "    if consent.digest != step_digest(wallet.address, step.to, step.data) or step.sender != wallet.address:",
        "    if False:",
        T + "custody/test_door.py::test_a_custodial_step_is_signed_only_with_the_members_consent_to_exactly_it",
    ),
    (
        "custody: only a person of the wallet's own member consents",
        "gateway/custody/door.py",
        "    if person.organization_id != wallet.organization_id:",
        "    if False:",
        T + "custody/test_door.py::test_only_a_fresh_person_of_the_wallets_own_member_consents",
    ),
    (
        "four eyes: the signer's own approval does not count",
        "gateway/policy/service.py",
        "        query = query.where(TradeApproval.user_id != excluding)\n",
        "",
        T + "custody/test_quorum.py::test_the_responding_approver_cannot_approve_and_sign_alone",
    ),
    (
        "argon2id rehash on parameter rise",
        "gateway/auth/passwords.py",
        "    if ph.check_needs_rehash(stored):",
        "    if False:",
        AUTH + "test_password_rehashed_when_parameters_rise",
    ),
    (
        "TOTP single use per time step",
        "gateway/auth/service.py",
        "if step is None or step <= user.totp_last_step:",
        "if step is None:",
        AUTH + "test_totp_code_accepted_once_per_step " + AUTH + "test_step_up_code_cannot_be_replayed",
    ),
    (
        "TOTP enrollment mandatory",
        "gateway/auth/service.py",
        "    if not user.totp_confirmed:\n        session.commit()\n        raise MfaRequired",
        "    if False:\n        session.commit()\n        raise MfaRequired",
        AUTH + "test_unenrolled_user_cannot_log_in",
    ),
    (
        "recovery code single use",
        "gateway/auth/service.py",
        "            RecoveryCode.used_at.is_(None),\n",
        "",
        AUTH + "test_recovery_codes_are_hashed_and_single_use",
    ),
    (
        "JWT algorithm allowlist",
        "gateway/access/tokens.py",
        "            algorithms=ALGORITHMS,",
        '            algorithms=["HS256", "HS512"],',
        AUTH + "test_jwt_other_algorithm_rejected",
    ),
    (
        "JWT audience",
        "gateway/access/tokens.py",
        'options={"require": ["exp", "iat", "sub", "aud", "iss"]},',
        'options={"require": ["exp", "iat", "sub", "iss"], "verify_aud": False},',
        AUTH + "test_jwt_wrong_audience_rejected",
    ),
    (
        "JWT expiry",
        "gateway/access/tokens.py",
        'options={"require": ["exp", "iat", "sub", "aud", "iss"]},',
        'options={"require": ["iat", "sub", "aud", "iss"], "verify_exp": False},',
        AUTH + "test_jwt_expired_rejected",
    ),
    (
        "refresh reuse revokes the family",
        "gateway/auth/service.py",
        '        _end_session(session, auth_session, "refresh_token_reuse")\n',
        "",
        AUTH + "test_refresh_rotates_and_reuse_revokes_family",
    ),
    (
        "logout revokes (session checked per request)",
        "gateway/api/deps.py",
        "    if row is None or row.revoked_at is not None:",
        "    if row is None:",
        AUTH + "test_logout_revokes_access_and_refresh",
    ),
    (
        "step-up freshness",
        "gateway/api/deps.py",
        "    if principal.mfa_at < datetime.now(UTC) - timedelta(seconds=ctx.settings.step_up_seconds):",
        "    if False:",
        AUTH + "test_step_up_required_for_key_operations",
    ),
    (
        "API key scopes",
        "gateway/api/deps.py",
        "        permissions=frozenset(Permission(s) for s in client.scopes if s in CLIENT_SCOPES),",
        "        permissions=frozenset(CLIENT_SCOPES),",
        AUTH + "test_api_key_shown_once_hashed_scoped_revocable",
    ),
    (
        "API key IP allowlist",
        "gateway/api/deps.py",
        "    _check_ip(client, ip)\n",
        "",
        AUTH + "test_api_key_expiry_and_ip_allowlist",
    ),
    (
        "API key expiry and revocation",
        "gateway/api/deps.py",
        "    if client is None or client.revoked_at is not None or client.expires_at <= now:",
        "    if client is None:",
        AUTH + "test_api_key_shown_once_hashed_scoped_revocable " + AUTH + "test_api_key_expiry_and_ip_allowlist",
    ),
    (
        "OAuth2 token scope narrowing",
        "gateway/api/deps.py",
        "    granted = frozenset(Permission(s) for s in claims.scopes if s in principal.permissions)",
        "    granted = principal.permissions",
        AUTH + "test_oauth_client_credentials",
    ),
    (
        "per-object check: wallets",
        "gateway/wallets/routes.py",
        "    if wallet is None or not principal.can_see(wallet.organization_id):",
        "    if wallet is None:",
        MATRIX + "test_cross_organization_matrix",
    ),
    (
        "per-object check: KYC applications",
        "gateway/kyc/routes.py",
        "    if application is None or not principal.can_see(application.organization_id):",
        "    if application is None:",
        MATRIX + "test_cross_organization_matrix",
    ),
    (
        "per-object check: organizations",
        "gateway/members/routes.py",
        "    if org is None or not principal.can_see(org.id):",
        "    if org is None:",
        MATRIX + "test_cross_organization_matrix",
    ),
    (
        "per-object check: API clients",
        "gateway/clients/routes.py",
        "    if client is None or client.organization_id != principal.organization_id:",
        "    if client is None:",
        MATRIX + "test_cross_organization_matrix",
    ),
    (
        "list filtering by organization",
        "gateway/wallets/routes.py",
        "    if not principal.is_operator:\n        query = query.where(Wallet.organization_id",
        "    if False:\n        query = query.where(Wallet.organization_id",
        MATRIX + "test_lists_show_only_own_objects",
    ),
    (
        "server-owned fields rejected",
        "gateway/kyc/schemas.py",
        '    model_config = ConfigDict(\n        extra="forbid",\n        json_schema_extra={\n            "examples": [\n                {\n                    "legal_name"',
        '    model_config = ConfigDict(\n        extra="ignore",\n        json_schema_extra={\n            "examples": [\n                {\n                    "legal_name"',
        MATRIX + "test_server_owned_fields_rejected",
    ),
    (
        "only compliance officers decide",
        "gateway/kyc/routes.py",
        "KycReviewer = Annotated[Principal, Depends(require(Permission.KYC_REVIEW))]",
        "KycReviewer = Annotated[Principal, Depends(require(Permission.KYC_READ))]",
        MATRIX + "test_only_compliance_officers_decide",
    ),
    (
        "four eyes",
        "gateway/kyc/service.py",
        "    if officer_id == application.submitted_by:\n        raise FourEyesViolation()",
        "    if False:\n        raise FourEyesViolation()",
        MATRIX + "test_four_eyes_submitter_cannot_approve",
    ),
    (
        "sanctions hits block approval",
        "gateway/kyc/service.py",
        "    if new:\n        application.status = ApplicationStatus.SCREENING_HITS.value",
        "    if False:\n        application.status = ApplicationStatus.SCREENING_HITS.value",
        KYC + "test_screening_hit_blocks_approval_until_decided",
    ),
    (
        "confirmed match never approved",
        "gateway/kyc/service.py",
        "    if approve and any(h.decision == HitDecision.TRUE_MATCH.value for h in hits):",
        "    if False:",
        KYC + "test_true_match_cannot_be_approved",
    ),
    (
        "LEI check digits",
        "gateway/members/validation.py",
        "    if not lei_checksum_ok(value):",
        "    if False:",
        KYC + "test_lei_must_match_organization_and_be_valid",
    ),
    (
        "revocation pushed on chain",
        "gateway/members/service.py",
        "            ctx.chain.revoke_identity(identity_id=identity)",
        "            pass",
        KYC + "test_revoke_and_freeze_are_pushed_on_chain",
    ),
    (
        "chain failure rolls back the approval",
        "gateway/kyc/service.py",
        "        _whitelist(ctx, session, organization=organization, application=application)",
        "        try:\n            _whitelist(ctx, session, organization=organization, application=application)\n"
        "        except Exception:\n            pass",
        T + "kyc/test_chain_failures.py",
    ),
    (
        "wallet id bound as associated data (both layers)",
        "gateway/keys/envelope.py",
        'def _wrap_aad(owner: str, version: int) -> bytes:\n    return f"reponet/data-key/v{version}/{owner}".encode()\n\n\n'
        'def _data_aad(owner: str) -> bytes:\n    return f"reponet/secret/{owner}".encode()',
        'def _wrap_aad(owner: str, version: int) -> bytes:\n    return f"reponet/data-key/v{version}".encode()\n\n\n'
        'def _data_aad(owner: str) -> bytes:\n    return b"reponet/secret"',
        KEYS + "test_wallet_id_bound_as_associated_data",
    ),
    (
        "private key encrypted at rest",
        "gateway/wallets/service.py",
        "            encrypted_key=sealed.ciphertext,",
        "            encrypted_key=bytes(account.key),",
        KEYS + "test_private_keys_never_in_database_or_responses",
    ),
    (
        "rewrap on rotation",
        "gateway/key_rotation.py",
        "            row.master_version, row.wrapped_data_key = sealed.master_version, sealed.wrapped_data_key",
        "            pass",
        KEYS + "test_rotation_rewraps_and_retirement_destroys_old_versions",
    ),
    (
        "minimum decryption version",
        "gateway/keys/provider.py",
        "        if version < self.min_version:",
        "        if False:",
        KEYS + "test_env_provider_min_version_retires",
    ),
    (
        "SIWE signer",
        "gateway/wallets/service.py",
        "    if not _signed_by(ctx, challenge.address, message, signature):",
        "    if False:",
        KEYS + "test_siwe_rejects_wrong_signer_and_altered_message",
    ),
    (
        "SIWE domain and chain id",
        "gateway/wallets/service.py",
        '    if message != challenge.message:\n        raise InvalidRequest("the message differs from the challenge issued")\n'
        "    if parsed.domain != ctx.settings.siwe_domain or parsed.chain_id != ctx.settings.chain_id:",
        '    if False:\n        raise InvalidRequest("the message differs from the challenge issued")\n    if False:',
        KEYS + "test_siwe_rejects_wrong_signer_and_altered_message",
    ),
    (
        "SIWE nonce single use",
        "gateway/wallets/service.py",
        '    if claimed != 1:\n        raise InvalidRequest("challenge already used")',
        '    if False:\n        raise InvalidRequest("challenge already used")',
        KEYS + "test_siwe_registers_self_held_wallet_once",
    ),
    (
        "SIWE expiry",
        "gateway/wallets/service.py",
        "    if challenge.expires_at <= _now():",
        "    if False:",
        KEYS + "test_siwe_challenge_expires",
    ),
    (
        "audit: entry hash (edit)",
        "gateway/db/audit_log.py",
        "        if recomputed != row.entry_hash:",
        "        if False:",
        AUDIT + "test_edit_detected",
    ),
    (
        "audit: previous-hash link (reorder)",
        "gateway/db/audit_log.py",
        "        if row.prev_hash != prev:",
        "        if False:",
        AUDIT + "test_reorder_detected " + AUDIT + "test_edit_with_recomputed_hash_detected_by_next_link",
    ),
    (
        "audit: sequence gap (delete)",
        "gateway/db/audit_log.py",
        "        if row.sequence != expected:",
        "        if False:",
        AUDIT + "test_delete_detected",
    ),
    (
        "audit: anchors",
        "gateway/db/audit_log.py",
        "            if anchored != row.entry_hash:",
        "            if False:",
        AUDIT + "test_rewritten_tail_caught_by_anchor",
    ),
    (
        "audit: head count (truncation)",
        "gateway/db/audit_log.py",
        "    if current is not None and current[0] != count:",
        "    if False:",
        AUDIT + "test_delete_last_entry_detected",
    ),
    (
        "audit: every state-changing request",
        "gateway/api/middleware.py",
        '        audit_log.append(\n            session,\n            actor=actor,\n            action=f"http.',
        '        (lambda *a, **k: None)(\n            session,\n            actor=actor,\n            action=f"http.',
        AUDIT + "test_state_changes_and_decisions_are_logged",
    ),
    (
        "audit: serialized appends (SQLite)",
        "gateway/db/session.py",
        'conn.exec_driver_sql("BEGIN IMMEDIATE")',
        'conn.exec_driver_sql("BEGIN")',
        T + "audit/test_concurrency.py",
    ),
    (
        "read sessions refuse writes (SQLite)",
        "gateway/db/session.py",
        '            cursor.execute("PRAGMA query_only=ON")',
        "            pass",
        T + "db/test_read_sessions.py::test_read_sessions_refuse_writes",
    ),
    (
        "signing needs an approved member",
        "gateway/signing/service.py",
        "    if org.kyc_status != KycStatus.APPROVED.value:",
        "    if False:",
        T + "trading/test_trading_policy.py::test_custodial_signing_refuses_a_member_whose_kyc_is_not_approved",
    ),
    (
        "signing needs a wallet the registry verifies",
        "gateway/signing/service.py",
        "    if not verified:",
        "    if False:",
        T + "trading/test_trading_policy.py::test_custodial_signing_refuses_a_wallet_the_registry_does_not_verify",
    ),
    (
        "security headers",
        "gateway/api/middleware.py",
        "                headers.extend(item for item in extra if item[0] not in present)",
        "                pass",
        HTTP + "test_security_headers",
    ),
    (
        "request size limit",
        "gateway/api/middleware.py",
        "            if received > self.limit:",
        "            if False:",
        HTTP + "test_chunked_body_counted",
    ),
    (
        "rate limit per IP",
        "gateway/api/middleware.py",
        '                self.ctx.limiter.hit(self.ctx.settings.rate_limit_ip, "ip", client_ip(request))',
        "                pass",
        HTTP + "test_ip_rate_limit",
    ),
    (
        "rate limit per user/key",
        "gateway/api/deps.py",
        "    ctx.limiter.hit(ctx.settings.rate_limit_principal, principal.kind, str(principal.id))",
        "    pass",
        HTTP + "test_per_user_rate_limit",
    ),
    (
        "rate limit on login",
        "gateway/auth/routes.py",
        '    ctx.limiter.hit(ctx.settings.rate_limit_login, "login-ip", client_ip(request))\n'
        '    ctx.limiter.hit(ctx.settings.rate_limit_login, "login-user", email.strip().lower())',
        "    pass",
        HTTP + "test_login_rate_limit_returns_429_with_retry_after",
    ),
    (
        "placeholder secrets refused",
        "gateway/config.py",
        "        if self.environment is Environment.DEVELOPMENT:\n            return self",
        "        return self",
        T + "test_config.py::test_placeholder_jwt_secret_refused_outside_development",
    ),
    (
        "deactivation revokes sessions",
        "gateway/members/service.py",
        '    revoke_user_sessions(session, user_id=user.id, reason="user_deactivated")\n',
        "",
        AUTH + "test_deactivated_user_is_locked_out_at_once",
    ),
    (
        "password change ends other sessions",
        "gateway/auth/service.py",
        '    revoke_user_sessions(session, user_id=user.id, reason="password_changed", keep=session_id)\n',
        "",
        AUTH + "test_password_change_needs_current_password_and_ends_other_sessions",
    ),
    (
        "idempotency keys on POST",
        "gateway/api/deps.py",
        "    idempotency.replay_if_seen(session, request, principal.actor)\n",
        "",
        T + "api/test_idempotency.py::test_retry_with_same_key_replays_without_acting_twice",
    ),
    (
        "rotation rewraps TOTP secrets before retirement",
        "gateway/key_rotation.py",
        '            user.totp_secret_enc = rewrap_small(keys, owner=f"user-totp/{user.id}", blob=user.totp_secret_enc)',
        "            pass",
        KEYS + "test_users_still_log_in_after_rotation_and_retirement",
    ),
    (
        "a running gateway follows the key file",
        "gateway/keys/provider.py",
        "        if self._identity() != self._seen:\n            self._reload()",
        "        pass",
        ROTATION
        + "test_a_running_gateway_follows_a_rotation_with_retirement "
        + ROTATION
        + "test_a_provider_sees_versions_added_by_another_process",
    ),
    (
        "sealing holds the master-key lock",
        "gateway/keys/envelope.py",
        "    if session is not None:\n        hold_shared(session)\n",
        "",
        ROTATION + "test_retirement_waits_for_a_secret_being_sealed_meanwhile",
    ),
    (
        "retirement refuses while anything is sealed under the version",
        "gateway/key_rotation.py",
        "    if remaining:\n        session.rollback()\n        raise RetirementRefused(below, remaining)",
        "    if False:\n        session.rollback()\n        raise RetirementRefused(below, remaining)",
        ROTATION + "test_retirement_refuses_while_a_secret_is_sealed_under_an_old_version",
    ),
    (
        "re-screening against a newer list before approval",
        "gateway/kyc/service.py",
        "    if approve and application.screening_list_sha256 != ctx.sanctions.digest:",
        "    if False:",
        KYC + "test_newer_sanctions_list_rescreens_before_approval",
    ),
    (
        "webhook URL: https and a public host at creation",
        "gateway/events/webhooks.py",
        "    check_url(url, allow_loopback=allow_loopback)\n    endpoint_id = uuid.uuid4()",
        "    endpoint_id = uuid.uuid4()",
        HOOKS + "test_inward_and_plain_http_urls_are_refused",
    ),
    (
        "webhook: resolved address checked when connecting",
        "gateway/events/destinations.py",
        "        if refused:\n            raise DestinationRefused(",
        "        if False:\n            raise DestinationRefused(",
        HOOKS
        + "test_a_name_that_resolves_to_loopback_is_refused_when_connecting "
        + HOOKS
        + "test_a_name_with_any_inward_address_is_refused",
    ),
    (
        "webhook: connection to the address that was checked (DNS rebinding)",
        "gateway/events/destinations.py",
        "                return self.inner.connect_tcp(str(address), port, timeout, local_address, socket_options)",
        "                return self.inner.connect_tcp(host, port, timeout, local_address, socket_options)",
        HOOKS + "test_the_connection_goes_to_the_address_that_was_checked",
    ),
    (
        "webhook: URL rules applied again at delivery",
        "gateway/events/webhooks.py",
        "            check_url(endpoint.url, allow_loopback=self.allow_loopback)  # endpoints stored before the rules",
        "            pass",
        HOOKS + "test_endpoints_stored_with_plain_http_are_not_delivered_to",
    ),
    (
        "webhook: delivery errors without internal detail",
        "gateway/events/webhooks.py",
        "            return None, NOT_DELIVERED",
        "            return None, str(exc)",
        HOOKS + "test_delivery_errors_say_nothing_of_why_a_connection_failed",
    ),
    (
        "webhook: a disabled endpoint gets nothing",
        "gateway/events/webhooks.py",
        "                        WebhookEndpoint.is_active,\n",
        "",
        HOOKS + "test_webhooks_can_be_disabled_enabled_and_deleted",
    ),
    (
        "webhook: loopback only in development",
        "gateway/config.py",
        "        if self.webhook_allow_loopback:\n            raise ValueError",
        "        if False:\n            raise ValueError",
        HOOKS + "test_loopback_only_in_development_when_switched_on",
    ),
    (
        "audit verify: anchors read from the chain unless offline",
        "gateway/cli.py",
        "    if not args.offline:\n        chain = chain_from_settings(settings)",
        "    if False:\n        chain = chain_from_settings(settings)",
        AGAINST_CHAIN + "test_verify_reads_the_anchors_from_the_chain_by_default",
    ),
    (
        "audit verify: an offline check says so loudly",
        "gateway/cli.py",
        "        print(OFFLINE_WARNING, file=sys.stderr)",
        "        pass",
        AGAINST_CHAIN + "test_verify_without_a_chain_refuses_unless_told_it_is_offline",
    ),
    (
        "audit: anchoring every few seconds by default",
        "gateway/config.py",
        "    anchor_interval_seconds: int = 5",
        "    anchor_interval_seconds: int = 300",
        AGAINST_CHAIN + "test_anchoring_runs_every_few_seconds_by_default",
    ),
    (
        "audit: anonymous requests stay out of the chain",
        "gateway/api/middleware.py",
        "        if actor is None:\n            ip = client_ip(request)",
        '        if actor is None:\n            actor = f"anonymous:{client_ip(request)}"\n        if False:\n            ip = client_ip(request)',
        AGAINST_CHAIN + "test_anonymous_requests_stay_out_of_the_audit_chain",
    ),
    (
        "sign-in backoff checked before any credential",
        "gateway/auth/service.py",
        "    throttle.check(session, throttles)\n    return throttles",
        "    return throttles",
        BACKOFF + "test_an_account_backs_off_and_never_locks",
    ),
    (
        "sign-in backoff per account",
        "gateway/auth/service.py",
        "    throttles = [throttle.account(ctx.settings, email), throttle.address(ctx.settings, ip)]",
        "    throttles = [throttle.address(ctx.settings, ip), throttle.address(ctx.settings, ip)]",
        BACKOFF + "test_an_account_backs_off_and_never_locks",
    ),
    (
        "sign-in backoff per address",
        "gateway/auth/service.py",
        "    throttles = [throttle.account(ctx.settings, email), throttle.address(ctx.settings, ip)]",
        "    throttles = [throttle.account(ctx.settings, email), throttle.account(ctx.settings, email)]",
        BACKOFF + "test_an_address_backs_off_across_accounts",
    ),
    (
        "unknown emails answered as wrong passwords",
        "gateway/auth/service.py",
        '        passwords.burn_time(ctx.settings, password)\n        _fail(ctx, session, throttles, "password")',
        "        passwords.burn_time(ctx.settings, password)\n        raise NotAuthenticated(BAD_CREDENTIALS)",
        BACKOFF + "test_unknown_emails_and_wrong_passwords_get_the_same_answers",
    ),
    (
        "step-up codes back off",
        "gateway/auth/service.py",
        "    throttle.check(session, throttles)\n    _check_totp(ctx, session, user, code, throttles)",
        "    _check_totp(ctx, session, user, code, throttles)",
        BACKOFF + "test_wrong_step_up_codes_back_off",
    ),
    (
        "uvicorn does not believe X-Forwarded-For from loopback",
        "gateway/cli.py",
        "        proxy_headers=False,\n",
        "",
        PROXIES + "test_a_loopback_peer_cannot_claim_another_address",
    ),
    (
        "X-Forwarded-For believed only from configured proxies",
        "gateway/api/proxies.py",
        "            if self._trusted(peer):",
        "            if True:",
        PROXIES + "test_forwarded_addresses_are_believed_only_from_configured_proxies",
    ),
    (
        "X-Forwarded-For read from the nearest hop",
        "gateway/api/proxies.py",
        "        for hop in reversed(forwarded):",
        "        for hop in forwarded:",
        PROXIES + "test_forwarded_addresses_are_believed_only_from_configured_proxies",
    ),
    (
        "stream: the session is checked before each event",
        "gateway/stream/routes.py",
        "                event = await queue.get()\n                if time.time() >= expires_at or not await _still_valid(ctx, token, ip):\n                    return\n",
        "                event = await queue.get()\n",
        STREAM + "test_logout_ends_the_stream_before_the_next_event",
    ),
    (
        "stream: an idle session is checked again",
        "gateway/stream/routes.py",
        "                if time.time() >= expires_at or not await _still_valid(ctx, token, ip):\n                    return\n\n        async def forward",
        "                if time.time() >= expires_at:\n                    return\n\n        async def forward",
        STREAM
        + "test_an_idle_stream_ends_when_its_user_is_deactivated "
        + STREAM
        + "test_a_revoked_client_loses_its_stream",
    ),
    (
        "stream: ends at the token's expiry",
        "gateway/stream/routes.py",
        "                await asyncio.sleep(max(0.0, min(interval, expires_at - time.time())))",
        "                await asyncio.sleep(interval)",
        STREAM + "test_the_stream_ends_when_its_token_expires",
    ),
    (
        "bounded JSON: HTTP bodies checked before parsing",
        "gateway/api/middleware.py",
        '        if body.strip() and parsed_as_json(request.headers.get("content-type")):',
        "        if False:",
        JSON + "test_http_bodies_beyond_bounds_answer_400",
    ),
    (
        "bounded JSON: the stream's first message",
        "gateway/stream/routes.py",
        "            first = bounded_json.decode(await asyncio.wait_for(websocket.receive_text(), timeout=5))",
        '            first = __import__("json").loads(await asyncio.wait_for(websocket.receive_text(), timeout=5))',
        JSON + "test_the_server_process_survives_adversarial_json",
    ),
    (
        "bounded JSON: WebSocket messages capped like bodies",
        "gateway/cli.py",
        "        ws_max_size=settings.max_request_bytes,",
        "",
        JSON + "test_the_server_process_survives_adversarial_json",
    ),
    (
        "bounded JSON: nesting depth",
        "gateway/api/bounded_json.py",
        '            if depth > limits.max_depth:\n                raise InvalidJson(f"nested deeper than {limits.max_depth} levels")\n            if len(item) > limits.max_array_items:',
        "            if len(item) > limits.max_array_items:",
        JSON + "test_bounds_are_refused",
    ),
    (
        "bounded JSON: number length",
        "gateway/api/bounded_json.py",
        "    if longest.search(",
        "    if False and longest.search(",
        JSON + "test_bounds_are_refused",
    ),
    (
        "every route declares its permission (reconcile)",
        "gateway/positions/routes.py",
        "def reconcile(repo_id: int, principal: ReposRead,",
        "def reconcile(repo_id: int, principal: CurrentPrincipal,",
        MATRIX + "test_every_route_declares_its_permission",
    ),
    (
        "a declared permission is checked",
        "gateway/api/deps.py",
        "        if self.permission not in principal.permissions:\n            raise PermissionDenied",
        "        if False:\n            raise PermissionDenied",
        MATRIX + "test_every_route_every_role_every_scope",
    ),
    (
        "the stream checks its permission",
        "gateway/stream/routes.py",
        "    if STREAM_PERMISSION not in principal.permissions:",
        "    if False:",
        MATRIX + "test_the_stream_declares_its_permission_and_checks_it",
    ),
    (
        "an invitation works once",
        "gateway/members/invitations.py",
        "        .where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None))",
        "        .where(Invitation.id == invitation.id)",
        INVITES + "test_an_invitation_works_once_and_expires",
    ),
    (
        "the operator invites only a member's first administrator",
        "gateway/members/invitations.py",
        "    if _has_admin(session, organization.id):",
        "    if False:",
        INVITES + "test_the_operator_invites_only_a_members_first_administrator",
    ),
    (
        "only the organization's administrators manage its people",
        "gateway/members/invitations.py",
        "    if organization.id != manager_org:",
        "    if False:",
        INVITES + "test_the_operator_cannot_create_manage_or_act_as_a_members_people",
    ),
    (
        "operator views are audited",
        "gateway/api/deps.py",
        "            await _audit_operator_view(request, principal)",
        "            pass",
        VIEWS + "test_every_operator_read_of_member_data_is_audited",
    ),
    (
        "least privilege: the deployer hands every admin role to the AdminManager and renounces its own",
        "gateway/orchestrator/deployment.py",
        "        hand_over(w3, operator, governance, self.targets())",
        "        pass",
        T + "orchestrator/test_least_privilege.py::test_the_operator_holds_nothing_after_the_hand_over",
    ),
    (
        "least privilege: the gateway's fallback chain key is the KYC agent's, not the operator's",
        "gateway/orchestrator/accounts.py",
        "        keys[FALLBACK_ENV] = _hex(self[FALLBACK_PURPOSE])",
        "        keys[FALLBACK_ENV] = _hex(self.operator)",
        T + "orchestrator/test_least_privilege.py::test_the_gateway_env_holds_each_purpose_key_and_no_admin_key",
    ),
    (
        "least privilege: each purpose key is granted only the plan's roles",
        "contracts/governance.py",
        '        RoleGrant("PriceOracle", system["price_oracle"], "FEEDER_ROLE", holders.oracle_feeder),',
        '        RoleGrant("PriceOracle", system["price_oracle"], "FEEDER_ROLE", holders.oracle_feeder),\n        RoleGrant("PriceOracle", system["price_oracle"], "DEFAULT_ADMIN_ROLE", holders.oracle_feeder),',
        T + "orchestrator/test_least_privilege.py::test_each_gateway_key_holds_only_its_roles_and_no_admin",
    ),
    (
        "seam: KYC approval writes the registry with no database write transaction open",
        "gateway/kyc/service.py",
        "    session.commit()  # ends the read: no database lock is held across the chain's transactions\n",
        "    session.flush()\n",
        T
        + "kyc/test_chain_outside_transactions.py::test_kyc_and_member_actions_leave_the_database_to_other_writers_while_the_chain_is_written",
    ),
    (
        "seam: freeze, unfreeze and revoke write the registry with no database write transaction open",
        "gateway/members/service.py",
        "    session.commit()  # ends the read: no database lock is held across the chain's transaction\n",
        "    session.flush()\n",
        T
        + "kyc/test_chain_outside_transactions.py::test_kyc_and_member_actions_leave_the_database_to_other_writers_while_the_chain_is_written",
    ),
    (
        "seam: the guard refuses a JSON-RPC call inside a write transaction",
        "gateway/chain/guard.py",
        "    if guard.enabled and write_transaction_open():",
        "    if False:",
        T
        + "chain/test_guard.py::test_the_transport_refuses_a_call_inside_a_write_transaction_before_it_reaches_the_node",
    ),
    (
        "outbox: a step from an account that is not the gateway's fails unsent",
        "gateway/settlement/sending.py",
        "            if step.sender_wallet_id is None:\n                self._own_account(step)\n            else:\n                door.check_step(session, step)\n",
        "            door.check_step(session, step)\n",
        T + "settlement/test_relayer.py::test_a_step_from_an_account_that_is_not_ours_fails_unsent",
    ),
]


def main(filters: list[str]) -> int:
    missed = 0
    for name, path, old, new, tests in MUTATIONS:
        if filters and not any(f.lower() in name.lower() for f in filters):
            continue
        source = ROOT / path
        original = source.read_text()
        if original.count(old) != 1:
            print(f"{'NOT APPLIED':12} {name} ({path}: the code changed; update the mutation)")
            missed += 1
            continue
        source.write_text(original.replace(old, new))
        try:
            proc = subprocess.run(
                [str(ROOT / ".venv/bin/pytest"), "-q", "-x", "-p", "no:cacheprovider", *tests.split()],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        finally:
            source.write_text(original)
        caught = proc.returncode != 0
        missed += not caught
        print(f"{'caught' if caught else 'NOT CAUGHT':12} {name}  [{tests}]")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
