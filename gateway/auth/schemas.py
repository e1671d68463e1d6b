"""Auth request and response bodies."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

STRICT = ConfigDict(extra="forbid")


class Credentials(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"email": "ana@bank-a.example", "password": "correct horse battery"}]},
    )
    email: str = Field(max_length=254)
    password: str = Field(min_length=1, max_length=256)


class LoginRequest(Credentials):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"email": "ana@bank-a.example", "password": "correct horse battery", "totp_code": "123456"}]
        },
    )
    totp_code: str | None = Field(default=None, max_length=6, description="6-digit TOTP code")
    recovery_code: str | None = Field(default=None, max_length=32, description="one-time recovery code")


class EnrollConfirm(Credentials):
    model_config = STRICT
    totp_code: str = Field(max_length=6)


class Enrollment(BaseModel):
    """Shown once: the TOTP secret, its provisioning URI for an authenticator app, and recovery codes."""

    totp_secret: str
    provisioning_uri: str
    recovery_codes: list[str]


class TokenPair(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"access_token": "eyJ...", "token_type": "bearer", "expires_in": 300, "refresh_token": "rt_..."}
            ]
        }
    )
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int
    refresh_token: str


class RefreshRequest(BaseModel):
    model_config = STRICT
    refresh_token: str = Field(max_length=128)


class StepUpRequest(BaseModel):
    model_config = STRICT
    totp_code: str = Field(max_length=6)


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=12, max_length=256)


class StepUpPublic(BaseModel):
    valid_until: datetime


class ClientToken(BaseModel):
    """OAuth2 access token response (RFC 6749 section 5.1)."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int
    scope: str
