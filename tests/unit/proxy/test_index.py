import msgspec

from proxy.snapshot.index import build_index
from wire.snapshot import Account, Listing, Model, Snapshot


def listing(lid: str, ask_in: int, ask_out: int, status: str = "active", model: str = "m/a") -> Listing:
    return Listing(id=lid, seller_account_id="s", provider="p", model=model, upstream_model="a",
                   base_url="http://up/v1/", upstream_key="sk-up", ask_input=ask_in, ask_output=ask_out,
                   status=status)  # type: ignore[arg-type]


def test_listings_are_active_only_and_cheapest_first() -> None:
    snap = Snapshot(models=(Model(id="m/a", owned_by="m", input_price=5, output_price=5),),
                    listings=(listing("x", 300, 300), listing("y", 100, 200), listing("z", 1, 1, "paused")),
                    accounts=(Account(id="s"),))
    idx = build_index(snap)
    entries = idx.listings["m/a"]
    assert [e.listing.id for e in entries] == ["y", "x"]
    assert entries[0].chat_url == "http://up/v1/chat/completions"
    assert entries[0].auth_header == "Bearer sk-up"
    assert dict(entries[0].market_headers)[b"x-df-market-ask-input"] == b"0.0001"


def test_models_json_is_the_documented_list() -> None:
    snap = Snapshot(models=(Model(id="b/x", owned_by="b", input_price=500_000, output_price=1_500_000,
                                  context_length=1000, capabilities=("chat", "code")),))
    doc = msgspec.json.decode(build_index(snap).models_json)
    assert doc["object"] == "list"
    assert doc["data"][0] == {"id": "b/x", "owned_by": "b", "object": "model", "created": 0,
                              "pricing": {"input": "0.50", "output": "1.50", "unit": "usd_per_million_tokens"},
                              "context_length": 1000, "capabilities": ["chat", "code"],
                              "max_output_tokens": 1000, "aliases": []}
