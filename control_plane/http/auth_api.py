"""POST /api/auth/signup, /api/auth/verify, /api/auth/login."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from blacksheep import Response

from control_plane.auth.passwords import hash_password, password_problem, verify_password
from control_plane.auth.tokens import issue_token
from control_plane.db import accounts as db
from control_plane.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from control_plane.http.context import Call, json_response
from control_plane.http.views import account_view
from control_plane.schemas.accounts import LoginRequest, LoginResponse, SignupRequest, SignupResponse, VerifyRequest
from control_plane.validation import check_email

# Verified against when the email is unknown, so login takes as long either way.
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$sYKdyUUIGEMvRSjAj8gTQg$aT4baslkXVXturGOZiYbtzaBrGKawNMBpp+VDBP0NNM"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def signup(call: Call) -> Response:
    await call.limit_per_ip("signup")
    body = await call.body(SignupRequest)
    email = check_email(body.email)
    problem = password_problem(body.password)
    if problem:
        raise BadRequest(f"password: {problem}")
    pw_hash = await asyncio.to_thread(hash_password, body.password)
    settings = call.services.settings
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    async with call.services.pool.acquire() as conn, conn.transaction():
        try:
            account_id = await db.insert_account(conn, email=email, password_hash=pw_hash)
        except db.EmailTaken:
            raise Conflict("an account with this email already exists; log in, or sign up with another email") from None
        await db.insert_verification(
            conn, account_id, token_digest(token), now + timedelta(seconds=settings.verify_token_ttl_s)
        )
        await db.queue_mail(
            conn,
            email,
            "Verify your Dragonfly email",
            f"Welcome to Dragonfly. Verify your email to unlock key creation:\n"
            f'POST {settings.public_url}/api/auth/verify with {{"token": "{token}"}}\n',
        )
    call.services.wake_mailer()
    return json_response(SignupResponse(id=account_id, email=email, email_verified=False, verification_sent=True), 201)


async def verify(call: Call) -> Response:
    body = await call.body(VerifyRequest)
    if not body.token.strip():
        raise BadRequest("token: must not be empty; use the token from the verification mail")
    now = datetime.now(UTC)
    credit = call.services.settings.signup_credit_cents * 10_000
    async with call.services.pool.acquire() as conn, conn.transaction():
        row = await db.use_verification(conn, token_digest(body.token.strip()), now)
        if row is None:
            raise BadRequest("token: unknown verification token; copy it again from the latest verification mail")
        if row["used_at"] is None and row["expires_at"] <= now:
            raise BadRequest("token: this verification token has expired; sign up again to get a new one")
        account_id = row["account_id"]
        await conn.execute(
            "UPDATE accounts SET email_verified_at = coalesce(email_verified_at, $2), updated_at = now() WHERE id = $1",
            account_id,
            now,
        )
        if credit > 0:
            await db.add_ledger_entry(conn, account_id, "signup_credit", credit, "signup credit on email verification")
        account = await db.account(conn, account_id)
    if account is None:
        raise NotFound("the account of this token no longer exists")
    if credit > 0:
        await call.services.push_credit(account_id)
    return json_response(account_view(account))


async def login(call: Call) -> Response:
    await call.limit_per_ip("login")
    body = await call.body(LoginRequest)
    async with call.services.pool.acquire() as conn:
        row = await db.credentials_by_email(conn, body.email.strip())
    stored = row["password_hash"] if row is not None else _DUMMY_HASH
    ok = await asyncio.to_thread(verify_password, stored, body.password)
    if row is None or not ok:
        raise Unauthorized("wrong email or password; check both, or sign up with POST /api/auth/signup")
    if row["status"] != "active":
        raise Forbidden("this account is suspended; contact the operator")
    settings = call.services.settings
    now = int(call.services.clock())
    token = issue_token(call.services.jwt_keys[0], row["id"], now=now, ttl_s=settings.jwt_ttl_s)
    return json_response(
        LoginResponse(
            token=token, expires_at=datetime.fromtimestamp(now + settings.jwt_ttl_s, UTC), account_id=row["id"]
        )
    )
