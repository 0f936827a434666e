"""The settlement consumer's name: the same after a restart, never shared by two live processes
on one host, separate per stream (Redis URL + prefix)."""

from __future__ import annotations

from pathlib import Path

from control_plane.billing.consumer_name import claim


def test_a_restart_gets_the_same_name_and_a_second_process_another(tmp_path: Path) -> None:
    first = claim("cp-host-8081", "redis://r/0", "df:", tmp_path)
    second = claim("cp-host-8081", "redis://r/0", "df:", tmp_path)  # a second live process (e.g. a worker)
    assert (first.name, second.name) == ("cp-host-8081-0", "cp-host-8081-1")
    other_stream = claim("cp-host-8081", "redis://r/0", "other:", tmp_path)
    assert other_stream.name == "cp-host-8081-0"
    first.release()  # the process ended (the kernel drops the lock even on SIGKILL)
    again = claim("cp-host-8081", "redis://r/0", "df:", tmp_path)
    assert again.name == "cp-host-8081-0"
    for held in (second, other_stream, again):
        held.release()


def test_no_writable_lock_directory_falls_back_to_a_per_process_name(tmp_path: Path) -> None:
    got = claim("cp-x", "redis://r/0", "df:", tmp_path / "missing")
    assert got.name.startswith("cp-x-p")
