"""Shapes shared by every resource."""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

import msgspec

T = TypeVar("T")


class ListOf(msgspec.Struct, Generic[T], kw_only=True):
    object: Literal["list"] = "list"
    data: list[T]


class Deleted(msgspec.Struct, kw_only=True):
    id: str
    deleted: bool = True


class ErrorDetail(msgspec.Struct, kw_only=True):
    message: str
    type: str
    code: int


class ErrorBody(msgspec.Struct, kw_only=True):
    error: ErrorDetail


class Health(msgspec.Struct, kw_only=True):
    status: str
    snapshot_version: str = ""
