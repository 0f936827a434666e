"""crypto.SecretBox: AES-GCM round trip bound to seller id and key id."""

from __future__ import annotations

import pytest

from control_plane.crypto import SecretBox, SecretBoxError, data_key, secret_hint


def test_round_trip() -> None:
    box = SecretBox(data_key("secret", None))
    blob = box.seal("sk-upstream-123456", seller_id="s1", key_id="k1")
    assert b"sk-upstream" not in blob
    assert box.open(blob, seller_id="s1", key_id="k1") == "sk-upstream-123456"
    assert box.seal("x" * 10, seller_id="s1", key_id="k1") != box.seal("x" * 10, seller_id="s1", key_id="k1")


@pytest.mark.parametrize(("seller", "key"), [("s2", "k1"), ("s1", "k2")])
def test_ciphertext_moved_to_another_row_does_not_open(seller: str, key: str) -> None:
    box = SecretBox(data_key("secret", None))
    blob = box.seal("sk-upstream-123456", seller_id="s1", key_id="k1")
    with pytest.raises(SecretBoxError):
        box.open(blob, seller_id=seller, key_id=key)


def test_other_data_key_does_not_open() -> None:
    blob = SecretBox(data_key("secret", None)).seal("v" * 12, seller_id="s", key_id="k")
    with pytest.raises(SecretBoxError):
        SecretBox(data_key("other", None)).open(blob, seller_id="s", key_id="k")
    with pytest.raises(SecretBoxError):
        SecretBox(data_key("secret", None)).open(b"\x02" + blob[1:], seller_id="s", key_id="k")


def test_encryption_key_forms() -> None:
    assert data_key("ignored", "ab" * 32) == bytes.fromhex("ab" * 32)
    assert len(data_key("ignored", "q" * 43)) == 32
    with pytest.raises(ValueError, match="32 bytes"):
        data_key("ignored", "abcd")
    assert data_key("s", None) != data_key("t", None)


def test_hint_never_shows_the_middle() -> None:
    assert secret_hint("sk-abcdefghijklmnop") == "sk-…mnop"
    assert secret_hint("short") == "…rt"


def test_several_keys_seal_with_the_first_and_open_with_any() -> None:
    old, new = data_key("old-secret", None), data_key("new-secret", None)
    blob = SecretBox(old).seal("sk-upstream-123456", seller_id="s", key_id="k")
    both = SecretBox(new, old)
    assert both.opened_with(blob, seller_id="s", key_id="k") == ("sk-upstream-123456", 1)
    fresh = both.seal("sk-upstream-123456", seller_id="s", key_id="k")
    assert SecretBox(new).open(fresh, seller_id="s", key_id="k") == "sk-upstream-123456"
    with pytest.raises(SecretBoxError):
        SecretBox(new).open(blob, seller_id="s", key_id="k")
