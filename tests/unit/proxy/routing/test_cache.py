from proxy.routing.cache import RankCache
from proxy.routing.rank import Ranking
from proxy.routing.stats import StatsBook


def test_a_ranking_is_reused_within_the_ttl_only() -> None:
    cache = RankCache(ttl_s=0.05)
    ranking = Ranking(candidates=(), excluded=())
    cache.put("k", ranking, now=10.0)
    assert cache.get("k", now=10.04) is ranking
    assert cache.get("k", now=10.06) is None
    assert cache.get("other", now=10.01) is None


def test_the_cache_stays_bounded() -> None:
    cache = RankCache(ttl_s=1.0, max_entries=10)
    for i in range(25):
        cache.put(i, Ranking(candidates=(), excluded=()), now=float(i))
    assert len(cache._entries) <= 10
    assert cache.get(24, now=24.0) is not None


def test_availability_changes_move_the_epoch_so_cached_rankings_are_not_reused() -> None:
    now = [100.0]
    book = StatsBook(consecutive=2, base_eject_s=10.0, clock=lambda: now[0])
    peers = ["a", "b", "c", "d"]
    start = book.epoch
    book.record_success("a", 100.0)
    assert book.epoch == start  # ordinary figures drift: the TTL covers them
    book.record_failure("a", peers)
    assert book.epoch == start
    assert book.record_failure("a", peers)  # ejected
    ejected = book.epoch
    assert ejected > start
    now[0] += 11.0
    book.took("a", now[0])  # half-open probe spent
    assert book.epoch > ejected
    probed = book.epoch
    book.record_success("a", 90.0)  # recovered
    assert book.epoch > probed
