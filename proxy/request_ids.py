"""UUID-shaped request ids: a random per-process prefix plus a counter (no syscall per request).

Ids of billed requests name their account (`wire.request_ids`): 24 hex digits from here plus
an 8-digit MAC, so `/v1/generation` can say "pending" before settlement without any write.
"""

from __future__ import annotations

import itertools
import os

from wire.request_ids import account_request_id


class RequestIds:
    def __init__(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._counter = itertools.count(int.from_bytes(os.urandom(3), "big"))

    def next(self) -> str:
        p, c = self._prefix, f"{next(self._counter) & 0xFFFFFFFFFFFFFFFF:016x}"
        return f"{p[:8]}-{p[8:12]}-4{p[13:16]}-{c[:4]}-{c[4:]}"

    def for_account(self, secret: bytes, account_id: str) -> str:
        p, c = self._prefix, f"{next(self._counter) & 0xFFFFFFFF:08x}"
        return account_request_id(secret, f"{p[:12]}4{p[13:16]}{c}", account_id)


_ids = RequestIds()


def new_request_id() -> str:
    return _ids.next()


def account_bound_id(secret: bytes, account_id: str) -> str:
    return _ids.for_account(secret, account_id)
