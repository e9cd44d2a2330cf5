"""Channel paths: validation messages, wildcard rules, and matching (examples plus hypothesis properties)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventapi.protocol import Channel, ChannelError, channel_matches, parse_publish_channel, parse_subscribe_channel
from eventapi.protocol.limits import MAX_CHANNEL_SEGMENTS, SEGMENT_RE

segment = st.from_regex(SEGMENT_RE, fullmatch=True)
concrete = st.lists(segment, min_size=1, max_size=MAX_CHANNEL_SEGMENTS).map(tuple)


def test_canonical_path_strips_optional_slashes() -> None:
    """Leading and trailing slashes are optional and the canonical form has only the leading one."""
    assert parse_publish_channel("default/a/b/").path == "/default/a/b"
    assert parse_publish_channel("/default").segments == ("default",)
    assert str(parse_subscribe_channel("/default/*")) == "/default/*"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "invalid channel '': a channel needs at least one segment, e.g. '/default/messages'"),
        ("/", "invalid channel '/': a channel needs at least one segment, e.g. '/default/messages'"),
        ("/a//b", "invalid channel '/a//b': empty segment ('//')"),
        ("/a/b/c/d/e/f", "invalid channel '/a/b/c/d/e/f': 6 segments; at most 5 are allowed"),
        (
            "/a/-b",
            "invalid channel '/a/-b': segment '-b' may only hold letters, digits and '-', and may not "
            "start or end with '-'",
        ),
        (
            "/a/b_c",
            "invalid channel '/a/b_c': segment 'b_c' may only hold letters, digits and '-', and may not "
            "start or end with '-'",
        ),
        (
            "/a/" + "x" * 51,
            f"invalid channel '/a/{'x' * 51}': segment {'x' * 20!r}... has 51 characters; at most 50 are allowed",
        ),
        ("/default/*", "invalid channel '/default/*': '*' is not allowed in a publish channel"),
    ],
)
def test_publish_channel_errors(text: str, message: str) -> None:
    """Each broken rule of a publish channel has its own exact message."""
    with pytest.raises(ChannelError) as err:
        parse_publish_channel(text)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("/*", "invalid channel '/*': the first segment must name a namespace, not '*'"),
        ("/default/*/x", "invalid channel '/default/*/x': '*' is only allowed as the last segment"),
        ("/a/b/c/d/e/*", "invalid channel '/a/b/c/d/e/*': 6 segments; at most 5 are allowed"),
        (
            "/default/x*",
            "invalid channel '/default/x*': segment 'x*' may only hold letters, digits and '-', and "
            "may not start or end with '-'",
        ),
    ],
)
def test_subscribe_channel_errors(text: str, message: str) -> None:
    """The wildcard is only allowed alone, as the last segment, after a namespace."""
    with pytest.raises(ChannelError) as err:
        parse_subscribe_channel(text)
    assert str(err.value) == message


def test_wildcard_matches_children_not_parent() -> None:
    """`/default/*` receives every deeper channel but not `/default` itself (the seed post's pitfall)."""
    assert channel_matches("/default/*", "/default/greetings/tutorial")
    assert channel_matches("/default/comments/1/*", "/default/comments/1/new")
    assert not channel_matches("/default/comments/1/*", "/default/comments/1")
    assert not channel_matches("/default/*", "/default")
    assert not channel_matches("/default/*", "/other/x")


def test_exact_match_is_case_sensitive() -> None:
    """Channels are case-sensitive."""
    assert channel_matches("/default/a", "default/a/")
    assert not channel_matches("/default/a", "/default/A")


@given(concrete)
def test_round_trip(segments: tuple[str, ...]) -> None:
    """Every valid path parses back to itself, with or without the optional slashes."""
    path = "/".join(segments)
    for text in (path, "/" + path, path + "/", "/" + path + "/"):
        assert parse_publish_channel(text) == Channel(segments)
        assert parse_subscribe_channel(text) == Channel(segments)


@given(concrete, concrete)
def test_exact_pattern_matches_only_itself(a: tuple[str, ...], b: tuple[str, ...]) -> None:
    """An exact subscription matches a channel exactly when the segments are equal."""
    assert Channel(a).matches(Channel(b)) == (a == b)


@given(st.lists(segment, min_size=1, max_size=MAX_CHANNEL_SEGMENTS - 1).map(tuple), concrete)
def test_wildcard_matches_exactly_the_longer_paths_with_its_prefix(
    prefix: tuple[str, ...], other: tuple[str, ...]
) -> None:
    """`prefix/*` matches a channel iff the channel starts with prefix and has at least one more segment."""
    pattern = parse_subscribe_channel("/".join(prefix) + "/*")
    expected = len(other) > len(prefix) and other[: len(prefix)] == prefix
    assert pattern.matches(Channel(other)) == expected
    assert not pattern.matches(Channel(prefix))
    if len(prefix) < MAX_CHANNEL_SEGMENTS:
        assert pattern.matches(Channel((*prefix, "x")))


@given(concrete, st.text(alphabet="_.:~ *é!", min_size=1, max_size=3))
def test_foreign_characters_are_rejected(segments: tuple[str, ...], junk: str) -> None:
    """A segment holding any character outside letters, digits and '-' is rejected."""
    text = "/" + "/".join((*segments[:-1], segments[-1] + junk))
    with pytest.raises(ChannelError):
        parse_publish_channel(text)


@given(st.lists(segment, min_size=MAX_CHANNEL_SEGMENTS + 1, max_size=MAX_CHANNEL_SEGMENTS + 3))
def test_too_many_segments_rejected(segments: list[str]) -> None:
    """More than five segments is always an error."""
    with pytest.raises(ChannelError):
        parse_subscribe_channel("/".join(segments))


def test_wildcard_rejected_in_published_channel_object() -> None:
    """A wildcard channel never matches as a published channel."""
    pattern = parse_subscribe_channel("/default/*")
    assert not pattern.matches(parse_subscribe_channel("/default/a/*"))


def test_matching_patterns_of_a_channel() -> None:
    """A publish to `/a/b/c` reaches the patterns `/a/b/c`, `/*`, `/a/*` and `/a/b/*` (and `/*` cannot be parsed)."""
    assert parse_publish_channel("/a/b/c").matching_patterns() == [
        ("a", "b", "c"),
        ("*",),
        ("a", "*"),
        ("a", "b", "*"),
    ]


def test_segment_length_limit_is_fifty_characters() -> None:
    """A 50-character segment is valid; 51 is refused (the limit itself, and one past it)."""
    assert parse_publish_channel("/default/" + "x" * 50).segments == ("default", "x" * 50)
    with pytest.raises(ChannelError) as err:
        parse_publish_channel("/default/" + "x" * 51)
    assert err.value.problem == f"segment {'x' * 20!r}... has 51 characters; at most 50 are allowed"


def test_segment_count_limit_is_five_wildcard_included() -> None:
    """Five segments are valid (a subscription's trailing `*` counts as one); six are refused."""
    assert parse_publish_channel("/a/b/c/d/e").segments == ("a", "b", "c", "d", "e")
    assert parse_subscribe_channel("/a/b/c/d/*").is_wildcard
    with pytest.raises(ChannelError):
        parse_publish_channel("/a/b/c/d/e/f")


@pytest.mark.parametrize("value", [5, None, ["default"], b"/default/a"])
def test_non_string_channel_is_refused_by_name(value: object) -> None:
    """A channel that is not a string is refused, and the error shows what was given (its repr)."""
    with pytest.raises(ChannelError) as err:
        parse_publish_channel(value)  # type: ignore[arg-type]
    assert str(err.value) == f"invalid channel {repr(value)!r}: a channel must be a string"
    assert err.value.problem == "a channel must be a string"


def test_channel_error_names_the_channel_and_the_rule() -> None:
    """A ChannelError carries the channel as given and the rule it broke (servers quote them back)."""
    with pytest.raises(ChannelError) as err:
        parse_subscribe_channel("/a//b")
    assert (err.value.channel, err.value.problem) == ("/a//b", "empty segment ('//')")


def test_channel_matches_takes_parsed_channels_too() -> None:
    """`channel_matches` accepts already-parsed Channel objects as well as text, with the same answer."""
    pattern, channel = parse_subscribe_channel("/default/*"), parse_publish_channel("/default/a")
    assert channel_matches(pattern, channel)
    assert channel_matches(pattern, "/default/a")
    assert channel_matches("/default/*", channel)
    assert not channel_matches(parse_subscribe_channel("/other/*"), channel)
