"""The outbox's delivery policy: classification, backoff, Retry-After, circuit breakers."""

import asyncio
import email.utils
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kinode.errors import ForbiddenAddress
from kinode.retry import CircuitBreaker, CircuitBreakers, classify, next_attempt, parse_retry_after

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z


@pytest.mark.parametrize("status, outcome", [
    (200, "delivered"), (201, "delivered"), (202, "delivered"), (204, "delivered"), (299, "delivered"),
    (408, "retry"), (429, "retry"), (500, "retry"), (502, "retry"), (503, "retry"), (504, "retry"), (599, "retry"),
    (400, "give_up"), (401, "give_up"), (403, "give_up"), (404, "give_up"), (409, "give_up"),
    (413, "give_up"), (422, "give_up"), (499, "give_up"), (301, "give_up"), (304, "give_up"), (101, "give_up"),
])
def test_classify_status(status, outcome):
    assert classify(status, None) == outcome


@pytest.mark.parametrize("error", [
    ConnectionRefusedError(), ConnectionResetError(), asyncio.TimeoutError(), OSError("no route"),
])
def test_network_errors_retry(error):
    assert classify(None, error) == "retry"


def test_own_refusals_give_up_and_a_status_wins_over_an_error():
    assert classify(None, ForbiddenAddress("refusing 10.0.0.1")) == "give_up"
    assert classify(503, ConnectionResetError()) == "retry"
    with pytest.raises(ValueError):
        classify(None, None)


def test_backoff_window_doubles_up_to_the_cap():
    # With a maximal draw the delay is the window itself.
    class MaxDraw(random.Random):
        def uniform(self, a, b):
            return b

    delays = [next_attempt(n, NOW, base=1, cap=100, rng=MaxDraw()) - NOW for n in range(1, 10)]
    assert delays == [1, 2, 4, 8, 16, 32, 64, 100, 100]


def test_full_jitter_is_reproducible_with_a_seed_and_spreads_out():
    first = [next_attempt(5, NOW, rng=random.Random(7)) for _ in range(3)]
    assert first == [next_attempt(5, NOW, rng=random.Random(7)) for _ in range(3)]
    rng = random.Random(42)
    delays = [next_attempt(5, NOW, base=1, rng=rng) - NOW for _ in range(1000)]
    assert all(0 <= d <= 16 for d in delays)
    assert min(delays) < 2 and max(delays) > 14  # spread over the whole window, not bunched at the top


def test_huge_attempt_counts_stay_at_the_cap():
    assert NOW <= next_attempt(10_000, NOW, cap=3600, rng=random.Random(1)) <= NOW + 3600


def test_retry_after_is_a_floor_but_not_beyond_the_cap():
    rng = random.Random(3)
    assert next_attempt(1, NOW, base=1, rng=rng, retry_after=120) == NOW + 120
    assert next_attempt(1, NOW, cap=60, rng=rng, retry_after=86_400) == NOW + 60
    with pytest.raises(ValueError):
        next_attempt(0, NOW, rng=rng)


@given(
    attempts=st.integers(1, 500),
    base=st.floats(0.001, 60),
    cap=st.floats(1, 86_400),
    retry_after=st.none() | st.floats(0, 100_000),
    seed=st.integers(0, 2**32),
)
def test_delay_within_zero_and_cap_and_never_below_retry_after(attempts, base, cap, retry_after, seed):
    delay = next_attempt(attempts, 0.0, base=base, cap=cap, rng=random.Random(seed), retry_after=retry_after)
    assert 0 <= delay <= cap
    if retry_after is not None:
        assert delay >= min(retry_after, cap)


def http_date(timestamp: float) -> str:
    return email.utils.formatdate(timestamp, usegmt=True)


@pytest.mark.parametrize("value, expected", [
    ("120", 120.0), (" 7 ", 7.0), ("0", 0.0),
    (http_date(NOW + 90), 90.0),
    (http_date(NOW - 90), 0.0),  # a date in the past: go now
    ("Thursday, 01-Jan-26 00:01:00 GMT", 60.0),  # RFC 850
    ("Thu Jan  1 00:02:00 2026", 120.0),  # asctime, read as UTC
    (None, None), ("", None), ("soon", None), ("-5", None), ("1.5", None), ("Thu, 99 Foo 2026", None),
])
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value, NOW) == expected


def test_breaker_opens_after_consecutive_failures_only():
    breaker = CircuitBreaker(failure_threshold=3, cool_down=60)
    breaker.record_failure(0)
    breaker.record_failure(1)
    breaker.record_success()  # resets the count: not consecutive
    breaker.record_failure(2)
    breaker.record_failure(3)
    assert breaker.state(3) == "closed" and breaker.allow(3)
    breaker.record_failure(4)
    assert breaker.state(4) == "open" and not breaker.allow(4)
    assert not breaker.allow(63.9)


def test_half_open_lets_one_probe_through_then_closes_on_success():
    breaker = CircuitBreaker(failure_threshold=1, cool_down=60)
    breaker.record_failure(0)
    assert breaker.state(60) == "half_open"
    assert breaker.allow(60)
    assert not breaker.allow(61)  # only one probe at a time
    breaker.record_success()
    assert breaker.state(61) == "closed" and breaker.allow(61) and breaker.allow(61)


def test_a_failed_probe_opens_for_another_cool_down():
    breaker = CircuitBreaker(failure_threshold=2, cool_down=30)
    breaker.record_failure(0)
    breaker.record_failure(0)
    assert breaker.allow(30)
    breaker.record_failure(31)
    assert breaker.state(31) == "open" and not breaker.allow(60)
    assert breaker.state(61) == "half_open" and breaker.allow(61)


def test_a_lost_probe_is_replaced_after_a_cool_down():
    breaker = CircuitBreaker(failure_threshold=1, cool_down=10)
    breaker.record_failure(0)
    assert breaker.allow(10)  # the probe's task is cancelled and never reports
    assert not breaker.allow(19)
    assert breaker.allow(20)


def test_breakers_are_per_host():
    breakers = CircuitBreakers(failure_threshold=1, cool_down=5)
    breakers["hub-a.example"].record_failure(0)
    assert not breakers["hub-a.example"].allow(1)
    assert breakers["hub-b.example"].allow(1)
    assert breakers["hub-a.example"] is breakers["hub-a.example"]
