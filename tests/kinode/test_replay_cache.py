"""The bounded replay cache: refuses replays, forgets expired nonces, never lets a
replay through when full."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kinode.federation.replay_cache import ReplayCache
from protocol.errors import ReplayedSignature, StaleSignature

T = 1_700_000_000
DID = "did:key:z6MkexampleA"


def test_refuses_a_nonce_seen_within_its_window():
    cache = ReplayCache()
    cache.remember(DID, "n1", T, T + 300, T)
    cache.remember("did:key:z6MkexampleB", "n1", T, T + 300, T)  # nonces are per signer
    with pytest.raises(ReplayedSignature):
        cache.remember(DID, "n1", T, T + 300, T + 300)


def test_forgets_a_nonce_once_its_signature_expired():
    cache = ReplayCache()
    cache.remember(DID, "n1", T, T + 10, T)
    cache.remember(DID, "n1", T + 11, T + 20, T + 11)  # the first signature is dead by now
    cache.remember(DID, "n2", T + 400, T + 500, T + 400)
    assert cache.size == 1  # both n1 entries are past created + 300


def test_full_cache_evicts_oldest_and_refuses_what_it_can_no_longer_vouch_for():
    cache = ReplayCache(max_entries=3)
    for offset in range(3):
        cache.remember(DID, f"n{offset}", T + offset, T + offset + 300, T + 3)
    cache.remember(DID, "n3", T + 3, T + 303, T + 3)
    assert cache.size == 3 and cache.horizon == T
    with pytest.raises(StaleSignature):
        cache.remember(DID, "n0", T, T + 300, T + 3)  # a replay of the evicted entry
    with pytest.raises(StaleSignature):
        cache.remember(DID, "unseen", T, T + 300, T + 3)
    cache.remember(DID, "fresh", T + 3, T + 303, T + 3)
    with pytest.raises(ReplayedSignature):
        cache.remember(DID, "n3", T + 3, T + 303, T + 3)


def test_evicting_a_dead_entry_does_not_raise_the_horizon():
    cache = ReplayCache(max_entries=2)
    cache.remember(DID, "short", T, T + 5, T)
    cache.remember(DID, "long", T + 1, T + 300, T + 1)
    cache.remember(DID, "next", T + 2, T + 300, T + 10)  # evicts "short", already expired
    assert cache.horizon == -1


def test_size_must_be_positive():
    with pytest.raises(ValueError):
        ReplayCache(max_entries=0)


events = st.lists(
    st.tuples(st.integers(0, 5), st.integers(-60, 5), st.integers(1, 300), st.integers(0, 120)),
    max_size=60,
)


@settings(max_examples=300)
@given(st.integers(1, 6), events)
def test_never_accepts_a_live_replay_and_stays_bounded(max_entries, steps):
    """A replay is the same signature again: same nonce, created and expires. No
    eviction may let one through. While nothing was evicted, the stricter rule
    holds too: a nonce is not accepted twice within the window of its first use."""
    cache, now = ReplayCache(max_entries), T
    signatures, nonces = set(), {}
    for nonce, age, lifetime, advance in steps:
        now += advance
        created = now - age
        if created + lifetime < now:
            continue  # the verifier refuses an expired signature before asking the cache
        key = (DID, f"nonce-{nonce}")
        try:
            cache.remember(*key, created, created + lifetime, now)
        except (ReplayedSignature, StaleSignature):
            continue
        assert (key, created, created + lifetime) not in signatures, "a replay got through"
        if cache.horizon == -1:
            assert nonces.get(key, now - 1) < now, "a nonce was reused within its window"
        signatures.add((key, created, created + lifetime))
        nonces[key] = created + lifetime
        assert cache.size <= max_entries
