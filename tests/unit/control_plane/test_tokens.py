"""Login tokens verify under every listed secret and are signed with the newest."""

from __future__ import annotations

import time

import pytest

from control_plane.auth.tokens import TokenError, derive_jwt_key, issue_token, read_token

ACCOUNT = "00000000-0000-4000-8000-000000000001"


def test_tokens_of_an_older_secret_verify_until_it_is_removed() -> None:
    old, new = derive_jwt_key("old-secret-0123456"), derive_jwt_key("new-secret-0123456")
    token = issue_token(old, ACCOUNT, now=int(time.time()), ttl_s=3600)
    assert read_token((new, old), token) == ACCOUNT
    with pytest.raises(TokenError, match="not valid"):
        read_token((new,), token)
