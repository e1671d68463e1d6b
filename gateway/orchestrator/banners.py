"""What ``reponet up`` prints at the end: the operator admin's one-time enrolment and the network's URLs."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from gateway.datadir import UpState


def qr_text(data: str) -> str:
    import qrcode

    qr = qrcode.QRCode(border=1)
    qr.add_data(data)
    out = io.StringIO()
    qr.print_ascii(out=out, invert=True)
    return out.getvalue()


def admin_banner(state: UpState, password: str, enrollment: dict[str, Any]) -> str:
    uri = enrollment["provisioning_uri"]
    codes = " ".join(enrollment.get("recovery_codes", []))
    return (
        f"Operator admin: {state.admin_email}\n"
        f"One-time password: {password}\n"
        f"TOTP secret: {enrollment['totp_secret']}\n"
        f"TOTP URI: {uri}\n"
        f"{qr_text(uri)}"
        f"Recovery codes: {codes}\n"
        "Scan the code with an authenticator app, then confirm the enrolment with a current code:\n"
        f"  curl --cacert <data-dir>/gateway/tls/tls-cert.pem -X POST {state.gateway_url}/v1/auth/enroll/confirm \\\n"
        "    -H 'Content-Type: application/json' \\\n"
        f'    -d \'{{"email": "{state.admin_email}", "password": "<one-time password>",'
        ' "totp_code": "123456"}\'\n'
        "and change the password (POST /v1/auth/password)."
    )


def urls_banner(state: UpState, data_dir: Path) -> str:
    s = state
    lines = [
        f"Gateway API   {s.gateway_url}  (OpenAPI docs {s.gateway_url}/docs; health /healthz, /readyz; /metrics)",
        f"Web app       {s.gateway_url}/app  (sign in with password and authenticator code)",
        f"JSON-RPC      {s.rpc_url}"
        + (
            f"  (node metrics http://{s.node_host}:{s.node_port}/metrics, with the operator token in node/admin.token)"
            if s.managed_node
            else ""
        ),
        f"Chain id      {s.chain_id}",
        "Contracts     " + ", ".join(f"{k} {v}" for k, v in s.contracts.items()),
        "Cash          " + ", ".join(f"{t.symbol} {t.address}" for t in s.cash_tokens),
        "Bonds         " + ", ".join(f"{t.symbol} ({t.isin}) {t.address}" for t in s.bonds),
        f"Data          {data_dir.resolve()}  (logs in logs/)",
        f"Next          reponet demo --data-dir {data_dir}    reponet status --data-dir {data_dir}",
    ]
    return "\n".join(lines)
