"""Set reconciliation over the id-prefix tree: two in-memory hubs learn exactly their difference."""

import copy
import hashlib
import random
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import sync
from protocol.errors import DuplicateKey, InvalidSyncMessage, Malformed, UnsupportedVersion
from protocol.sync import AGAIN, DIFF, IDS, SPLIT, Initiator, Params, SortedItems, respond

SPEC = Path(__file__).resolve().parents[2] / "specs" / "protocol.md"
SALT = bytes(range(8))  # the spec's examples use this one
SALT_B64 = "AAECAwQFBgc"
TINY = Params(id_list_threshold=1, diff_limit=1, frame_limit=1024)  # lists of one, crowded frames


def example_id(n: int) -> str:
    """The spec's example ids: SHA-256 of the decimal number in ASCII."""
    return hashlib.sha256(str(n).encode()).hexdigest()


def reconcile(mine, theirs, params=Params(), categories=None, salt=SALT, their_params=None):
    """Run a whole exchange as two hubs would, through JSON bytes; returns (initiator, messages)."""
    a, b = SortedItems(mine), SortedItems(theirs)
    initiator = Initiator(a, categories, params, salt=salt)
    messages, message = [], initiator.start()
    while message is not None:
        request = sync.encode(message)
        reply = sync.encode(respond(b, sync.decode_request(request), their_params or params))
        messages += [request, reply]
        message = initiator.receive(sync.decode_reply(reply))
        assert initiator.rounds <= 2_000, "the exchange does not terminate"
    assert initiator.done
    return initiator, messages


def assert_exact(initiator, mine, theirs):
    assert initiator.have == set(mine) - set(theirs)
    assert initiator.need == set(theirs) - set(mine)


def settling_depth(union, threshold) -> int:
    """The least depth at which every bucket of the union holds at most `threshold` ids."""
    for depth in range(65):
        heads = [item_id[:depth] for item_id in sorted(union)]
        if all(heads.count(head) <= threshold for head in set(heads)):
            return depth
    raise AssertionError("unreachable: a 64-digit bucket holds one id")


def round_bound(mine, theirs, threshold) -> int:
    """Message m carries buckets of depth m-1, so buckets listable at depth L are listed by message
    L+1 and settled by message L+2 at the latest: L//2 + 1 round trips (spec 10.4)."""
    return settling_depth(set(mine) | set(theirs), threshold) // 2 + 1


# --- strategies -----------------------------------------------------------

random_ids = st.binary(min_size=32, max_size=32).map(bytes.hex)
# Ids that share long prefixes, as ground ones would: deep buckets, many rounds.
clustered_ids = st.tuples(st.sampled_from(["", "00", "abab", "ffffffff", "0" * 60]),
                          st.binary(min_size=32, max_size=32).map(bytes.hex)).map(lambda t: (t[0] + t[1])[:64])
any_ids = st.one_of(random_ids, clustered_ids)


@st.composite
def set_pairs(draw, max_size=120, ids=any_ids):
    universe = draw(st.lists(ids, max_size=max_size, unique=True))
    shape = draw(st.sampled_from(["mixed", "identical", "disjoint", "one-off", "one side empty"]))
    if shape == "identical":
        return universe, list(universe)
    if shape == "disjoint":
        return universe[::2], universe[1::2]
    if shape == "one-off":
        return universe[1:], universe
    if shape == "one side empty":
        return universe, []
    sides = draw(st.lists(st.sampled_from(["both", "mine", "theirs"]), min_size=len(universe),
                          max_size=len(universe)))
    return ([i for i, side in zip(universe, sides) if side != "theirs"],
            [i for i, side in zip(universe, sides) if side != "mine"])


# --- the exchange -----------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(set_pairs(), st.binary(min_size=8, max_size=8))
def test_have_and_need_are_the_exact_differences_within_the_round_bound(pair, salt):
    mine, theirs = pair
    initiator, messages = reconcile(mine, theirs, salt=salt)
    assert_exact(initiator, mine, theirs)
    assert initiator.rounds <= round_bound(mine, theirs, Params().id_list_threshold)
    assert all(len(message) <= sync.MAX_MESSAGE_BYTES for message in messages)


@settings(max_examples=200, deadline=None)
@given(set_pairs(max_size=300, ids=random_ids))
def test_random_ids_settle_in_at_most_three_round_trips_below_a_few_thousand(pair):
    mine, theirs = pair
    initiator, _ = reconcile(mine, theirs)
    assert_exact(initiator, mine, theirs)
    assert initiator.rounds <= 3


@settings(max_examples=200, deadline=None)
@given(set_pairs(max_size=160))
def test_tiny_parameters_and_crowded_frames_still_reconcile_exactly(pair):
    # lists of one id, diffs of one, 1 KB frames: agains, backlogs and splits of id lists are all taken.
    mine, theirs = pair
    initiator, messages = reconcile(mine, theirs, TINY)
    assert_exact(initiator, mine, theirs)
    assert all(len(message) <= sync.MAX_MESSAGE_BYTES for message in messages)


def test_a_crowded_responder_ends_with_again_and_the_initiator_asks_the_rest_again():
    rnd = random.Random(3)
    common = [rnd.randbytes(32).hex() for _ in range(3000)]
    mine, theirs = common[40:], common[:-40]  # 80 differences spread over the tree
    initiator, messages = reconcile(mine, theirs, Params(), their_params=Params(frame_limit=2048))
    assert_exact(initiator, mine, theirs)
    replies = [sync.decode_reply(m) for m in messages[1::2]]
    assert any(r["buckets"] and r["buckets"][-1][1] == AGAIN for r in replies)
    assert max(len(m) for m in messages[1::2]) <= 2048 + 4096  # over the frame only by a first answer


def test_a_crowded_initiator_keeps_the_rest_for_its_next_request():
    rnd = random.Random(4)
    common = [rnd.randbytes(32).hex() for _ in range(3000)]
    mine, theirs = common[40:], common[:-40]
    roomy, _ = reconcile(mine, theirs)
    crowded, messages = reconcile(mine, theirs, Params(frame_limit=2048), their_params=Params())
    assert_exact(crowded, mine, theirs)
    assert crowded.rounds > roomy.rounds
    assert all(len(m) <= 2048 for m in messages[2::2])  # a split node is far below the frame


@settings(max_examples=100, deadline=None)
@given(set_pairs(), st.sampled_from([Params(), TINY, Params(id_list_threshold=64)]),
       st.sampled_from([Params(), TINY, Params(id_list_threshold=64)]))
def test_peers_with_different_parameters_interoperate(pair, mine_params, their_params):
    mine, theirs = pair
    initiator, _ = reconcile(mine, theirs, mine_params, their_params=their_params)
    assert_exact(initiator, mine, theirs)


def spread(n, offset=0):
    return [hashlib.sha256(f"{offset}:{i}".encode()).hexdigest() for i in range(n)]


@pytest.mark.parametrize("mine, theirs", [
    ([], []),
    (spread(500), spread(500)),
    (spread(500), spread(500, offset=1)),  # disjoint
    (spread(500), []),
    ([], spread(500)),
    (spread(3000), spread(3000)[:-1]),
    (["00" * 32] + spread(50), spread(50) + ["ff" * 32]),  # the two ends of the tree
    ([f"{i:064x}" for i in range(40)], [f"{i:064x}" for i in range(1, 41)]),  # 62 shared digits
])
@pytest.mark.parametrize("params", [Params(), TINY], ids=["default", "tiny"])
def test_edge_cases(mine, theirs, params):
    initiator, _ = reconcile(mine, theirs, params)
    assert_exact(initiator, mine, theirs)


def test_identical_sets_take_one_round_trip_and_bytes_independent_of_size():
    for n in (20, 20_000):
        initiator, messages = reconcile(spread(n), spread(n))
        assert initiator.rounds == 1 and not initiator.have and not initiator.need
        assert sum(map(len, messages)) < 1000


@pytest.mark.parametrize("side", ["need", "have"])
def test_one_difference_among_100000_takes_three_round_trips_and_under_1500_bytes(side):
    rnd = random.Random(7)
    common = [rnd.randbytes(32).hex() for _ in range(100_000)]
    mine, theirs = (common[1:], common) if side == "need" else (common, common[1:])
    initiator, messages = reconcile(mine, theirs)
    assert_exact(initiator, mine, theirs)
    assert initiator.rounds <= 3 and sum(map(len, messages)) <= 1500


def test_the_outcome_does_not_depend_on_the_salt_or_the_order_items_came_in():
    mine, theirs = spread(700)[3:], spread(700)[:-5]
    outcomes = set()
    for salt in (SALT, b"\xff" * 8, bytes(8)):
        for order in (mine, list(reversed(mine))):
            initiator, _ = reconcile(order, theirs, salt=salt)
            outcomes.add((frozenset(initiator.have), frozenset(initiator.need)))
    assert len(outcomes) == 1


def test_responder_is_stateless_and_leaves_the_message_alone():
    a, b = SortedItems(spread(300)), SortedItems(spread(300)[5:])
    message = Initiator(a, salt=SALT).start()
    before = copy.deepcopy(message)
    assert respond(b, message) == respond(b, message)
    assert message == before


def test_categories_and_salt_are_sent_every_round_and_categories_echoed():
    a, b = SortedItems(spread(400)), SortedItems(spread(400)[3:])
    initiator = Initiator(a, ["web-design", "copywriting"], salt=SALT)
    message = initiator.start()
    while message is not None:
        assert message["categories"] == ["web-design", "copywriting"] and message["salt"] == SALT_B64
        reply = respond(b, message)
        assert reply["categories"] == message["categories"] and "salt" not in reply
        message = initiator.receive(reply)
    assert len(initiator.have) == 3


def test_a_reply_for_other_categories_is_rejected_and_changes_nothing():
    a, b = SortedItems(spread(40)), SortedItems(spread(40)[1:])
    initiator = Initiator(a, ["web-design"], salt=SALT)
    reply = respond(b, {**initiator.start(), "categories": ["plumbing"]})
    with pytest.raises(InvalidSyncMessage) as err:
        initiator.receive(reply)
    assert err.value.code == "invalid_sync_message"
    assert (initiator.have, initiator.need, initiator.rounds, initiator.done) == (set(), set(), 0, False)


class CountingItems(SortedItems):
    """Counts the ids each question touches, the work a SQLite store would do."""

    touched = 0

    def ids(self, prefix):
        found = super().ids(prefix)
        self.touched += len(found)
        return found

    def children(self, prefix):
        found = super().children(prefix)
        self.touched += sum(n for n, _ in found)
        return found


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["", "0", "00", "1", "a", "ab", "abc", "f"]), min_size=1, max_size=40),
       st.sampled_from([SPLIT, IDS]))
def test_a_request_costs_the_responder_at_most_two_passes_over_its_set(prefixes, mode):
    # Buckets must be disjoint, so a request naming the root 1,000 times, or a bucket and its
    # children, is refused before any work; an accepted one touches each id at most twice.
    store = CountingItems(spread(2000))
    payload = "A" * 171 if mode == SPLIT else []
    message = {"v": 2, "salt": SALT_B64, "buckets": [[p, mode, payload] for p in prefixes]}
    disjoint = all(not b.startswith(a) for a, b in zip(prefixes, prefixes[1:])) and prefixes == sorted(set(prefixes))
    if not disjoint:
        with pytest.raises(InvalidSyncMessage):
            respond(store, message)
        assert store.touched == 0
        return
    respond(store, message)
    assert store.touched <= 2 * len(store) + 2 * sync.MAX_IDS


# --- fingerprints, buckets, the item set -------------------------------------

@pytest.mark.parametrize("n, encoded", [(0, "00"), (1, "01"), (127, "7f"), (128, "8100"), (300, "822c"),
                                        (16384, "818000")])
def test_varint_is_negentropys(n, encoded):
    assert sync.varint(n).hex() == encoded


def test_fingerprint_adds_ids_little_endian_mod_2_256_under_the_salt():
    big = "ff" * 32  # 2**256 - 1: two of them wrap around
    assert sync.fingerprint_of(SALT, 2 * sync.id_value(big), 2) == sync.fingerprint_of(SALT, 2**256 - 2, 2)
    assert sync.id_value("01" + "00" * 31) == 1
    assert sync.fingerprint_of(SALT, 0, 0) != sync.fingerprint_of(SALT, 0, 1)  # the count is part of it
    assert sync.fingerprint_of(SALT, 5, 1) != sync.fingerprint_of(bytes(8), 5, 1)  # and so is the salt
    assert sync.fingerprint_of(SALT, 5, 1) == hashlib.sha256(SALT + (5).to_bytes(32, "little") + b"\x01").digest()[:8]


@settings(max_examples=200, deadline=None)
@given(st.lists(any_ids, max_size=40, unique=True), st.text("0123456789abcdef", max_size=4))
def test_sorted_items_answers_like_a_plain_filter(members, prefix):
    store = SortedItems(members)
    under = sorted(i for i in members if i.startswith(prefix))
    assert store.count(prefix) == len(under) and store.ids(prefix) == under
    assert store.children(prefix) == [
        (len(kids), sum(map(sync.id_value, kids)))
        for kids in ([i for i in under if i[len(prefix)] == digit] for digit in sync.HEX)]


def test_sorted_items_rejects_what_is_not_an_id():
    for bad in ("AB" * 32, "ab" * 31, 5):
        with pytest.raises(ValueError):
            SortedItems([bad])


def test_initiator_refuses_a_salt_that_is_not_8_bytes():
    for salt in (b"", bytes(7), bytes(16), "AAECAwQFBgc"):
        with pytest.raises(ValueError):
            Initiator(SortedItems([]), salt=salt)


# --- malformed messages -------------------------------------------------------

SPLIT_FPS = "A" * 171
ID = "ab" * 32
REQ = {"v": 2, "salt": SALT_B64}
MALFORMED = {
    "not an object": [],
    "no buckets": {**REQ},
    "no v": {"salt": SALT_B64, "buckets": []},
    "no salt": {"v": 2, "buckets": []},
    "unknown member": {**REQ, "buckets": [], "extra": 1},
    "old ranges member": {**REQ, "ranges": []},
    "v is a string": {**REQ, "v": "2", "buckets": []},
    "v is a bool": {**REQ, "v": True, "buckets": []},
    "salt too short": {**REQ, "salt": "AAECAwQFBg", "buckets": []},
    "salt not canonical": {**REQ, "salt": "AAECAwQFBgd", "buckets": []},
    "salt hex": {**REQ, "salt": "0001020304050607", "buckets": []},
    "salt a number": {**REQ, "salt": 5, "buckets": []},
    "buckets not a list": {**REQ, "buckets": {}},
    "bucket not a list": {**REQ, "buckets": ["x"]},
    "bucket too short": {**REQ, "buckets": [["a"]]},
    "prefix uppercase": {**REQ, "buckets": [["A", 1, SPLIT_FPS]]},
    "prefix not hex": {**REQ, "buckets": [["g", 1, SPLIT_FPS]]},
    "prefix a number": {**REQ, "buckets": [[1, 1, SPLIT_FPS]]},
    "prefix too long": {**REQ, "buckets": [["a" * 65, 2, []]]},
    "split of a 64-digit bucket": {**REQ, "buckets": [["a" * 64, 1, SPLIT_FPS]]},
    "same bucket twice": {**REQ, "buckets": [["a", 2, []], ["a", 2, []]]},
    "buckets out of order": {**REQ, "buckets": [["b", 2, []], ["a", 2, []]]},
    "a bucket inside another": {**REQ, "buckets": [["a", 2, []], ["ab", 2, []]]},
    "unknown mode": {**REQ, "buckets": [["a", 4, SPLIT_FPS]]},
    "mode a bool": {**REQ, "buckets": [["a", True, SPLIT_FPS]]},
    "again from the initiator": {**REQ, "buckets": [["a", 0]]},
    "diff from the initiator": {**REQ, "buckets": [["a", 3, [], []]]},
    "split without fingerprints": {**REQ, "buckets": [["a", 1]]},
    "split short": {**REQ, "buckets": [["a", 1, "A" * 170]]},
    "split of 8 fingerprints": {**REQ, "buckets": [["a", 1, "A" * 86]]},
    "split padded": {**REQ, "buckets": [["a", 1, "A" * 171 + "="]]},
    "split not canonical": {**REQ, "buckets": [["a", 1, "A" * 170 + "B"]]},
    "ids not a list": {**REQ, "buckets": [["a", 2, ID]]},
    "id uppercase": {**REQ, "buckets": [["", 2, [ID.upper()]]]},
    "id short": {**REQ, "buckets": [["", 2, [ID[:-2]]]]},
    "id twice": {**REQ, "buckets": [["", 2, [ID, ID]]]},
    "id outside its bucket": {**REQ, "buckets": [["c", 2, [ID]]]},
    "too many ids": {**REQ, "buckets": [["", 2, [f"{i:064x}" for i in range(sync.MAX_IDS + 1)]]]},
    "categories empty": {**REQ, "buckets": [], "categories": []},
    "categories not strings": {**REQ, "buckets": [], "categories": [1]},
    "category twice": {**REQ, "buckets": [], "categories": ["a", "a"]},
    "category too long": {**REQ, "buckets": [], "categories": ["x" * 65]},
    "categories null": {**REQ, "buckets": [], "categories": None},
}


@pytest.mark.parametrize("message", MALFORMED.values(), ids=MALFORMED.keys())
def test_responder_rejects_malformed_messages(message):
    with pytest.raises(InvalidSyncMessage) as err:
        respond(SortedItems(spread(30)), message)
    assert err.value.code == "invalid_sync_message"


REPLY_MALFORMED = {
    "a salt in a reply": {"v": 2, "salt": SALT_B64, "buckets": []},
    "diff with one list": {"v": 2, "buckets": [["a", 3, []]]},
    "a bucket after again": {"v": 2, "buckets": [["a", 0], ["b", 2, []]]},
    "too many ids": {"v": 2, "buckets": [["", 2, [f"{i:064x}" for i in range(sync.MAX_IDS + 1)]]]},
    "again for a bucket not asked": {"v": 2, "buckets": [["7", 0]]},
}


@pytest.mark.parametrize("reply", REPLY_MALFORMED.values(), ids=REPLY_MALFORMED.keys())
def test_initiator_rejects_malformed_replies_and_changes_nothing(reply):
    initiator = Initiator(SortedItems(spread(30)), salt=SALT)
    initiator.start()
    with pytest.raises(InvalidSyncMessage):
        initiator.receive(reply)
    assert (initiator.have, initiator.need, initiator.rounds) == (set(), set(), 0)


def test_a_diff_from_the_responder_is_well_formed():
    buckets = sync.parse_message({"v": 2, "buckets": [["a", 3, ["a" * 64], []], ["b", 0]]}, from_responder=True)
    assert buckets[0].ids == ("a" * 64,) and buckets[0].lacking == () and buckets[1].mode == AGAIN


def test_other_versions_are_unsupported():
    with pytest.raises(UnsupportedVersion) as err:
        respond(SortedItems([]), {"v": 1, "salt": SALT_B64, "buckets": []})
    assert err.value.code == "unsupported_version"


def test_decode_rejects_oversized_and_bad_json():
    with pytest.raises(InvalidSyncMessage):
        sync.decode_request(b" " * (sync.MAX_MESSAGE_BYTES + 1))
    with pytest.raises(Malformed):
        sync.decode_request(b'{"v": 2, "buckets": [')
    with pytest.raises(DuplicateKey):
        sync.decode_reply(b'{"v": 2, "v": 2, "buckets": []}')
    with pytest.raises(InvalidSyncMessage):
        sync.decode_reply(b'{"v": 2, "buckets": [["", 9]]}')


def test_params_refuse_values_that_could_not_terminate_or_be_accepted():
    for bad in ({"id_list_threshold": 0}, {"id_list_threshold": 65}, {"id_list_threshold": 8, "diff_limit": 4},
                {"diff_limit": sync.MAX_IDS + 1}, {"frame_limit": sync.MAX_MESSAGE_BYTES + 1},
                {"frame_limit": 1000}):
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
    one = SortedItems(example_id(n) for n in range(1, 11))
    first = Initiator(one, salt=SALT).start()
    small_start = Initiator(SortedItems(example_id(n) for n in (1, 2, 3)), salt=SALT).start()
    produced = [
        first,
        respond(SortedItems(example_id(n) for n in range(2, 12)), first),
        small_start,
        respond(SortedItems(example_id(n) for n in (2, 3, 4)), small_start),
    ]
    assert [sync.encode(message).decode() for message in produced] == blocks[:4]
    root_sum = sum(map(sync.id_value, one.ids("")))
    assert sync.b64(sync.fingerprint_of(SALT, root_sum, 10)) in section
    assert sync.b64(sync.fingerprint_of(SALT, 0, 0)) in section
    assert SALT_B64 in section


def test_ids_are_sent_in_order_and_accepted_in_any_order():
    mine = sorted(example_id(n) for n in (1, 2, 3))
    theirs = SortedItems(example_id(n) for n in (2, 3, 4))
    request = Initiator(SortedItems(mine), salt=SALT).start()
    assert request["buckets"] == [["", IDS, mine]]
    shuffled = copy.deepcopy(request)
    shuffled["buckets"][0][2].reverse()
    reply, reply_to_shuffled = respond(theirs, request), respond(theirs, shuffled)
    assert reply["buckets"][0][:3] == reply_to_shuffled["buckets"][0][:3] == ["", DIFF, [example_id(4)]]
    assert reply_to_shuffled["buckets"][0][3] == [example_id(1)]


def test_messages_need_not_be_canonical_but_keep_section_2_codes():
    raw = b'{ "buckets" : [ ], "v" : 2, "salt": "AAECAwQFBgc" }'
    assert sync.decode_request(raw) == {"v": 2, "buckets": [], "salt": SALT_B64}
    with pytest.raises(DuplicateKey):
        sync.decode_request(b'{"v":2,"v":2,"buckets":[],"salt":"AAECAwQFBgc"}')


@pytest.mark.parametrize("raw, error", [
    (b'{"v":1,"buckets":"x","salt":"x"}', UnsupportedVersion),  # version before buckets and salt
    (b'{"v":1,"ranges":[]}', InvalidSyncMessage),  # members before version
    (b'{"v":1,"buckets":[],"salt":"x","categories":[]}', InvalidSyncMessage),  # categories first
    (b'{"v":"2","buckets":[],"salt":"AAECAwQFBgc"}', InvalidSyncMessage),
    (b'{"v":2,"buckets":"x","salt":"x"}', InvalidSyncMessage),  # the salt, then the buckets
])
def test_check_order(raw, error):
    with pytest.raises(error):
        sync.decode_request(raw)


def test_a_reply_echoes_categories_and_has_none_without_them():
    items = SortedItems(example_id(n) for n in range(3))
    with_categories = Initiator(items, ["web-design"], salt=SALT).start()
    assert respond(items, with_categories)["categories"] == ["web-design"]
    assert "categories" not in respond(items, Initiator(items, salt=SALT).start())
