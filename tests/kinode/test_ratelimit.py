"""Token buckets driven by a fake clock: no sleeping."""

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kinode.federation.ratelimit import Decision, RateLimiter


def test_burst_then_refused_with_whole_second_retry_after():
    limiter = RateLimiter(rate=1, burst=3)
    assert [limiter.check("alice", now=100).allowed for _ in range(3)] == [True, True, True]
    assert limiter.check("alice", now=100) == Decision(False, 1)
    assert limiter.check("alice", now=100.5) == Decision(False, 1)  # half a token: ceil to 1 s
    assert limiter.check("alice", now=101) == Decision(True, 0)


def test_slow_rate_rounds_retry_after_up():
    limiter = RateLimiter(rate=0.1, burst=1)  # one request every 10 s
    assert limiter.check("k", 0).allowed
    assert limiter.check("k", 0) == Decision(False, 10)
    assert limiter.check("k", 2.5) == Decision(False, 8)  # 7.5 s left
    assert limiter.check("k", 9.99) == Decision(False, 1)
    assert limiter.check("k", 10).allowed


def test_keys_are_independent():
    limiter = RateLimiter(rate=1, burst=1)
    assert limiter.check("did:key:alice", 0).allowed
    assert not limiter.check("did:key:alice", 0).allowed
    assert limiter.check("did:key:bob", 0).allowed
    assert limiter.check("127.0.0.1", 0).allowed


def test_refill_never_exceeds_the_burst():
    limiter = RateLimiter(rate=1, burst=2)
    limiter.check("k", 0)
    results = [limiter.check("k", 1_000_000).allowed for _ in range(3)]
    assert results == [True, True, False]


def test_cost_spends_several_tokens():
    limiter = RateLimiter(rate=2, burst=10)
    assert limiter.check("k", 0, cost=8).allowed
    assert limiter.check("k", 0, cost=4) == Decision(False, 1)  # needs 2 more tokens: 1 s
    assert limiter.check("k", 0, cost=2).allowed
    with pytest.raises(ValueError):
        limiter.check("k", 0, cost=11)  # could never be allowed


def test_a_refused_request_spends_nothing():
    limiter = RateLimiter(rate=1, burst=1)
    limiter.check("k", 0)
    for _ in range(100):
        limiter.check("k", 0.5)
    assert limiter.check("k", 1).allowed


def test_clock_stepping_back_does_not_mint_tokens():
    limiter = RateLimiter(rate=1, burst=1)
    assert limiter.check("k", 50).allowed
    assert not limiter.check("k", 10).allowed
    assert not limiter.check("k", 50.5).allowed


def test_idle_buckets_are_dropped():
    limiter = RateLimiter(rate=1, burst=5)  # refilled after 5 idle seconds
    for n in range(100):
        limiter.check(f"client-{n}", now=0)
    assert len(limiter) == 100
    limiter.check("late", now=5)
    assert len(limiter) == 1


def test_lru_cap_bounds_memory_and_keeps_the_recently_used():
    limiter = RateLimiter(rate=1, burst=1, max_keys=3)
    for key in ("a", "b", "c"):
        limiter.check(key, 0)
    limiter.check("a", 0.1)  # a is now the most recently used
    limiter.check("d", 0.2)  # evicts b, the least recently used
    assert len(limiter) == 3
    assert not limiter.check("a", 0.3).allowed  # a's bucket (empty) was kept
    assert limiter.check("b", 0.3).allowed  # b was forgotten: a fresh burst


def test_rejects_nonsense_settings():
    for kwargs in ({"rate": 0, "burst": 1}, {"rate": 1, "burst": 0}, {"rate": 1, "burst": 1, "max_keys": 0}):
        with pytest.raises(ValueError):
            RateLimiter(**kwargs)


rates = st.sampled_from([0.05, 0.1, 1 / 3, 0.7, 1, 2.5, 10, 100])
steps = st.lists(st.floats(min_value=0, max_value=30, allow_nan=False), min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(rate=rates, burst=st.integers(1, 20), gaps=steps)
def test_retry_after_is_the_smallest_whole_second_that_works(rate, burst, gaps):
    limiter = RateLimiter(rate=rate, burst=burst)
    now = 0.0
    for gap in gaps:
        now += gap
        decision = limiter.check("k", now)
        if not decision.allowed:
            assert decision.retry_after >= 1
            assert copy.deepcopy(limiter).check("k", now + decision.retry_after).allowed
            if decision.retry_after > 1:
                assert not copy.deepcopy(limiter).check("k", now + decision.retry_after - 1).allowed


@settings(max_examples=200, deadline=None)
@given(rate=rates, burst=st.integers(1, 20), gaps=steps)
def test_never_more_than_burst_plus_refill(rate, burst, gaps):
    limiter = RateLimiter(rate=rate, burst=burst)
    now, allowed = 0.0, 0
    for gap in gaps:
        now += gap
        allowed += limiter.check("k", now).allowed
    assert allowed <= burst + now * rate + 1e-6



def test_a_charge_puts_the_bucket_into_debt_and_waits_it_out():
    limiter = RateLimiter(rate=10, burst=100)
    assert limiter.check("flooder", 0, cost=100).allowed
    limiter.charge("flooder", 0, 900)  # found out afterwards: the work failed; debt stops at -burst
    decision = limiter.check("flooder", 0)
    assert (decision.allowed, decision.retry_after) == (False, 11)  # (1 + 100) / 10 seconds
    assert not limiter.check("flooder", 10).allowed
    assert limiter.check("flooder", 10.1).allowed


def test_a_bucket_in_debt_is_not_dropped_as_idle():
    limiter = RateLimiter(rate=1, burst=5)
    limiter.check("flooder", 0, cost=5)
    limiter.charge("flooder", 0, 5)  # -5: full again only after 10 s, not refill_seconds (5)
    limiter.check("other", 6)
    assert len(limiter) == 2
    assert limiter.check("flooder", 6).allowed  # the one token refilled since the debt
    assert not limiter.check("flooder", 6).allowed  # a dropped, fresh bucket would hold five
