"""`up --stage prod`: Cognito (a pool made in moto), IAM and a namespace handler, all configured from SSM."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest

from eventapi.client import CognitoInfo, EventsClient, EventsConfig, Iam, Token
from eventapi.client.errors import UnauthorizedError
from eventapi.protocol.modes import AuthMode
from tests.e2e.conftest import ROOT, offline_env, start_up

pytestmark = pytest.mark.clock


def _sub(token: str) -> str:
    payload = token.split(".")[1]
    claims: dict[str, str] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims["sub"]


async def test_up_prod_cognito_token_iam_and_comments_handler(
    templates: dict[str, Path], state_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """prod locally: a Cognito user's comments are saved to DynamoDB (moto) by the JS handler, then broadcast; the
    user may subscribe under /users/<their sub>/ only (the Python direct-Lambda onSubscribe); IAM publishes."""
    up = start_up(templates["prod"], state_dir, tmp_path, stage="prod")
    try:
        ready = up.ready
        for name, value in ready["clientEnv"].items():
            monkeypatch.setenv(name, value)
        # Given the config a prod client reads from SSM, with the Cognito pool the local deploy made in moto
        config = await asyncio.to_thread(EventsConfig.from_ssm, stage="prod", project_root=ROOT)
        assert config.cognito == CognitoInfo(ready["userPoolId"], ready["userPoolClientId"])
        # And a user token from the local issuer, minted by the command `up` prints
        minted = subprocess.run(
            [
                sys.executable,
                "-m",
                "eventapi.local",
                "token",
                "--user",
                "alice",
                "--region",
                "eu-west-1",
                "--user-pool-id",
                ready["userPoolId"],
                "--client-id",
                ready["userPoolClientId"],
            ],
            cwd=ROOT,
            env=offline_env(state_dir),
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        token = minted.stdout.strip()
        ca = ready["caCert"]
        async with (
            EventsClient(config, ca_file=ca) as subscriber,
            EventsClient(config, ca_file=ca, auth=Token(token, mode=AuthMode.AMAZON_COGNITO_USER_POOLS)) as user,
            EventsClient(config, ca_file=ca, auth=Iam(region="eu-west-1")) as backend,
        ):
            comments = await subscriber.subscribe("/comments/42/*")
            greetings = await subscriber.subscribe("/default/*")
            # When the user posts an empty and a real comment, and the backend publishes with IAM
            posted = await user.publish("/comments/42/new", {"content": " "}, {"content": "first!"})
            sent = await backend.publish("/default/greetings", {"msg": "hi"})
            comment = await asyncio.wait_for(anext(comments), 10)
            greeting = await asyncio.wait_for(anext(greetings), 10)
            # And alice subscribes to her own channel (allowed) and to bob's (refused by the Lambda)
            sub = _sub(token)
            inbox = await user.subscribe(f"/users/{sub}/*")
            with pytest.raises(UnauthorizedError):
                await user.subscribe(f"/users/{uuid.uuid4()}/*")
            with pytest.raises(UnauthorizedError):
                await user.subscribe("/users/*")
            await backend.publish(f"/users/{sub}/inbox", {"note": "for alice"})
            note = await asyncio.wait_for(anext(inbox), 10)
        # Then the handler dropped the empty comment (published first, it would arrive first) and stamped the other;
        # the IAM-signed event arrived unchanged
        assert posted.ok
        assert sorted(comment.data) == ["content", "receivedAt"]
        assert comment.data["content"] == "first!"
        assert sent.ok
        assert greeting.data == {"msg": "hi"}
        assert note.data == {"note": "for alice"}
        # The comment is in the stage's table (moto's DynamoDB), keyed by channel and event id
        table = await asyncio.to_thread(
            boto3.client("dynamodb", region_name="eu-west-1").scan, TableName="social-prod-comments"
        )
        assert [(i["channel"]["S"], i["content"]["S"]) for i in table["Items"]] == [("/comments/42/new", "first!")]
    finally:
        code = up.stop()
    assert code == 0, up.output()[1]
    # The parts of the prod stage with no local meaning were each skipped with one line saying so
    skipped = [line for line in up.output()[0].splitlines() if line.startswith("skipped")]
    assert [line.split()[1] for line in skipped] == ["monitoring:", "waf:"]
