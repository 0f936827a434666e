"""Helpers for the control-plane API tests: a client, accounts made through the API."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest

from tests.conftest import ControlPlane


@dataclass
class Account:
    id: str
    email: str
    password: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="session")
async def http(control_plane: ControlPlane) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=control_plane.url, timeout=10) as client:
        yield client


@pytest.fixture(scope="session")
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url, timeout=10)
    yield conn
    await conn.close()


def admin_auth(cp: ControlPlane) -> dict[str, str]:
    return {"Authorization": f"Bearer {cp.admin_token}"}


async def new_account(
    http: httpx.AsyncClient, cp: ControlPlane, *, verified: bool = True, credit_cents: int = 0,
    terms: bool = False, plan: str = "free",
) -> Account:
    """An account made by the operator API, logged in."""
    email = f"user-{secrets.token_hex(5)}@example.com"
    password = "pw-" + secrets.token_hex(8)
    created = await http.post("/api/admin/accounts", headers=admin_auth(cp), json={
        "email": email, "password": password, "verified": verified, "credit_cents": credit_cents,
        "trading_terms_accepted": terms, "plan": plan,
    })
    assert created.status_code == 201, created.text
    login = await http.post("/api/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    return Account(id=created.json()["id"], email=email, password=password, token=login.json()["token"])


@pytest.fixture
async def buyer(http: httpx.AsyncClient, control_plane: ControlPlane) -> Account:
    return await new_account(http, control_plane)


@pytest.fixture
async def other(http: httpx.AsyncClient, control_plane: ControlPlane) -> Account:
    return await new_account(http, control_plane)


def assert_error(response: httpx.Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "code"}, body
    assert body["error"]["code"] == status
    for word in words:
        assert word in body["error"]["message"], (word, body["error"]["message"])
    assert response.headers.get("x-request-id")
