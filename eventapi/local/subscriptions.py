"""The subscription index and fan-out: which subscriptions a publish reaches, and the frames it queues for them.

Index: each subscription is filed under its pattern's segments (`("default", "chat")`, `("default", "*")`). A
publish looks up only the patterns that can reach its channel, `Channel.matching_patterns()` of
eventapi/protocol/channels.py (the one definition of the wildcard rule, at most 6 keys), instead of scanning.

Fan-out: each event is JSON-encoded once into a frame tail, and that one string is shared by every subscription it
goes to: a connection queues `(tail, prefixes)`, where a subscription's prefix is `{"type":"data","id":"<id>","event":`,
and its writer joins `prefix + tail` only as it sends each frame.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from eventapi.protocol import Channel

if TYPE_CHECKING:
    from eventapi.local.connection import Connection


class Subscription:
    """One subscription of one connection; `prefix` is the start of its `data` frames."""

    __slots__ = ("channel", "conn", "id", "prefix", "prefixes")

    def __init__(self, conn: Connection, sub_id: str, channel: Channel) -> None:
        self.conn = conn
        self.id = sub_id
        self.channel = channel
        self.prefix = '{"type":"data","id":' + json.dumps(sub_id) + ',"event":'
        self.prefixes = ((self.prefix,), len(self.prefix))  # what fan-out queues: the prefixes and their bytes


class SubscriptionIndex:
    """Every live subscription, by pattern for fan-out and by id in its connection's session."""

    def __init__(self) -> None:
        self._by_pattern: dict[tuple[str, ...], dict[Subscription, None]] = {}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, sub: Subscription) -> None:
        self._by_pattern.setdefault(sub.channel.segments, {})[sub] = None
        sub.conn.subs[sub.id] = sub
        self._count += 1

    def remove(self, sub: Subscription) -> None:
        """Take `sub` out of the index and its connection's session; nothing when it is no longer live (its id may
        name a newer subscription by then)."""
        key = sub.channel.segments
        bucket = self._by_pattern.get(key)
        if bucket is None or sub not in bucket:
            return
        del bucket[sub]
        if not bucket:
            del self._by_pattern[key]
        del sub.conn.subs[sub.id]
        self._count -= 1

    def remove_connection(self, conn: Connection) -> None:
        for sub in list(conn.subs.values()):
            self.remove(sub)

    def matching(self, channel: Channel) -> list[Subscription]:
        """The subscriptions a publish to the concrete `channel` reaches."""
        found: list[Subscription] = []
        by_pattern = self._by_pattern
        for pattern in channel.matching_patterns():
            bucket = by_pattern.get(pattern)
            if bucket:
                found.extend(bucket)
        return found

    def fan_out(self, channel: Channel, events: Sequence[str]) -> int:
        """Queue every event for every subscription `channel` reaches; returns the number of frames queued."""
        subs = self.matching(channel)
        if not subs:
            return 0
        groups: dict[Connection, tuple[tuple[str, ...], int]] = {}
        for sub in subs:
            group = groups.get(sub.conn)
            if group is None:
                groups[sub.conn] = sub.prefixes
            else:
                groups[sub.conn] = (group[0] + sub.prefixes[0], group[1] + sub.prefixes[1])
        targets = groups.items()
        for event in events:
            tail = json.dumps(event) + "}"  # one string per event, shared by every frame that carries it
            size = len(tail)
            for conn, (prefixes, prefix_bytes) in targets:
                conn.enqueue(tail, prefixes, size + prefix_bytes)
        return len(subs) * len(events)
