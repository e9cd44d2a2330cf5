"""Channel paths: parsing, validation, wildcard rules and matching (docs/protocol.md, Channels and namespaces).

A channel is 1-5 `/`-separated segments; the first names the namespace. Leading and trailing `/` are optional.
A subscription may end in `*`, which matches one or more further segments (`/default/*` receives
`/default/a` and `/default/a/b`, never `/default` itself). Publishing to a path with `*` is an error.
"""

from __future__ import annotations

from dataclasses import dataclass

from eventapi.protocol.limits import MAX_CHANNEL_SEGMENTS, MAX_SEGMENT_LENGTH, SEGMENT_RE, WILDCARD

_WILDCARD_TAIL = (WILDCARD,)


class ChannelError(ValueError):
    """A channel path that breaks the rules; `str(err)` says which rule."""

    def __init__(self, channel: str, problem: str) -> None:
        self.channel = channel
        self.problem = problem
        super().__init__(f"invalid channel {channel!r}: {problem}")


@dataclass(frozen=True)
class Channel:
    """A validated channel path (a concrete channel, or a subscription pattern when `is_wildcard`)."""

    segments: tuple[str, ...]

    @property
    def namespace(self) -> str:
        return self.segments[0]

    @property
    def is_wildcard(self) -> bool:
        return self.segments[-1] == WILDCARD

    @property
    def path(self) -> str:
        """The canonical form: a leading `/`, no trailing `/`."""
        return "/" + "/".join(self.segments)

    def __str__(self) -> str:
        return self.path

    def matching_patterns(self) -> list[tuple[str, ...]]:
        """The wildcard rule: the segments of every subscription pattern a publish to this concrete channel reaches.

        The channel itself, and each of its proper prefixes followed by `*` (`/a/b/c` reaches `/a/b/c`, `/*`, `/a/*`
        and `/a/b/*`; `/*` is only in the list to state the rule whole, as parsing refuses it). At most
        MAX_CHANNEL_SEGMENTS + 1 patterns, so a server looks subscriptions up by them instead of scanning.
        """
        segments = self.segments
        patterns = [segments]
        for depth in range(len(segments)):  # a loop, not a generator: this runs once per publish
            patterns.append(segments[:depth] + _WILDCARD_TAIL)
        return patterns

    def matches(self, channel: Channel) -> bool:
        """Whether a publish to the concrete `channel` reaches a subscription to this pattern."""
        return not channel.is_wildcard and self.segments in channel.matching_patterns()


def parse_channel(text: str, *, allow_wildcard: bool) -> Channel:
    """Parse and validate a channel path; `allow_wildcard` is True for subscribe, False for publish."""
    if not isinstance(text, str):
        raise ChannelError(repr(text), "a channel must be a string")
    body = text.removeprefix("/").removesuffix("/")
    if not body:
        raise ChannelError(text, "a channel needs at least one segment, e.g. '/default/messages'")
    segments = tuple(body.split("/"))
    if len(segments) > MAX_CHANNEL_SEGMENTS:
        raise ChannelError(text, f"{len(segments)} segments; at most {MAX_CHANNEL_SEGMENTS} are allowed")
    for position, segment in enumerate(segments):
        if segment == WILDCARD:
            if not allow_wildcard:
                raise ChannelError(text, "'*' is not allowed in a publish channel")
            if position != len(segments) - 1:
                raise ChannelError(text, "'*' is only allowed as the last segment")
            if position == 0:
                raise ChannelError(text, "the first segment must name a namespace, not '*'")
            continue
        if not segment:
            raise ChannelError(text, "empty segment ('//')")
        if len(segment) > MAX_SEGMENT_LENGTH:
            raise ChannelError(
                text,
                f"segment {segment[:20]!r}... has {len(segment)} characters; at most {MAX_SEGMENT_LENGTH} are allowed",
            )
        if not SEGMENT_RE.fullmatch(segment):
            raise ChannelError(
                text, f"segment {segment!r} may only hold letters, digits and '-', and may not start or end with '-'"
            )
    return Channel(segments)


def parse_publish_channel(text: str) -> Channel:
    """A concrete channel to publish to (no `*`)."""
    return parse_channel(text, allow_wildcard=False)


def parse_subscribe_channel(text: str) -> Channel:
    """A subscription pattern (an exact channel, or one ending in `*`)."""
    return parse_channel(text, allow_wildcard=True)


def channel_matches(pattern: str | Channel, channel: str | Channel) -> bool:
    """Whether a publish to `channel` reaches a subscription to `pattern` (both validated)."""
    pat = pattern if isinstance(pattern, Channel) else parse_subscribe_channel(pattern)
    chan = channel if isinstance(channel, Channel) else parse_publish_channel(channel)
    return pat.matches(chan)
