"""Range-based set reconciliation: two in-memory hubs reconcile and learn the exact difference."""

import copy
import hashlib
import math
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import sync
from protocol.errors import DuplicateKey, InvalidSyncMessage, Malformed, UnsupportedVersion
from protocol.sync import MAX_TIMESTAMP, Bound, Initiator, Params, SortedItems, respond

T0 = 1767225600
SPEC = Path(__file__).resolve().parents[2] / "specs" / "protocol.md"
TINY = Params(branching=2, id_list_threshold=2, diff_limit=3, frame_limit=1500)  # every path, many rounds


def example_id(n: int) -> str:
    """The spec's example ids: SHA-256 of the decimal number in ASCII."""
    return hashlib.sha256(str(n).encode()).hexdigest()


def example_item(n: int) -> tuple[int, str]:
    return (T0 + 60 * n, example_id(n))


def reconcile(mine, theirs, params=Params(), categories=None, max_rounds=10_000):
    """Run a whole exchange as two hubs would, through JSON bytes; returns (initiator, messages)."""
    a, b = SortedItems(mine), SortedItems(theirs)
    initiator = Initiator(a, categories, params)
    messages, message = [], initiator.start()
    while message is not None:
        request = sync.encode(message)
        reply = sync.encode(respond(b, sync.decode(request), params))
        messages += [request, reply]
        message = initiator.receive(sync.decode(reply))
        assert initiator.rounds <= max_rounds, "the exchange does not terminate"
    assert initiator.done
    return initiator, messages


def assert_exact(initiator, mine, theirs):
    mine_ids, theirs_ids = {i for _, i in mine}, {i for _, i in theirs}
    assert initiator.have == mine_ids - theirs_ids
    assert initiator.need == theirs_ids - mine_ids


# --- strategies -----------------------------------------------------------

hex_ids = st.binary(min_size=32, max_size=32).map(bytes.hex)
# Few distinct timestamps, so equal timestamps (ordered by id) are common; plus the extremes.
timestamps = st.one_of(st.integers(T0, T0 + 3), st.sampled_from([0, 1, MAX_TIMESTAMP - 1, MAX_TIMESTAMP]))
items = st.tuples(timestamps, hex_ids)


@st.composite
def set_pairs(draw, max_size=120):
    universe = draw(st.lists(items, max_size=max_size, unique_by=lambda item: item[1]))
    sides = draw(st.lists(st.sampled_from(["both", "mine", "theirs"]), min_size=len(universe),
                          max_size=len(universe)))
    mine = [item for item, side in zip(universe, sides) if side != "theirs"]
    theirs = [item for item, side in zip(universe, sides) if side != "mine"]
    return mine, theirs


# --- the exchange -----------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(set_pairs())
def test_have_and_need_are_the_exact_differences(pair):
    mine, theirs = pair
    initiator, _ = reconcile(mine, theirs)
    assert_exact(initiator, mine, theirs)
    n = max(len(mine), len(theirs), 2)
    assert initiator.rounds <= math.ceil(math.log(n, 8)) + 2


@settings(max_examples=300, deadline=None)
@given(set_pairs(max_size=60))
def test_tiny_parameters_and_frames_still_reconcile_exactly(pair):
    # branching 2, lists of 2, diffs only up to 3 items, 1,500-byte frames: every
    # path (cutting an id list, crowded frames, closing ranges) is taken.
    mine, theirs = pair
    initiator, messages = reconcile(mine, theirs, TINY)
    assert_exact(initiator, mine, theirs)
    assert all(len(message) <= TINY.frame_limit for message in messages)


@settings(max_examples=50, deadline=None)
@given(set_pairs(max_size=40))
def test_a_frame_smaller_than_one_answer_still_makes_progress(pair):
    # Each message then carries just its first answer (over the limit) and closes with the rest.
    mine, theirs = pair
    initiator, _ = reconcile(mine, theirs, Params(branching=2, id_list_threshold=2, diff_limit=3, frame_limit=150),
                             max_rounds=500)
    assert_exact(initiator, mine, theirs)


@settings(max_examples=100, deadline=None)
@given(set_pairs(), st.sampled_from([Params(), TINY]), st.sampled_from([Params(), TINY]))
def test_peers_with_different_parameters_interoperate(pair, mine_params, their_params):
    mine, theirs = pair
    a, b = SortedItems(mine), SortedItems(theirs)
    initiator = Initiator(a, params=mine_params)
    message = initiator.start()
    while message is not None:
        message = initiator.receive(respond(b, message, their_params))
        assert initiator.rounds < 10_000
    assert_exact(initiator, mine, theirs)


def spread(n, offset=0):
    return [(T0 + 7 * i, hashlib.sha256(f"{offset}:{i}".encode()).hexdigest()) for i in range(n)]


@pytest.mark.parametrize("mine, theirs", [
    ([], []),
    (spread(500), spread(500)),
    (spread(500), spread(500, offset=1)),  # disjoint
    (spread(500), []),
    ([], spread(500)),
    (spread(300)[1:], spread(300)[:-1]),  # differences at both ends of the order
    ([(0, "00" * 32)] + spread(50), spread(50) + [(MAX_TIMESTAMP, "ff" * 32)]),
    ([(T0, example_id(i)) for i in range(40)], [(T0, example_id(i)) for i in range(1, 41)]),  # one timestamp
])
@pytest.mark.parametrize("params", [Params(), TINY], ids=["default", "tiny"])
def test_edge_cases(mine, theirs, params):
    initiator, _ = reconcile(mine, theirs, params)
    assert_exact(initiator, mine, theirs)


def test_identical_sets_take_one_round_trip_and_bytes_independent_of_size():
    for n in (20, 5000):
        initiator, messages = reconcile(spread(n), spread(n))
        assert initiator.rounds == 1 and not initiator.have and not initiator.need
        assert sum(map(len, messages)) < 1000


def test_one_difference_costs_a_sliver_of_the_id_list():
    theirs = spread(20_000)
    initiator, messages = reconcile(theirs[:7000] + theirs[7001:], theirs)
    assert initiator.need == {theirs[7000][1]} and not initiator.have
    naive = 66 * len(theirs)
    assert sum(map(len, messages)) * 100 < naive
    assert initiator.rounds <= math.ceil(math.log(len(theirs), 8)) // 2 + 2


def test_responder_is_stateless_and_leaves_the_message_alone():
    a, b = SortedItems(spread(300)), SortedItems(spread(300)[5:])
    message = Initiator(a).start()
    before = copy.deepcopy(message)
    assert respond(b, message) == respond(b, message)
    assert message == before


def test_categories_are_sent_every_round_and_echoed():
    a, b = SortedItems(spread(400)), SortedItems(spread(400)[3:])
    initiator = Initiator(a, ["web-design", "copywriting"])
    message = initiator.start()
    while message is not None:
        assert message["categories"] == ["web-design", "copywriting"]
        assert sync.requested_categories(message) == ["web-design", "copywriting"]
        reply = respond(b, message)
        assert reply["categories"] == message["categories"]
        message = initiator.receive(reply)
    assert len(initiator.have) == 3


def test_a_reply_for_other_categories_is_rejected_and_changes_nothing():
    a, b = SortedItems(spread(40)), SortedItems(spread(40)[1:])
    initiator = Initiator(a, ["web-design"])
    reply = respond(b, {**initiator.start(), "categories": ["plumbing"]})
    with pytest.raises(InvalidSyncMessage) as err:
        initiator.receive(reply)
    assert err.value.code == "invalid_sync_message"
    assert (initiator.have, initiator.need, initiator.rounds, initiator.done) == (set(), set(), 0, False)


# --- fingerprints, bounds, the item set -------------------------------------

@pytest.mark.parametrize("n, encoded", [(0, "00"), (1, "01"), (127, "7f"), (128, "8100"), (300, "822c"),
                                        (16384, "818000")])
def test_varint_is_negentropys(n, encoded):
    assert sync.varint(n).hex() == encoded


def test_fingerprint_adds_ids_little_endian_mod_2_256():
    big = "ff" * 32  # 2**256 - 1: two of them wrap around
    assert sync.fingerprint_of(2 * sync.id_value(big), 2) == sync.fingerprint_of(2**256 - 2, 2)
    assert sync.id_value("01" + "00" * 31) == 1
    assert sync.fingerprint_of(0, 0) != sync.fingerprint_of(0, 1)  # the count is part of it


@settings(max_examples=200, deadline=None)
@given(st.lists(items, max_size=40, unique_by=lambda item: item[1]),
       st.tuples(timestamps, st.binary(max_size=4).map(bytes.hex)),
       st.tuples(timestamps, st.binary(max_size=4).map(bytes.hex)),
       st.integers(0, 5), st.integers(0, 5))
def test_sorted_items_answers_like_a_plain_filter(members, low, high, limit, offset):
    lower, upper = Bound(*low), Bound(*high)
    expected = sorted(item for item in members if lower.key <= item < upper.key)
    store = SortedItems(members)
    assert store.count(lower, upper) == len(expected)
    assert store.items(lower, upper) == expected
    assert store.items(lower, upper, limit, offset) == expected[offset:offset + limit]
    assert store.fingerprint(lower, upper) == sync.fingerprint_of(
        sum(sync.id_value(item_id) for _, item_id in expected), len(expected))


@given(items, items)
def test_minimal_bound_separates_neighbours(first, second):
    if first == second:
        return
    before, after = sorted([first, second])
    bound = sync.minimal_bound(before, after)
    assert before < bound.key <= after


def test_sorted_items_rejects_what_is_not_an_item():
    with pytest.raises(ValueError):
        SortedItems([(T0, "AB" * 32)])
    with pytest.raises(ValueError):
        SortedItems([(MAX_TIMESTAMP + 1, "ab" * 32)])


# --- malformed messages -------------------------------------------------------

FP = "A" * 22
ID = "ab" * 32
MALFORMED = {
    "not an object": [],
    "no ranges": {"v": 1},
    "no v": {"ranges": []},
    "unknown member": {"v": 1, "ranges": [], "extra": 1},
    "v is a string": {"v": "1", "ranges": []},
    "v is a bool": {"v": True, "ranges": []},
    "ranges not a list": {"v": 1, "ranges": {}},
    "range not a list": {"v": 1, "ranges": ["x"]},
    "range too short": {"v": 1, "ranges": [[5, ""]]},
    "negative delta": {"v": 1, "ranges": [[-1, "", 0]]},
    "delta a float": {"v": 1, "ranges": [[1.5, "", 0]]},
    "delta a bool": {"v": 1, "ranges": [[True, "", 0]]},
    "timestamp past 2**53-1": {"v": 1, "ranges": [[MAX_TIMESTAMP, "", 0], [1, "", 0]]},
    "null not last": {"v": 1, "ranges": [[None, "", 0], [1, "", 0]]},
    "null with a prefix": {"v": 1, "ranges": [[None, "ab", 0]]},
    "odd prefix": {"v": 1, "ranges": [[5, "abc", 0]]},
    "uppercase prefix": {"v": 1, "ranges": [[5, "AB", 0]]},
    "prefix too long": {"v": 1, "ranges": [[5, "ab" * 33, 0]]},
    "empty first range": {"v": 1, "ranges": [[0, "", 0]]},
    "bounds not increasing": {"v": 1, "ranges": [[5, "", 0], [0, "", 0]]},
    "same bound, padded prefix": {"v": 1, "ranges": [[5, "ab", 0], [0, "ab00", 0]]},
    "unknown mode": {"v": 1, "ranges": [[5, "", 4, FP]]},
    "mode a bool": {"v": 1, "ranges": [[5, "", True, FP]]},
    "skip with payload": {"v": 1, "ranges": [[5, "", 0, FP]]},
    "fingerprint missing": {"v": 1, "ranges": [[5, "", 1]]},
    "fingerprint short": {"v": 1, "ranges": [[5, "", 1, "A" * 21]]},
    "fingerprint hex": {"v": 1, "ranges": [[5, "", 1, "ab" * 16]]},
    "fingerprint padded": {"v": 1, "ranges": [[5, "", 1, "A" * 22 + "=="]]},
    "fingerprint not canonical": {"v": 1, "ranges": [[5, "", 1, "A" * 21 + "B"]]},
    "ids not a list": {"v": 1, "ranges": [[5, "", 2, ID]]},
    "id uppercase": {"v": 1, "ranges": [[5, "", 2, [ID.upper()]]]},
    "id short": {"v": 1, "ranges": [[5, "", 2, [ID[:-2]]]]},
    "id twice": {"v": 1, "ranges": [[5, "", 2, [ID, ID]]]},
    "too many ids": {"v": 1, "ranges": [[5, "", 2, [f"{i:064x}" for i in range(sync.MAX_IDS + 1)]]]},
    "diff from the initiator": {"v": 1, "ranges": [[5, "", 3, [ID], []]]},
    "categories empty": {"v": 1, "ranges": [], "categories": []},
    "categories not strings": {"v": 1, "ranges": [], "categories": [1]},
    "category twice": {"v": 1, "ranges": [], "categories": ["a", "a"]},
    "category too long": {"v": 1, "ranges": [], "categories": ["x" * 65]},
    "categories null": {"v": 1, "ranges": [], "categories": None},
}


@pytest.mark.parametrize("message", MALFORMED.values(), ids=MALFORMED.keys())
def test_responder_rejects_malformed_messages(message):
    with pytest.raises(InvalidSyncMessage) as err:
        respond(SortedItems(spread(30)), message)
    assert err.value.code == "invalid_sync_message"


@pytest.mark.parametrize("name", ["too many ids", "unknown mode", "diff with one list"])
def test_initiator_rejects_malformed_replies_and_changes_nothing(name):
    bad = {"v": 1, "ranges": [[5, "", 3, [ID]]]} if name == "diff with one list" else MALFORMED[name]
    initiator = Initiator(SortedItems(spread(30)))
    initiator.start()
    with pytest.raises(InvalidSyncMessage):
        initiator.receive(bad)
    assert (initiator.have, initiator.need, initiator.rounds) == (set(), set(), 0)


def test_diff_from_the_responder_is_well_formed():
    ranges = sync.parse_message({"v": 1, "ranges": [[5, "", 3, [ID], []], [None, "", 0]]}, from_responder=True)
    assert ranges[0].ids == (ID,) and ranges[0].lacking == () and ranges[1].upper == sync.MAX_BOUND


def test_other_versions_are_unsupported():
    with pytest.raises(UnsupportedVersion) as err:
        respond(SortedItems([]), {"v": 2, "ranges": []})
    assert err.value.code == "unsupported_version"


def test_decode_rejects_oversized_and_bad_json():
    with pytest.raises(InvalidSyncMessage):
        sync.decode(b" " * (sync.MAX_MESSAGE_BYTES + 1))
    with pytest.raises(Malformed):
        sync.decode(b'{"v": 1, "ranges": [')
    with pytest.raises(DuplicateKey):
        sync.decode(b'{"v": 1, "v": 1, "ranges": []}')
    with pytest.raises(InvalidSyncMessage):
        sync.decode(b'{"v": 1, "ranges": [[5, "", 9]]}')


def test_params_refuse_values_that_could_not_terminate_or_be_accepted():
    for bad in ({"branching": 1}, {"branching": 10, "id_list_threshold": 8}, {"diff_limit": sync.MAX_IDS + 1},
                {"frame_limit": sync.MAX_MESSAGE_BYTES + 1}, {"id_list_threshold": sync.MAX_IDS + 1}):
        with pytest.raises(ValueError):
            Params(**bad)


# --- the spec's worked examples are what the code produces --------------------

def _spec_section() -> str:
    text = SPEC.read_text(encoding="utf-8")
    start = text.index("<!-- section: sync (owner: sync) -->")
    end = text.index("<!-- section:", start + 10)
    return text[start:end]


def test_spec_examples_match_the_code():
    section = _spec_section()
    blocks = re.findall(r"```json\n(.*?)\n```", section, re.S)
    one = sorted(example_item(n) for n in range(1, 11))
    other = sorted(example_item(n) for n in range(2, 12))
    first = Initiator(SortedItems(one)).start()
    small = Initiator(SortedItems(example_item(n) for n in (1, 2, 3)))
    small_start = small.start()
    produced = [
        first,
        respond(SortedItems(other), first),
        small_start,
        respond(SortedItems(example_item(n) for n in (2, 3, 4)), small_start),
    ]
    assert [sync.encode(message).decode() for message in produced] == blocks[:4]
    store = SortedItems(one)
    assert sync._b64(store.fingerprint(sync.MIN_BOUND, sync.MAX_BOUND)) in section
    assert sync._b64(SortedItems([]).fingerprint(sync.MIN_BOUND, sync.MAX_BOUND)) in section


# --- spec 10.3/10.4: cut sizes, id order, encoding, check order -----------------------

@pytest.mark.parametrize("count", [9, 15, 16, 17, 63])
def test_a_cut_puts_the_remainder_in_the_first_parts_with_minimal_bounds(count):
    items = SortedItems(example_item(n) for n in range(count))
    ranges = sync.parse_message(Initiator(items).start(), from_responder=True)
    lower, sizes = sync.MIN_BOUND, []
    for rng in ranges:
        sizes.append(items.count(lower, rng.upper))
        lower = rng.upper
    per, extra = divmod(count, 8)
    assert sizes == [per + 1] * extra + [per] * (8 - extra)
    assert all(rng.upper.prefix == "" for rng in ranges)  # distinct timestamps: the empty prefix suffices


def test_bounds_between_items_of_one_timestamp_use_the_shortest_distinguishing_prefix():
    same_time = SortedItems((T0, example_id(n)) for n in range(20))
    ranges = sync.parse_message(Initiator(same_time).start(), from_responder=True)
    ordered = [item_id for _, item_id in same_time.items(sync.MIN_BOUND, sync.MAX_BOUND)]
    for rng in ranges[:-1]:
        after = next(i for i in ordered if (T0, i) >= rng.upper.key)
        before = ordered[ordered.index(after) - 1]
        assert rng.upper == sync.minimal_bound((T0, before), (T0, after))
        assert len(rng.upper.prefix) // 2 == next(b for b in range(32) if before[2 * b:2 * b + 2] != after[2 * b:2 * b + 2]) + 1


def test_ids_are_sent_in_item_order_and_accepted_in_any_order():
    mine = [example_item(n) for n in (1, 2, 3)]
    theirs = SortedItems(example_item(n) for n in (2, 3, 4))
    request = Initiator(SortedItems(mine)).start()
    assert request["ranges"][0][3] == [i for _, i in sorted(mine)]
    shuffled = copy.deepcopy(request)
    shuffled["ranges"][0][3].reverse()
    reply, reply_to_shuffled = respond(theirs, request), respond(theirs, shuffled)
    assert reply["ranges"][0][3] == reply_to_shuffled["ranges"][0][3] == [example_id(4)]
    assert reply_to_shuffled["ranges"][0][4] == [example_id(1)]


def test_messages_need_not_be_canonical_but_keep_section_2_codes():
    assert sync.decode(b'{ "ranges" : [ ], "v" : 1 }') == {"v": 1, "ranges": []}
    with pytest.raises(DuplicateKey):
        sync.decode(b'{"v":1,"v":1,"ranges":[]}')


@pytest.mark.parametrize("raw, error", [
    (b'{"v":2,"ranges":"x"}', UnsupportedVersion),  # version before ranges
    (b'{"v":2,"ranges":[],"x":1}', InvalidSyncMessage),  # members before version
    (b'{"v":2,"ranges":[],"categories":[]}', InvalidSyncMessage),  # categories before version
    (b'{"v":"1","ranges":[]}', InvalidSyncMessage),
])
def test_check_order(raw, error):
    with pytest.raises(error):
        sync.decode(raw)


def test_a_reply_echoes_categories_and_has_none_without_them():
    items = SortedItems(example_item(n) for n in range(3))
    with_categories = Initiator(items, ["web-design"]).start()
    assert respond(items, with_categories)["categories"] == ["web-design"]
    assert "categories" not in respond(items, Initiator(items).start())
