"""The ``reponet`` command: ``gateway run``, ``db upgrade``, ``admin bootstrap``, ``keys rotate``, ``audit verify``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gateway.config import Settings, get_settings
from gateway.exceptions import GatewayError
from gateway.exit_status import ExitStatus

logger = logging.getLogger("reponet")
DRAIN_SECONDS = 10  # SIGTERM: what requests in progress get to finish (the supervisor's grace is 15 s)


def _emit(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    print(json.dumps(data, default=str) if args.json else text)


def server_config(app: Any, settings: Settings, *, host: str, port: int, cert: Path, key: Path) -> Any:
    """Uvicorn's configuration for the gateway. Its proxy-header handling is off: it believes X-Forwarded-For
    from any loopback peer, and ``gateway.api.proxies`` believes it only from the configured proxies. WebSocket
    messages are capped like request bodies (uvicorn's default is 16 MiB)."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        ssl_certfile=str(cert),
        ssl_keyfile=str(key),
        server_header=False,
        proxy_headers=False,
        ws_max_size=settings.max_request_bytes,  # a WebSocket message is bounded like a request body
        # SIGTERM: the listener closes at once (a balancer sends new connections elsewhere), requests in progress
        # get this long to finish, below the supervisor's grace before SIGKILL
        timeout_graceful_shutdown=DRAIN_SECONDS,
        log_level="info",
    )


def cmd_gateway_run(args: argparse.Namespace, settings: Settings) -> ExitStatus:
    import uvicorn

    from gateway.app import create_app
    from gateway.db.migrate import upgrade
    from gateway.tls import ensure_self_signed

    upgrade(settings.database_url)
    if args.cert and args.key:
        cert, key = Path(args.cert), Path(args.key)
    else:
        cert, key = ensure_self_signed(settings.data_dir / "tls", args.host)
        logger.warning("serving HTTPS with a self-signed certificate %s (local use only)", cert)
    if settings.api_workers == 1:
        config = server_config(create_app(settings), settings, host=args.host, port=args.port, cert=cert, key=key)
        uvicorn.Server(config).run()
        return ExitStatus.OK
    return _run_workers(settings, host=args.host, port=args.port, cert=cert, key=key)


def _run_workers(settings: Settings, *, host: str, port: int, cert: Path, key: Path) -> ExitStatus:
    """Several HTTP workers (each builds its app from the environment, without background work) and the one
    background process beside them; when either side ends, the other is stopped."""
    import os
    import signal
    import threading

    from uvicorn.supervisors import Multiprocess

    from gateway.background import start_background_process

    os.environ["REPONET_BACKGROUND_WORK"] = "false"  # read by each worker's Settings
    config = server_config("gateway.app:create_app", settings, host=host, port=port, cert=cert, key=key)
    config.factory = True
    config.workers = settings.api_workers
    background = start_background_process()
    stopping = threading.Event()

    def watch() -> None:  # without its background work the gateway settles nothing: stop, and be restarted
        background.wait()
        if not stopping.is_set():
            logger.error("the background process exited with status %s; stopping", background.returncode)
            os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="reponet-background-watch", daemon=True).start()
    try:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    finally:
        stopping.set()
        background.terminate()
        try:
            background.wait(timeout=15)
        except Exception:
            background.kill()
            background.wait(timeout=5)
    return ExitStatus.OK


def cmd_gateway_work(args: argparse.Namespace, settings: Settings) -> ExitStatus:
    from gateway.background import run_background

    run_background(settings)
    return ExitStatus.OK


def cmd_worker(args: argparse.Namespace, settings: Settings) -> ExitStatus:
    from gateway.leader import WorkerKind
    from gateway.worker_process import run_workers

    known = {k.value for k in WorkerKind}
    if unknown := sorted(set(args.kinds) - known):
        logger.error("unknown worker kind %s (known: %s)", ", ".join(unknown), ", ".join(sorted(known)))
        return ExitStatus.USAGE
    return run_workers(settings, [WorkerKind(k) for k in args.kinds or sorted(known)])


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> ExitStatus:
    from gateway.db.migrate import upgrade

    upgrade(settings.database_url)
    _emit(args, {"ok": True}, "database at the latest schema")
    return ExitStatus.OK


def cmd_admin_bootstrap(args: argparse.Namespace, settings: Settings) -> ExitStatus:
    import getpass

    from gateway.app import build_context
    from gateway.db.migrate import upgrade
    from gateway.db.models import Role
    from gateway.members.service import bootstrap_operator

    upgrade(settings.database_url)
    password = args.password or getpass.getpass("initial password: ")
    ctx = build_context(settings)
    with ctx.sessions() as session:
        user = bootstrap_operator(
            ctx,
            session,
            name=args.name,
            lei=args.lei,
            jurisdiction=args.jurisdiction,
            email=args.email,
            full_name=args.full_name,
            password=password,
            role=Role(args.role),
        )
    _emit(
        args,
        {"user_id": str(user.id), "email": user.email},
        f"created {user.email}; enroll TOTP at POST /v1/auth/enroll before the first login",
    )
    return ExitStatus.OK


def _session_and_keys(settings: Settings) -> tuple[Any, Any]:
    from gateway.db.session import make_engine, make_session_factory
    from gateway.keys.provider import provider_from_settings

    return make_session_factory(make_engine(settings.database_url)), provider_from_settings(settings)


def cmd_keys_rotate(args: argparse.Namespace, settings: Settings) -> ExitStatus:
    from gateway.key_rotation import RetirementRefused, rotate

    sessions, keys = _session_and_keys(settings)
    with sessions() as session:
        try:
            report = rotate(keys, session, retire=args.retire, actor="system:cli")
        except RetirementRefused as exc:
            logger.error("%s; run `reponet keys status`, fix or remove them, then rotate again", exc.detail)
            return ExitStatus.REFUSED
    _emit(
        args,
        {
            "new_version": report.new_version,
            "rewrapped": report.rewrapped,
            "secrets_rewrapped": report.secrets_rewrapped,
            "unreadable": list(report.unreadable),
            "retired_below": report.retired_below,
        },
        f"master key v{report.new_version}: rewrapped {report.rewrapped} wallet keys"
        f" and {report.secrets_rewrapped} TOTP and webhook secrets"
        + (f"; could not unwrap {', '.join(report.unreadable)}" if report.unreadable else "")
        + (f"; versions below {report.retired_below} retired" if report.retired_below else ""),
    )
    return ExitStatus.OK


def cmd_keys_status(args: argparse.Namespace, settings: Settings) -> ExitStatus:
    from gateway.key_rotation import status

    sessions, keys = _session_and_keys(settings)
    with sessions() as session:
        report = status(keys, session)
    sealed = ", ".join(f"v{v}: {n}" for v, n in sorted(report.sealed.items())) or "nothing"
    _emit(
        args,
        {
            "versions": report.versions,
            "current_version": report.current_version,
            "min_version": report.min_version,
            "sealed": {str(v): n for v, n in sorted(report.sealed.items())},
        },
        f"master keys {report.versions} (current v{report.current_version}, minimum v{report.min_version});"
        f" secrets sealed per version: {sealed}",
    )
    return ExitStatus.OK


OFFLINE_WARNING = (
    "WARNING: OFFLINE CHECK. The anchors were read from the gateway's own database, not from the chain: whoever can"
    " rewrite the audit log can rewrite that copy too, so a consistent rewrite passes this check. Run without"
    " --offline, with the chain configured, to check against the chain."
)


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> ExitStatus:
    from gateway.app import chain_from_settings
    from gateway.audit import service
    from gateway.chain.base import NullChain

    sessions, _ = _session_and_keys(settings)
    chain = None
    if not args.offline:
        chain = chain_from_settings(settings)
        if isinstance(chain, NullChain):
            logger.error(
                "no chain configured (REPONET_CHAIN_RPC_URL): the anchors cannot be read from the chain;"
                " `--offline` checks against the database's copy instead (weaker)"
            )
            return ExitStatus.CONFIG
    else:
        print(OFFLINE_WARNING, file=sys.stderr)
    with sessions() as session:
        result = service.verify(session, chain=chain)
    data = {
        "ok": result.ok,
        "entries": result.entries,
        "head_hash": result.head_hash,
        "first_bad_sequence": result.first_bad_sequence,
        "reason": result.reason,
        "anchors_checked": result.anchors_checked,
        "anchors_source": result.anchors_source,
        "unanchored_entries": result.unanchored_entries,
        "unanchored_seconds": result.unanchored_seconds,
    }
    if result.ok:
        tail = f"{result.unanchored_entries} entries after the last anchor"
        if result.unanchored_seconds is not None:
            tail += f" (the oldest {result.unanchored_seconds:.1f} s old)"
        text = (
            f"audit log intact: {result.entries} entries, head {result.head_hash}, {result.anchors_checked} anchors"
            f" checked against the {result.anchors_source}; {tail}"
        )
    else:
        text = f"audit log BROKEN at entry {result.first_bad_sequence}: {result.reason}"
    _emit(args, data, text)
    return ExitStatus.OK if result.ok else ExitStatus.CHECK_FAILED


def cmd_audit_anchor(args: argparse.Namespace, settings: Settings) -> ExitStatus:
    """Queue the head's anchor on the outbox the running gateway's relayer sends (one sender and one nonce
    allocator per key) and wait for the outcome; a gateway without a relayer anchors with its chain client, and so
    does this command then."""
    from gateway.db.session import make_engine, make_session_factory
    from gateway.settlement import anchoring
    from gateway.settlement_records.models import SettlementStatus

    market = anchoring.anchor_market(settings)
    if market is None:
        return _anchor_directly(args, settings)
    sessions = make_session_factory(make_engine(settings.database_url))
    read = make_session_factory(make_engine(settings.database_url, read_only=True))
    outcome = anchoring.queue_and_wait(sessions, read, market, actor="system:cli", wait_seconds=args.wait)
    if outcome is None:
        logger.error("an earlier anchor is still on its way to the chain after %ss: is the gateway running?", args.wait)
        return ExitStatus.UNREACHABLE
    data = {
        "settlement_id": str(outcome.settlement_id),
        "sequence": outcome.sequence,
        "head_hash": outcome.head_hash,
        "status": outcome.status.value,
        "tx_hash": outcome.tx_hash,
        "error": outcome.error,
    }
    head = f"entry {outcome.sequence} ({outcome.head_hash}), settlement {outcome.settlement_id}"
    if outcome.status is SettlementStatus.FINAL:
        _emit(args, data, f"anchored {head} in {outcome.tx_hash}")
        return ExitStatus.OK
    if outcome.status is SettlementStatus.FAILED:
        _emit(args, data, f"anchoring {head} FAILED: {outcome.error}")
        return ExitStatus.CHAIN_FAILED
    if args.wait <= 0:
        _emit(args, data, f"queued the anchor of {head}: the gateway's relayer sends it")
        return ExitStatus.OK
    _emit(args, data, f"queued the anchor of {head}; not final after {args.wait}s: is the gateway running?")
    return ExitStatus.UNREACHABLE


def _anchor_directly(args: argparse.Namespace, settings: Settings) -> ExitStatus:
    """No relayer configured (the gateway anchors with its chain client): the same client sends it here."""
    from gateway.app import chain_from_settings
    from gateway.audit import service

    sessions, _ = _session_and_keys(settings)
    with sessions() as session:
        record = service.anchor_head(session, chain=chain_from_settings(settings), actor="system:cli")
    _emit(
        args,
        {"sequence": record.sequence, "head_hash": record.head_hash, "tx_hash": record.tx_hash, "status": "final"},
        f"anchored entry {record.sequence} ({record.head_hash}) in {record.tx_hash}",
    )
    return ExitStatus.OK


Handler = Callable[[argparse.Namespace, Settings], ExitStatus]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reponet", description="RepoNet operator command line")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("-v", "--verbose", action="store_true")
    top = parser.add_subparsers(dest="group", required=True)

    gw = top.add_parser("gateway", help="the HTTPS gateway").add_subparsers(dest="command", required=True)
    run = gw.add_parser("run", help="serve the API over HTTPS")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8443)
    run.add_argument("--cert", help="certificate PEM (default: a generated self-signed one)")
    run.add_argument("--key", help="private key PEM")
    run.set_defaults(handler=cmd_gateway_run)
    work = gw.add_parser("work", help="the background work alone (started by a multi-worker `gateway run`)")
    work.set_defaults(handler=cmd_gateway_work)
    worker = top.add_parser("worker", help="background work apart from the API, one leader per kind (replicas)")
    worker.add_argument("kinds", nargs="*", help="kinds to stand for: relayer, indexer, webhooks, anchor (all)")
    worker.set_defaults(handler=cmd_worker)

    db = top.add_parser("db", help="database").add_subparsers(dest="command", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(handler=cmd_db_upgrade)

    admin = top.add_parser("admin", help="administration").add_subparsers(dest="command", required=True)
    boot = admin.add_parser("bootstrap", help="create the operator organization and a staff user")
    boot.add_argument("--name", default="RepoNet Operator")
    boot.add_argument("--lei", required=True)
    boot.add_argument("--jurisdiction", default="GB")
    boot.add_argument("--email", required=True)
    boot.add_argument("--full-name", default="Operator Admin")
    boot.add_argument("--role", default="operator_admin", choices=["operator_admin", "compliance_officer"])
    boot.add_argument("--password", help="initial password (prompted if absent)")
    boot.set_defaults(handler=cmd_admin_bootstrap)

    keys = top.add_parser("keys", help="master keys").add_subparsers(dest="command", required=True)
    rotate = keys.add_parser("rotate", help="add a master-key version and rewrap every sealed secret under it")
    rotate.add_argument(
        "--retire", action="store_true", help="then destroy older versions, unless something is still sealed under one"
    )
    rotate.set_defaults(handler=cmd_keys_rotate)
    keys.add_parser("status", help="master-key versions and what is sealed under each").set_defaults(
        handler=cmd_keys_status
    )

    audit = top.add_parser("audit", help="audit trail").add_subparsers(dest="command", required=True)
    verify = audit.add_parser("verify", help="check the hash chain against the anchors read from the chain")
    verify.add_argument(
        "--offline", action="store_true", help="use the database's copy of the anchors (weaker: says so loudly)"
    )
    verify.add_argument("--chain", action="store_true", help=argparse.SUPPRESS)  # the default now; kept for scripts
    verify.set_defaults(handler=cmd_audit_verify)
    anchor = audit.add_parser("anchor", help="queue the head's anchor for the gateway's relayer; wait for it")
    anchor.add_argument(
        "--wait", type=float, default=120.0, help="seconds to wait for the anchor to be final (0: only queue it)"
    )
    anchor.set_defaults(handler=cmd_audit_anchor)

    from gateway.demo.cli import register as register_demo
    from gateway.matching.cli import register as register_match
    from gateway.ops.cli import register as register_ops
    from gateway.ops.surveillance import register as register_surveillance_cases
    from gateway.orchestrator.cli import register as register_up
    from gateway.reporting.cli import register as register_report
    from gateway.risk.cli import register as register_risk
    from gateway.risk.feeds.grant import register as register_feed_grant
    from gateway.risk.grant import register as register_risk_grant
    from gateway.surveillance.cli import register as register_surveillance
    from gateway.surveillance.grant import register as register_surveillance_grant

    register_up(top)
    register_demo(top)
    register_ops(top)
    risk = register_risk(top)
    register_risk_grant(risk)
    register_feed_grant(risk)
    surveillance = register_surveillance(top)
    register_surveillance_grant(surveillance)
    register_surveillance_cases(surveillance)
    register_match(top)
    register_report(top)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = get_settings()
    except ValueError as exc:
        logger.error("configuration: %s", exc)
        return ExitStatus.CONFIG
    handler: Handler = args.handler
    try:
        return handler(args, settings)
    except GatewayError as exc:
        logger.error("%s", exc.detail)
        return ExitStatus.ERROR


if __name__ == "__main__":
    sys.exit(main())
