"""The subscription index agrees with the protocol's wildcard rule (`Channel.matches`), whatever is subscribed."""

from __future__ import annotations

import json

from hypothesis import example, given
from hypothesis import strategies as st

from eventapi.local.subscriptions import Subscription, SubscriptionIndex
from eventapi.protocol import Channel
from eventapi.protocol.limits import MAX_CHANNEL_SEGMENTS, WILDCARD

# Few segment values, so that random patterns and channels share prefixes and often match.
segment = st.sampled_from(["default", "a", "b", "c-1"])
concrete = st.lists(segment, min_size=1, max_size=MAX_CHANNEL_SEGMENTS).map(tuple)
wildcard = st.lists(segment, min_size=1, max_size=MAX_CHANNEL_SEGMENTS - 1).map(lambda s: (*s, WILDCARD))
pattern = st.one_of(concrete, wildcard)


class Recorder:
    """Stands in for a connection: its subscriptions by id, and what fan-out queues for it."""

    def __init__(self) -> None:
        self.subs: dict[str, Subscription] = {}
        self.queued: list[tuple[str, tuple[str, ...], int]] = []

    def enqueue(self, tail: str, prefixes: tuple[str, ...], size: int) -> None:
        self.queued.append((tail, prefixes, size))


@example(  # one connection with several subscriptions the publish reaches: one queue entry for all of them
    patterns=[("default",), ("default",), ("default",), ("default",)], removed=set(), published=[("default",)]
)
@given(
    patterns=st.lists(pattern, max_size=40),
    removed=st.sets(st.integers(min_value=0, max_value=39)),
    published=st.lists(concrete, min_size=1, max_size=10),
)
def test_index_matches_the_protocol_rule(
    patterns: list[tuple[str, ...]], removed: set[int], published: list[tuple[str, ...]]
) -> None:
    """For any subscriptions (some removed again) and any publish channel, the index finds exactly the live
    subscriptions whose pattern `Channel.matches` the channel, each once, and fan-out queues one frame per event for
    each, sized as what the entry holds: the shared event text once, and each subscription's prefix (what the
    slow-subscriber limit adds up)."""
    conns = [Recorder() for _ in range(3)]
    index = SubscriptionIndex()
    subs = [Subscription(conns[n % 3], f"s{n}", Channel(p)) for n, p in enumerate(patterns)]
    for sub in subs:
        index.add(sub)
    for n in removed & set(range(len(subs))):
        index.remove(subs[n])
    live = [sub for n, sub in enumerate(subs) if n not in removed]
    assert len(index) == len(live)
    assert {sub_id for conn in conns for sub_id in conn.subs} == {sub.id for sub in live}
    for segments in published:
        channel = Channel(segments)
        found = [sub.id for sub in index.matching(channel)]
        expected = {sub.id for sub in live if sub.channel.matches(channel)}
        assert len(found) == len(set(found))
        assert set(found) == expected
        before = [len(conn.queued) for conn in conns]
        assert index.fan_out(channel, ['{"n":1}', '"two"']) == 2 * len(expected)
        queued = [entry for conn, start in zip(conns, before, strict=True) for entry in conn.queued[start:]]
        for tail in (json.dumps('{"n":1}') + "}", json.dumps('"two"') + "}"):  # each event as a JSON string
            prefixes = [
                prefix
                for queued_tail, entry_prefixes, _size in queued
                if queued_tail == tail
                for prefix in entry_prefixes
            ]
            assert sorted(prefixes) == sorted(sub.prefix for sub in live if sub.id in expected)
        assert all(size == len(tail) + sum(map(len, prefixes)) for tail, prefixes, size in queued)


def test_removing_a_connection_removes_only_its_subscriptions() -> None:
    """Dropping a connection takes all its subscriptions out of the index, and no one else's."""
    gone, stays = Recorder(), Recorder()
    index = SubscriptionIndex()
    for conn, sub_id in ((gone, "g1"), (gone, "g2"), (stays, "k1")):
        index.add(Subscription(conn, sub_id, Channel(("default", WILDCARD))))
    index.remove_connection(gone)
    assert (len(index), gone.subs, list(stays.subs)) == (1, {}, ["k1"])
    assert [sub.id for sub in index.matching(Channel(("default", "x")))] == ["k1"]


def test_removing_a_subscription_no_longer_live_changes_nothing() -> None:
    """Removing a subscription again (its bucket emptied, or its id reused by a newer subscription since) leaves
    the index and the connection's session as they are."""
    conn = Recorder()
    index = SubscriptionIndex()
    old = Subscription(conn, "s", Channel(("default", "a")))
    index.add(old)
    index.remove(old)
    index.remove(old)
    assert (len(index), conn.subs, index.matching(Channel(("default", "a")))) == (0, {}, [])
    new = Subscription(conn, "s", Channel(("default", "a")))
    index.add(new)
    index.remove(old)
    assert (len(index), conn.subs, index.matching(Channel(("default", "a")))) == (1, {"s": new}, [new])
