from wire.keys import KEY_LEN, KeyShape, check_shape, derive_hash_secret, hash_key, key_hint, new_key


def test_new_keys_are_well_formed_and_distinct() -> None:
    keys = {new_key() for _ in range(200)}
    assert len(keys) == 200
    for key in keys:
        assert key.startswith("sk-df-") and len(key) == KEY_LEN
        assert check_shape(key) is KeyShape.OK


def test_shapes_tell_truncation_from_typos() -> None:
    key = new_key()
    assert check_shape(key[:-3]) is KeyShape.TRUNCATED
    assert check_shape(key[:20]) is KeyShape.TRUNCATED
    swapped = key[:10] + ("x" if key[10] != "x" else "y") + key[11:]
    assert check_shape(swapped) is KeyShape.BAD_CHECKSUM
    assert check_shape(key + "z") is KeyShape.BAD_CHECKSUM
    assert check_shape("sk-proj-" + key[6:]) is KeyShape.WRONG_PREFIX


def test_hash_is_keyed_and_hint_hides_the_key() -> None:
    key = new_key()
    a, b = derive_hash_secret("secret-one-0123456"), derive_hash_secret("secret-two-0123456")
    assert hash_key(a, key) == hash_key(a, key) != hash_key(b, key)
    assert key not in hash_key(a, key)
    hint = key_hint(key)
    assert hint.startswith("sk-df-") and len(hint) < 20 and key[12:30] not in hint
