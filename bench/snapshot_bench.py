"""Snapshot build / encode / split and decode / join: time and memory at scale.

    .venv/bin/python bench/snapshot_bench.py                 # 100k and 1M keys, 10k listings
    .venv/bin/python bench/snapshot_bench.py --keys 100000   # one size

Each size runs in a fresh subprocess so memory figures do not mix. Measured (control plane
side): rows -> Snapshot (`build_snapshot`, including AES-GCM decryption of every listing's
upstream key), split + msgpack encode + content-hash of all 257 sections
(`encode_sections`), and the bytes a publish writes. Measured (proxy side): decode all
sections + `join` + `check_consistent`, the RSS growth of holding the decoded snapshot,
and the cost of one key change (re-encode everything, count changed sections/bytes).
A script, not a test: it prints figures and asserts nothing about time.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import resource
import subprocess
import sys
import time
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from control_plane.crypto import SecretBox  # noqa: E402
from control_plane.snapshot.builder import build_snapshot  # noqa: E402
from control_plane.snapshot.redis_store import encode_sections  # noqa: E402
from control_plane.snapshot.rows import AccountRow, KeyRow, ListingRow, ModelRow, PlanRow, SnapshotRows  # noqa: E402
from wire.codec import decode_snapshot  # noqa: E402
from wire.publish import join  # noqa: E402
from wire.snapshot import check_consistent  # noqa: E402

BOX = SecretBox(b"b" * 32)


def rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * 4096 / 2**20


def make_rows(n_keys: int, n_listings: int) -> SnapshotRows:
    n_accounts = max(1, n_keys // 10)
    accounts = [AccountRow(id=f"acct-{i:08d}", plan="free", status="active", trading_terms_accepted=True,
                           rpm_limit=None, tpm_limit=None) for i in range(n_accounts)]
    models = [ModelRow(id=f"p{i}/model-{i}", owned_by=f"p{i}", input_price=500_000, output_price=1_500_000,
                       context_length=128_000, capabilities=("chat",)) for i in range(20)]
    keys = [KeyRow(id=f"key-{i:08d}", hash=hashlib.sha256(str(i).encode()).hexdigest(),
                   account_id=f"acct-{i % n_accounts:08d}", status="active", expires_at=None if i % 3 else 1_900_000_000,
                   key_group="default", routing_profile_id=f"prof-{i % n_accounts:08d}",
                   monthly_budget_micro_usd=5_000_000 if i % 2 else None,
                   ip_whitelist=("10.0.0.0/8",) if i % 10 == 0 else (), ip_blacklist=(), model_allowlist=())
            for i in range(n_keys)]
    listings = []
    for i in range(n_listings):
        seller = f"acct-{i % n_accounts:08d}"
        pool_key = f"pk-{i:08d}"
        listings.append(ListingRow(
            id=f"lst-{i:08d}", seller_account_id=seller, pool_key_id=pool_key, provider=f"p{i % 20}", trusted=True,
            model=f"p{i % 20}/model-{i % 20}", upstream_model=f"model-{i % 20}", base_url="https://api.example.com/v1",
            api_format="openai", key_ciphertext=BOX.seal(f"sk-upstream-{i:032d}", seller_id=seller, key_id=pool_key),
            ask_input=400_000, ask_output=1_200_000, ask_cached_input=None, status="active", pool_key_status="active",
            seller_status="active", rpm_limit=None, concurrency_limit=None))
    plans = [PlanRow(name="free", rpm_limit=10, tpm_limit=40_000)]
    return SnapshotRows(plans=plans, models=models, accounts=accounts, keys=keys, listings=listings)


def timed(label: str, results: dict[str, float], fn):  # type: ignore[no-untyped-def]
    gc.collect()
    start = time.perf_counter()
    value = fn()
    results[label] = time.perf_counter() - start
    return value


def one(n_keys: int, n_listings: int) -> None:
    results: dict[str, float] = {}
    rows = make_rows(n_keys, n_listings)

    def open_key(blob: bytes, seller: str, key: str) -> str:
        return BOX.open(blob, seller_id=seller, key_id=key)

    built = timed("build", results, lambda: build_snapshot(rows, open_key)).snapshot
    sections = timed("encode+split+hash", results, lambda: encode_sections(built))
    total = sum(len(body) for _, body in sections.values())
    bodies = {name: body for name, (_, body) in sections.items()}
    catalog_bytes = len(bodies["catalog"])
    gc.collect()
    before = rss_mib()

    def decode_join():  # type: ignore[no-untyped-def]
        snap = join({name: decode_snapshot(body) for name, body in bodies.items()}, "v", 0)
        check_consistent(snap)
        return snap

    decoded = timed("decode+join+check", results, decode_join)
    gc.collect()
    held = rss_mib() - before
    changed_keys = list(built.keys)
    changed_keys[0] = msgspec.structs.replace(changed_keys[0], status="disabled")
    changed = msgspec.structs.replace(built, keys=tuple(changed_keys))
    after = timed("one key change: re-encode all", results, lambda: encode_sections(changed))
    diff = [n for n in sections if sections[n][0] != after[n][0]]
    diff_bytes = sum(len(after[n][1]) for n in diff)
    print(f"keys={n_keys:>9,} listings={n_listings:,} accounts={len(built.accounts):,}")
    for label, seconds in results.items():
        print(f"  {label:<32} {seconds * 1000:>9.0f} ms")
    print(f"  {'published bytes (all sections)':<32} {total / 2**20:>9.1f} MiB  (catalog {catalog_bytes / 2**20:.1f} MiB)")
    print(f"  {'one key change writes':<32} {len(diff)} section(s), {diff_bytes / 1024:.0f} KiB")
    print(f"  {'RSS of decoded snapshot (proxy)':<32} {held:>9.0f} MiB   peak RSS of this run {peak_mib():.0f} MiB")
    del decoded


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--listings", type=int, default=10_000)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.keys[0], args.listings)
        return
    for n in args.keys:
        subprocess.run([sys.executable, __file__, "--one", "--keys", str(n), "--listings", str(args.listings)],
                       check=True)


if __name__ == "__main__":
    main()
