"""Sign-In with Ethereum (EIP-4361) messages: build the challenge, parse it back, recover the signer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from eth_account import Account
from eth_account.messages import encode_defunct

from gateway.exceptions import InvalidRequest

HEADER_SUFFIX = " wants you to sign in with your Ethereum account:"
ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


@dataclass(frozen=True)
class SiweMessage:
    domain: str
    address: str
    statement: str
    uri: str
    version: str
    chain_id: int
    nonce: str
    issued_at: datetime
    expiration_time: datetime

    def text(self) -> str:
        return (
            f"{self.domain}{HEADER_SUFFIX}\n"
            f"{self.address}\n"
            f"\n"
            f"{self.statement}\n"
            f"\n"
            f"URI: {self.uri}\n"
            f"Version: {self.version}\n"
            f"Chain ID: {self.chain_id}\n"
            f"Nonce: {self.nonce}\n"
            f"Issued At: {self.issued_at.isoformat().replace('+00:00', 'Z')}\n"
            f"Expiration Time: {self.expiration_time.isoformat().replace('+00:00', 'Z')}"
        )


def parse(text: str) -> SiweMessage:
    lines = text.split("\n")
    if len(lines) < 11 or not lines[0].endswith(HEADER_SUFFIX) or lines[2] != "" or lines[4] != "":
        raise InvalidRequest("not an EIP-4361 message")
    if not ADDRESS.fullmatch(lines[1]):
        raise InvalidRequest("invalid address in message")
    fields: dict[str, str] = {}
    for line in lines[5:]:
        key, sep, value = line.partition(": ")
        if not sep:
            raise InvalidRequest("malformed message field")
        fields[key] = value
    try:
        return SiweMessage(
            domain=lines[0].removesuffix(HEADER_SUFFIX),
            address=lines[1],
            statement=lines[3],
            uri=fields["URI"],
            version=fields["Version"],
            chain_id=int(fields["Chain ID"]),
            nonce=fields["Nonce"],
            issued_at=datetime.fromisoformat(fields["Issued At"]),
            expiration_time=datetime.fromisoformat(fields["Expiration Time"]),
        )
    except (KeyError, ValueError):
        raise InvalidRequest("malformed message fields") from None


def recover_signer(text: str, signature: str) -> str:
    try:
        return str(Account.recover_message(encode_defunct(text=text), signature=signature))
    except Exception:  # eth-account raises several types for malformed signatures
        raise InvalidRequest("invalid signature") from None
