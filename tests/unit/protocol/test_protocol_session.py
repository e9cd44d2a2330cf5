"""The per-connection rules of a realtime session: subscription ids, the subscription cap, the publish rate."""

from __future__ import annotations

from eventapi.protocol import MAX_SUBSCRIPTIONS_PER_CONNECTION, ErrorType, EventError, Session

RATE_EXCEEDED = EventError(ErrorType.LIMIT_EXCEEDED_ERROR, "Rate exceeded: too many publish requests")


def test_free_id_may_subscribe() -> None:
    """A fresh session lets any id subscribe."""
    assert Session[object]().subscribe_error("s1") is None


def test_duplicate_id_is_refused_until_removed() -> None:
    """An id in use is refused with InvalidInputError naming it; once unsubscribed it is free again."""
    session: Session[str] = Session()
    session.subscriptions["s1"] = "first"
    assert session.subscribe_error("s1") == EventError(
        ErrorType.INVALID_INPUT_ERROR, "subscription id 's1' is already in use"
    )
    assert session.subscribe_error("s2") is None
    del session.subscriptions["s1"]
    assert session.subscribe_error("s1") is None


def test_subscription_cap() -> None:
    """The 201st subscription of a connection is refused with MaxSubscriptionsReachedError."""
    session: Session[int] = Session()
    for n in range(MAX_SUBSCRIPTIONS_PER_CONNECTION - 1):
        session.subscriptions[f"s{n}"] = n
    assert session.subscribe_error("last") is None
    session.subscriptions["last"] = MAX_SUBSCRIPTIONS_PER_CONNECTION
    assert session.subscribe_error("more") == EventError(
        ErrorType.MAX_SUBSCRIPTIONS_REACHED_ERROR, "at most 200 subscriptions per connection"
    )
    # An id in use is a duplicate first, whatever the count.
    assert session.subscribe_error("s0") == EventError(
        ErrorType.INVALID_INPUT_ERROR, "subscription id 's0' is already in use"
    )


def test_publish_rate_window() -> None:
    """At most `limit` publishes in any one-second window; a refused publish does not count."""
    session: Session[object] = Session(publish_rate_limit=2)
    assert session.publish_error(100.0) is None
    assert session.publish_error(100.5) is None
    assert session.publish_error(100.9) == RATE_EXCEEDED
    assert session.publish_error(100.99) == RATE_EXCEEDED
    # 100.0 leaves the window at 101.0 exactly; 100.5 is still in it.
    assert session.publish_error(101.0) is None
    assert session.publish_error(101.2) == RATE_EXCEEDED
    assert session.publish_error(101.5) is None


def test_publish_rate_not_enforced_without_a_limit() -> None:
    """Without a limit every publish goes ahead."""
    session: Session[object] = Session()
    assert all(session.publish_error(0.0) is None for _ in range(1000))
