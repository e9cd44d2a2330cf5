"""EventsConfig: the SSM `config` JSON schema, the three file formats, stack outputs, SSM (moto), and secrecy."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from eventapi.client import AuthModes, CognitoInfo, EventsConfig, EventsConfigError, NamespaceInfo
from eventapi.contract import SsmParam, ssm_name
from eventapi.outputs import Output
from eventapi.protocol.modes import AuthMode

pytestmark = pytest.mark.clock

AWS = EventsConfig(
    http_endpoint="https://abc.appsync-api.eu-west-1.amazonaws.com/event",
    realtime_endpoint="wss://abc.appsync-realtime-api.eu-west-1.amazonaws.com/event/realtime",
    region="eu-west-1",
    http_host="abc.appsync-api.eu-west-1.amazonaws.com",
    realtime_host="abc.appsync-realtime-api.eu-west-1.amazonaws.com",
    api_id="apiid123",
    auth_modes=AuthModes((AuthMode.API_KEY, AuthMode.AWS_IAM), (AuthMode.API_KEY,), (AuthMode.API_KEY,)),
    namespaces=(NamespaceInfo("default", (AuthMode.API_KEY,), (AuthMode.API_KEY,)),),
    cognito=CognitoInfo("eu-west-1_AbC", "client123"),
    api_key_expires=datetime(2027, 1, 1, tzinfo=UTC),
    api_key="da2-secretkey",
)


def test_config_json_schema_exactly() -> None:
    """to_json writes exactly the SSM `config` keys (no key); from_json reads them back."""
    assert AWS.to_json() == {
        "apiId": "apiid123",
        "region": "eu-west-1",
        "httpEndpoint": "https://abc.appsync-api.eu-west-1.amazonaws.com/event",
        "realtimeEndpoint": "wss://abc.appsync-realtime-api.eu-west-1.amazonaws.com/event/realtime",
        "httpHost": "abc.appsync-api.eu-west-1.amazonaws.com",
        "realtimeHost": "abc.appsync-realtime-api.eu-west-1.amazonaws.com",
        "authModes": {"connect": ["API_KEY", "AWS_IAM"], "publish": ["API_KEY"], "subscribe": ["API_KEY"]},
        "namespaces": [{"name": "default", "publish": ["API_KEY"], "subscribe": ["API_KEY"]}],
        "cognito": {"userPoolId": "eu-west-1_AbC", "clientId": "client123"},
        "apiKeyExpires": "2027-01-01T00:00:00Z",
    }
    assert EventsConfig.from_json(AWS.to_json(), api_key="da2-secretkey") == AWS
    assert EventsConfig.from_json(AWS.to_json(include_api_key=True)) == AWS


def test_secrets_never_in_repr() -> None:
    """The API key appears in no repr or str of the config."""
    assert "da2-secretkey" not in repr(AWS)
    assert "da2-secretkey" not in str(AWS)


def test_derivations_for_aws_and_local_endpoints() -> None:
    """The realtime endpoint and hosts derive from the HTTP endpoint: AWS naming, or the same host locally."""
    aws = EventsConfig.create("https://abc.appsync-api.eu-west-1.amazonaws.com/event", "eu-west-1")
    assert (aws.realtime_endpoint, aws.http_host, aws.realtime_host) == (
        "wss://abc.appsync-realtime-api.eu-west-1.amazonaws.com/event/realtime",
        "abc.appsync-api.eu-west-1.amazonaws.com",
        "abc.appsync-realtime-api.eu-west-1.amazonaws.com",
    )
    local = EventsConfig.create("http://localhost:8080", "us-east-1")
    assert (local.http_endpoint, local.realtime_endpoint, local.http_host) == (
        "http://localhost:8080/event",
        "ws://localhost:8080/event/realtime",
        "localhost:8080",
    )
    tls = EventsConfig.create("https://localhost:8443/event", "us-east-1")
    assert tls.realtime_endpoint == "wss://localhost:8443/event/realtime"


def test_json_file_with_api_key(tmp_path: Path) -> None:
    """A JSON file with the config keys plus apiKey."""
    file = tmp_path / "events.json"
    file.write_text(json.dumps(AWS.to_json(include_api_key=True)))
    assert EventsConfig.from_file(file) == AWS


def test_env_file_round_trip(tmp_path: Path) -> None:
    """to_env writes EVENTAPI_* lines that from_file reads back to the same config."""
    file = tmp_path / "events.env"
    file.write_text("# written by the post-deploy step\nexport " + AWS.to_env())
    assert EventsConfig.from_file(file) == AWS
    assert AWS.to_env(include_api_key=False).count("da2-") == 0


def test_minimal_env_file(tmp_path: Path) -> None:
    """An env file with endpoint, region and key is enough; API_KEY is then the auth mode."""
    file = tmp_path / ".env"
    file.write_text(
        'EVENTAPI_HTTP_ENDPOINT="http://127.0.0.1:9/event"\nEVENTAPI_REGION=eu-west-1\nEVENTAPI_API_KEY=da2-k\n'
    )
    config = EventsConfig.from_file(file)
    assert (config.realtime_endpoint, config.api_key) == ("ws://127.0.0.1:9/event/realtime", "da2-k")
    assert config.auth_modes == AuthModes.only(AuthMode.API_KEY)


def test_amplify_config(tmp_path: Path) -> None:
    """A file holding Amplify.configure()'s {"API": {"Events": ...}} is read, and to_amplify_config writes it."""
    outputs = {
        "API": {
            "Events": {
                "endpoint": "https://abc.appsync-api.eu-west-1.amazonaws.com/event",
                "region": "eu-west-1",
                "defaultAuthMode": "apiKey",
                "apiKey": "da2-k",
            }
        }
    }
    file = tmp_path / "amplify_config.json"
    file.write_text(json.dumps(outputs))
    config = EventsConfig.from_file(file)
    assert config.realtime_host == "abc.appsync-realtime-api.eu-west-1.amazonaws.com"
    assert (config.api_key, config.auth_modes) == ("da2-k", AuthModes.only(AuthMode.API_KEY))
    assert config.to_amplify_config() == outputs


def test_amplify_outputs_file(tmp_path: Path) -> None:
    """amplify_outputs.json (`custom.events`, as the post-deploy export writes it) round-trips through from_file."""
    outputs = {
        "version": "1.4",
        "custom": {
            "events": {
                "url": "https://abc.appsync-api.eu-west-1.amazonaws.com/event",
                "aws_region": "eu-west-1",
                "default_authorization_type": "API_KEY",
                "api_key": "da2-k",
            }
        },
    }
    file = tmp_path / "amplify_outputs.json"
    file.write_text(json.dumps(outputs))
    config = EventsConfig.from_file(file)
    assert (config.http_host, config.region) == ("abc.appsync-api.eu-west-1.amazonaws.com", "eu-west-1")
    assert (config.api_key, config.auth_modes) == ("da2-k", AuthModes.only(AuthMode.API_KEY))
    assert config.to_amplify_outputs() == outputs


def test_amplify_outputs_bad_mode(tmp_path: Path) -> None:
    """An unknown default_authorization_type names the field and the allowed modes."""
    file = tmp_path / "amplify_outputs.json"
    file.write_text(
        json.dumps(
            {
                "custom": {
                    "events": {"url": "https://h/event", "aws_region": "eu-west-1", "default_authorization_type": "KEY"}
                }
            }
        )
    )
    with pytest.raises(EventsConfigError) as info:
        EventsConfig.from_file(file)
    assert str(info.value) == (
        f"{file}.custom.events.default_authorization_type: 'KEY' is not one of API_KEY, AWS_IAM, "
        "AMAZON_COGNITO_USER_POOLS, OPENID_CONNECT, AWS_LAMBDA"
    )


def test_stack_outputs() -> None:
    """from_outputs reads the Output-keyed dict of a deployed stack."""
    outputs = {
        Output.HTTP_ENDPOINT.value: AWS.http_endpoint,
        Output.REALTIME_ENDPOINT.value: AWS.realtime_endpoint,
        Output.HTTP_HOST.value: AWS.http_host,
        Output.REALTIME_HOST.value: AWS.realtime_host,
        Output.REGION.value: "eu-west-1",
        Output.API_ID.value: "apiid123",
        Output.USER_POOL_ID.value: "eu-west-1_AbC",
        Output.USER_POOL_CLIENT_ID.value: "client123",
    }
    config = EventsConfig.from_outputs(outputs, api_key="da2-k")
    assert (config.api_id, config.cognito, config.api_key) == (
        "apiid123",
        CognitoInfo("eu-west-1_AbC", "client123"),
        "da2-k",
    )
    with pytest.raises(EventsConfigError) as err:
        EventsConfig.from_outputs({})
    assert str(err.value) == "stack outputs: missing EventApiHttpEndpoint, EventApiRegion"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{nope", "not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"),
        ('{"region": "eu-west-1"}', None),
        ("EVENTAPI_REGION=eu-west-1\n", "missing EVENTAPI_HTTP_ENDPOINT"),
        ("just words\n", None),
        ('{"httpEndpoint": "ftp://x/event", "region": "r"}', None),
        ('{"API": {"Events": {"endpoint": "https://h/event", "region": "r", "defaultAuthMode": "magic"}}}', None),
    ],
)
def test_bad_files(tmp_path: Path, content: str, message: str | None) -> None:
    """Unusable files raise EventsConfigError naming the file or field and the problem."""
    file = tmp_path / "bad"
    file.write_text(content)
    expected = {
        '{"region": "eu-west-1"}': f"{file}.httpEndpoint: missing or not a string",
        "just words\n": f"{file}:1: expected KEY=value",
        '{"httpEndpoint": "ftp://x/event", "region": "r"}': "httpEndpoint: 'ftp://x/event' is not a http:// or "
        "https:// URL",
        '{"API": {"Events": {"endpoint": "https://h/event", "region": "r", "defaultAuthMode": "magic"}}}': f"{file}.API.Events.defaultAuthMode: 'magic' is not one of apiKey, userPool, iam, oidc, lambda",
    }
    with pytest.raises(EventsConfigError) as err:
        EventsConfig.from_file(file)
    assert str(err.value) == (f"{file}: {message}" if message else expected[content])


def test_missing_file(tmp_path: Path) -> None:
    """A missing file is a one-line config error."""
    with pytest.raises(EventsConfigError) as err:
        EventsConfig.from_file(tmp_path / "none.json")
    assert str(err.value) == f"{tmp_path / 'none.json'}: cannot read (No such file or directory)"


@mock_aws
def test_from_ssm_by_prefix_and_by_stage(tmp_path: Path) -> None:
    """from_ssm reads `config` and the decrypted `api-key` SecureString under the prefix (or a stage's prefix)."""
    session = boto3.Session(region_name="eu-west-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    ssm = session.client("ssm")
    prefix = "/social/dev/events"
    ssm.put_parameter(Name=ssm_name(prefix, SsmParam.CONFIG), Value=json.dumps(AWS.to_json()), Type="String")
    ssm.put_parameter(Name=ssm_name(prefix, SsmParam.API_KEY), Value="da2-secretkey", Type="SecureString")
    assert EventsConfig.from_ssm(prefix, session=session) == AWS
    (tmp_path / "cdk.json").write_text(
        json.dumps(
            {
                "context": {
                    "eventapi": {
                        "app": "social",
                        "stages": {"dev": {"region": "eu-west-1", "namespaces": {"default": {}}}},
                    }
                }
            }
        )
    )
    assert EventsConfig.from_ssm(stage="dev", session=session, project_root=tmp_path) == AWS
    with pytest.raises(EventsConfigError) as err:
        EventsConfig.from_ssm("/social/prod/events", session=session)
    assert str(err.value) == (
        "/social/prod/events/config: not found in SSM; deploy the stage and run the "
        "post-deploy step (python -m eventapi.deploy)"
    )


@mock_aws
def test_from_ssm_reads_in_the_stage_region(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """By stage, SSM is read in the stage's region (where publish wrote), whatever the session's default region."""
    ssm = boto3.client("ssm", region_name="eu-west-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    ssm.put_parameter(Name="/social/dev/events/config", Value=json.dumps(AWS.to_json()), Type="String")
    (tmp_path / "cdk.json").write_text(
        json.dumps(
            {
                "context": {
                    "eventapi": {
                        "app": "social",
                        "stages": {"dev": {"region": "eu-west-1", "namespaces": {"default": {}}}},
                    }
                }
            }
        )
    )
    elsewhere = boto3.Session(region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    assert EventsConfig.from_ssm(stage="dev", session=elsewhere, project_root=tmp_path).api_id == AWS.api_id
    # Without a session, AWS_REGION is honoured for a prefix (boto3 itself reads only AWS_DEFAULT_REGION).
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    assert EventsConfig.from_ssm("/social/dev/events").api_id == AWS.api_id


def test_from_ssm_needs_prefix_or_stage() -> None:
    """from_ssm refuses both or neither of prefix and stage."""
    with pytest.raises(EventsConfigError) as err:
        EventsConfig.from_ssm()
    assert str(err.value) == "ssm: give exactly one of prefix or stage"
