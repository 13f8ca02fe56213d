"""The optional second factor: a TOTP authenticator app, with single-use recovery codes for when it is lost.

Turning it on takes two steps: `begin` keeps a new secret (sealed under the deployment's key with a label of its
own: `podsponsor.sealing`) and hands out its otpauth URI; `confirm` turns it on once a code from the app proves the
app holds the secret, and hands out ten recovery codes, once (only their keyed hashes are kept). A code is accepted
at most once: its time step must be later than the last one accepted, recorded in the same statement that checks it.

The callers count every code or password checked here against the second-factor limit (`auth.throttle`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth import repository, totp
from podsponsor.auth.exceptions import CodeWrong, SecondFactorState, TotpInvalid
from podsponsor.auth.models import User
from podsponsor.auth.passwords import verify_password
from podsponsor.auth.service import get_user, record_audit
from podsponsor.auth.subject import Subject
from podsponsor.auth.tokens import TokenClaims
from podsponsor.errors import Forbidden
from podsponsor.sealing import SecretUnreadable, seal, unseal

ISSUER = "podsponsor"
# The sealing key's label: TOTP secrets never share a key with any other secret.
SEAL_LABEL: Final = b"podsponsor auth: TOTP secrets v1"
SignInMethod = Literal["totp", "recovery_code"]


@dataclass(frozen=True)
class Enrolment:
    secret: str
    otpauth_uri: str
    qr_svg: str


@dataclass(frozen=True)
class SecondFactorStatus:
    enabled: bool
    enabled_at: datetime | None
    recovery_codes_left: int
    # An enrolment begun and not yet confirmed: its secret, to show again.
    pending: Enrolment | None


async def status(session: AsyncSession, subject: Subject) -> SecondFactorStatus:
    user = await _own_user(session, subject)
    left = await repository.count_unused_recovery_codes(session, user.tenant_id, user.id)
    pending = None
    secret = _secret(user)
    if user.totp_enabled_at is None and secret:
        pending = _enrolment(secret, user.email)
    return SecondFactorStatus(user.totp_enabled_at is not None, user.totp_enabled_at, left, pending)


async def begin(session: AsyncSession, subject: Subject) -> Enrolment:
    """A new secret for the caller's authenticator app; the second factor is on only once `confirm`ed."""
    user = await _own_user(session, subject)
    if user.totp_enabled_at is not None:
        raise SecondFactorState("two-step sign-in is on already; turn it off first to move to another app")
    secret = totp.new_secret()
    user.totp_secret_encrypted = seal(SEAL_LABEL, secret)
    user.totp_last_step = None
    await session.flush()
    return _enrolment(secret, user.email)


async def confirm(session: AsyncSession, subject: Subject, code: str, *, now: datetime | None = None) -> list[str]:
    """Turn the second factor on with a first code from the app; the recovery codes, shown only now."""
    user = await _own_user(session, subject)
    if user.totp_enabled_at is not None:
        raise SecondFactorState("two-step sign-in is on already")
    if not user.totp_secret_encrypted:
        raise SecondFactorState("set up two-step sign-in first: that gives the secret your app needs")
    if not await _take_code(session, user, code, _now(now)):
        raise CodeWrong(
            "that code is not the app's current one; check the phone's clock and try the next code",
            errors=[{"field": "code", "value": None, "reason": "wrong or used already"}],
        )
    user.totp_enabled_at = _now(now)
    codes = await _new_recovery_codes(session, user)
    await record_audit(session, user.tenant_id, "user.totp_enabled", actor=subject, target=("user", str(user.id)))
    return codes


async def disable(
    session: AsyncSession, subject: Subject, *, code: str | None, password: str | None, now: datetime | None = None
) -> None:
    user = await _own_user(session, subject)
    if user.totp_enabled_at is None and not user.totp_secret_encrypted:
        raise SecondFactorState("two-step sign-in is off already")
    if user.totp_enabled_at is not None:
        await _prove(session, user, code, password, _now(now))
    user.totp_secret_encrypted = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    await repository.delete_recovery_codes(session, user.tenant_id, user.id)
    await record_audit(session, user.tenant_id, "user.totp_disabled", actor=subject, target=("user", str(user.id)))
    await session.flush()


async def regenerate_recovery_codes(
    session: AsyncSession, subject: Subject, *, code: str | None, password: str | None, now: datetime | None = None
) -> list[str]:
    """Ten new recovery codes; the old ones stop working."""
    user = await _own_user(session, subject)
    if user.totp_enabled_at is None:
        raise SecondFactorState("turn on two-step sign-in first")
    await _prove(session, user, code, password, _now(now))
    codes = await _new_recovery_codes(session, user)
    await record_audit(
        session, user.tenant_id, "user.recovery_codes_regenerated", actor=subject, target=("user", str(user.id))
    )
    return codes


async def required(session: AsyncSession, claims: TokenClaims) -> bool:
    """Whether this user's sign-in needs a second factor after the password."""
    user = await repository.get_user(session, claims.tenant_id, claims.user_id)
    return user is not None and user.is_active and user.totp_enabled_at is not None


async def verify_sign_in(
    session: AsyncSession,
    claims: TokenClaims,
    *,
    totp_code: str | None,
    recovery_code: str | None,
    address_hash: str | None,
    now: datetime | None = None,
) -> SignInMethod:
    """Check the second factor of a sign-in whose password was right; a recovery code is spent and audited."""
    user = await repository.get_user(session, claims.tenant_id, claims.user_id)
    if user is None or user.totp_enabled_at is None:
        raise TotpInvalid("two-step sign-in is not on for this user")
    if totp_code and await _take_code(session, user, totp_code, _now(now)):
        return "totp"
    if recovery_code and await repository.use_recovery_code(
        session, user.tenant_id, user.id, totp.hash_recovery_code(recovery_code), _now(now)
    ):
        left = await repository.count_unused_recovery_codes(session, user.tenant_id, user.id)
        await record_audit(
            session,
            user.tenant_id,
            "user.recovery_code_used",
            actor_user_id=user.id,
            target=("user", str(user.id)),
            details={"recovery_codes_left": left},
            ip_hash=address_hash,
        )
        return "recovery_code"
    raise TotpInvalid("the code is wrong, expired or used already; use the app's next code or a recovery code")


def looks_like_app_code(value: str) -> bool:
    """Six digits (spaces allowed) are an app's code; anything else a form field holds is a recovery code or a
    password, which are longer."""
    return bool(totp.CODE.match(totp.normalise_code(value)))


async def _take_code(session: AsyncSession, user: User, code: str, now: datetime) -> bool:
    secret = _secret(user)
    if not secret:
        return False
    step = totp.matching_step(secret, code, now.timestamp())
    return step is not None and await repository.claim_totp_step(session, user.tenant_id, user.id, step)


def _secret(user: User) -> str | None:
    """The user's TOTP secret; None when there is none, or it was sealed under another SECRET_KEY (then only a
    recovery code signs them in, and they set up their app again)."""
    if not user.totp_secret_encrypted:
        return None
    try:
        return unseal(SEAL_LABEL, user.totp_secret_encrypted)
    except SecretUnreadable:
        return None


async def _prove(session: AsyncSession, user: User, code: str | None, password: str | None, now: datetime) -> None:
    """The signed-in user shows it is still them: a current code from the app, or their password."""
    if code and await _take_code(session, user, code, now):
        return
    if password and verify_password(user.password_hash, password):
        return
    field = "code" if code or not password else "password"
    raise CodeWrong(
        "give a current code from your authenticator app, or your password",
        errors=[{"field": field, "value": None, "reason": "wrong, expired or used already"}],
    )


async def _new_recovery_codes(session: AsyncSession, user: User) -> list[str]:
    codes = totp.new_recovery_codes()
    await repository.replace_recovery_codes(
        session, user.tenant_id, user.id, [totp.hash_recovery_code(code) for code in codes]
    )
    return codes


async def _own_user(session: AsyncSession, subject: Subject) -> User:
    if subject.user_id is None:
        raise Forbidden("the second factor belongs to a user: sign in as one (an API key has none)")
    return await get_user(session, subject, subject.user_id)


def _enrolment(secret: str, email: str) -> Enrolment:
    uri = totp.provisioning_uri(secret, email, ISSUER)
    return Enrolment(secret=secret, otpauth_uri=uri, qr_svg=totp.qr_svg(uri))


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)
