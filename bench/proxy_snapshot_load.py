"""Proxy side of a large snapshot: assemble a RoutingIndex from published sections.

    .venv/bin/python bench/proxy_snapshot_load.py              # 100k and 1M keys, 10k listings
    .venv/bin/python bench/proxy_snapshot_load.py --keys 1000000

Times what a proxy does to load a snapshot:
the Redis transfer of all sections (one MGET from a local Redis), the first full load (decode
257 sections + build the index), and one key change (one
shard re-decoded, the key map copied and patched). Reports the RSS growth of holding
the index. Each size runs in its own subprocess. A script: it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import subprocess
import sys
import time
from pathlib import Path

import coredis
import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.snapshot_bench import BOX, make_rows, rss_mib  # noqa: E402
from control_plane.snapshot.builder import build_snapshot  # noqa: E402
from control_plane.snapshot.redis_store import encode_sections  # noqa: E402
from proxy.snapshot.assemble import SectionAssembler  # noqa: E402
from wire.publish import Manifest, overall_version, section_key  # noqa: E402
from wire.snapshot import Key  # noqa: E402


def manifest_of(sections: dict[str, tuple[str, bytes]]) -> Manifest:
    versions = {name: ver for name, (ver, _) in sections.items()}
    return Manifest(version=overall_version(versions), created_at=1, sections=versions)


async def _transfer_s(sections: dict[str, tuple[str, bytes]], redis_url: str) -> float:
    """Write the sections to Redis under a throwaway prefix, time one MGET of all of them, delete."""
    prefix = f"dfbench-{os.getpid()}:"
    async with coredis.Redis.from_url(redis_url, decode_responses=False) as redis:
        names = [section_key(prefix, n, v) for n, (v, _) in sections.items()]
        for name, (_, body) in zip(names, sections.values(), strict=True):
            await redis.set(name, body)
        try:
            started = time.perf_counter()
            fetched = await redis.mget(names)
            elapsed = time.perf_counter() - started
            assert all(b is not None for b in fetched)
        finally:
            await redis.delete(names)
    return elapsed


def one_size(n_keys: int, n_listings: int, redis_url: str) -> None:
    snap = build_snapshot(make_rows(n_keys, n_listings),
                          lambda blob, seller, key: BOX.open(blob, seller_id=seller, key_id=key)).snapshot
    sections = encode_sections(snap)
    total_bytes = sum(len(b) for _, b in sections.values())
    transfer_s = asyncio.run(_transfer_s(sections, redis_url))
    gc.collect()
    base = rss_mib()
    assembler = SectionAssembler()
    started = time.perf_counter()
    index = assembler.apply(manifest_of(sections), {n: b for n, (_, b) in sections.items()})
    first_s = time.perf_counter() - started
    del sections
    gc.collect()
    held = rss_mib() - base
    changed = msgspec.structs.replace(snap, keys=(*snap.keys, Key(id="key-new", hash="ab" + "0" * 62,
                                                                  account_id=snap.keys[0].account_id)))
    new_sections = encode_sections(changed)
    wanted = assembler.wanted(manifest_of(new_sections))
    started = time.perf_counter()
    index = assembler.apply(manifest_of(new_sections), {n: new_sections[n][1] for n in wanted})
    change_s = time.perf_counter() - started
    assert "ab" + "0" * 62 in index.keys
    print(f"| {n_keys:,} keys, {n_listings:,} listings | {total_bytes / 2**20:.1f} MiB | {transfer_s * 1000:.0f} ms "
          f"| {first_s * 1000:.0f} ms "
          f"| {held:.0f} MiB | {len(wanted)} section(s), {change_s * 1000:.0f} ms |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int)
    parser.add_argument("--listings", type=int, default=10_000)
    parser.add_argument("--redis-url", default=os.environ.get("DF_REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    if args.keys:
        one_size(args.keys, args.listings, args.redis_url)
        return
    print("| snapshot | sections (msgpack) | Redis transfer (one MGET) | first load (decode + index) "
          "| RSS of the index | one key change |")
    print("|---|---|---|---|---|---|")
    for n in (100_000, 1_000_000):
        subprocess.run([sys.executable, __file__, "--keys", str(n), "--listings", str(args.listings),
                        "--redis-url", args.redis_url], check=True)


if __name__ == "__main__":
    main()
