"""A test kit for namespace handlers: evaluate a stage's onPublish/onSubscribe (APPSYNC_JS or Python direct Lambda)
against given events, channel and identity, with DynamoDB data sources backed by moto. No AWS account.

    from eventapi.testing import HandlerKit, cognito

    with HandlerKit.for_stage("prod") as kit:
        assert kit.subscribe("/users/u-1/inbox", identity=cognito(sub="u-1")).allowed
        out = kit.publish("/comments/42/new", [{"content": "hi"}], identity=cognito(sub="u-1"))
        assert [e.payload["content"] for e in out.broadcast] == ["hi"]

pytest: `handler_kit` (in `eventapi.testing.pytest_plugin`) makes one per stage and closes it. CLI:
`python -m eventapi.local handler test --stage prod --channel /users/u-1/inbox --operation subscribe ...`.
"""

from eventapi.testing.identities import api_key, cognito, iam
from eventapi.testing.kit import Event, HandlerKit, PublishResult, SubscribeResult

__all__ = ["Event", "HandlerKit", "PublishResult", "SubscribeResult", "api_key", "cognito", "iam"]
