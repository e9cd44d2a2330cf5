"""The config's limits at the limit and one past it, the auth options the shipped stages leave out, a namespace's
own modes, and reading cdk.json: through `parse_config` and `load_stage`, as the app and the tools read it."""

from __future__ import annotations

import json
import locale
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eventapi.config import ApiKeyProvider, ConfigError, load_stage, parse_config, renewal_context
from eventapi.contract import SsmParam, ssm_name
from eventapi.protocol.modes import AuthMode

ROOT = Path(__file__).resolve().parents[2]
AUTH = "eventapi.stages.dev.auth.providers"


def stage_of(root: Path = ROOT, **stage: Any) -> Any:
    return parse_config({"app": "social", "stages": {"dev": stage}}, root).stage("dev")


def error_of(root: Path = ROOT, **stage: Any) -> str:
    with pytest.raises(ConfigError) as info:
        stage_of(root, **stage)
    return str(info.value)


# --- limits: the limit itself, and one past it -------------------------------------------------------------------


def test_fifty_namespaces_fit_fifty_one_do_not() -> None:
    """An Event API holds at most 50 namespaces: 50 parse, 51 are refused."""
    stage = stage_of(namespaces={f"ns{i}": {} for i in range(50)})
    assert len(stage.namespaces) == 50
    assert error_of(namespaces={f"ns{i}": {} for i in range(51)}) == (
        "eventapi.stages.dev.namespaces: 51 namespaces; an Event API holds at most 50"
    )


def test_namespace_name_of_fifty_characters_fits() -> None:
    """A namespace name of 50 characters is valid (51 is refused: see test_config.py)."""
    assert stage_of(namespaces={"a" * 50: {}}).namespaces[0].name == "a" * 50


@pytest.mark.parametrize("size", [32_767, 32_768])
def test_handler_of_up_to_32768_characters_is_read(tmp_path: Path, size: int) -> None:
    """A handler file of exactly AppSync's 32,768 characters is accepted and read whole (32,769: see test_config)."""
    (tmp_path / "handlers").mkdir()
    (tmp_path / "handlers" / "big.js").write_text("x" * size)
    ns = stage_of(tmp_path, namespaces={"default": {"handler": "handlers/big.js"}}).namespaces[0]
    assert (ns.handler, len(ns.handler_code or "")) == ("handlers/big.js", size)


def test_tag_value_of_256_characters_fits_257_do_not() -> None:
    """A tag value holds at most 256 characters."""
    assert stage_of(namespaces={"default": {}}, tags={"team": "v" * 256}).tags == (("team", "v" * 256),)
    assert error_of(namespaces={"default": {}}, tags={"team": "v" * 257}) == (
        f"eventapi.stages.dev.tags.team: '{'v' * 56}... is not allowed; expected a string of at most 256 characters"
    )


@pytest.mark.parametrize(("valid_days", "ok"), [(1, True), (365, True), (0, False), (366, False)])
def test_api_key_valid_days_from_one_to_365(valid_days: int, ok: bool) -> None:
    """validDays runs from 1 to 365 days, both ends included."""
    auth = {"providers": {"apiKey": {"validDays": valid_days}}}
    if ok:
        assert stage_of(auth=auth, namespaces={"default": {}}).auth.api_key.valid_days == valid_days
    else:
        assert error_of(auth=auth, namespaces={"default": {}}) == (
            f"{AUTH}.apiKey.validDays: {valid_days} is not allowed; expected a whole number of days from 1 to 365"
        )


# --- OIDC and Lambda options -------------------------------------------------------------------------------------


def test_oidc_ttls_default_to_no_limit_and_are_read_in_seconds() -> None:
    """authTtlSeconds and iatTtlSeconds default to 0 (no limit) and reach the provider as given."""
    oidc = {"issuer": "https://issuer.example.com"}
    provider = stage_of(auth={"providers": {"oidc": oidc}}, namespaces={"default": {}}).auth.oidc
    assert (provider.issuer, provider.client_id, provider.auth_ttl_seconds, provider.iat_ttl_seconds) == (
        "https://issuer.example.com",
        None,
        0,
        0,
    )
    oidc |= {"clientId": "web", "authTtlSeconds": 86_400, "iatTtlSeconds": 1}
    provider = stage_of(auth={"providers": {"oidc": oidc}}, namespaces={"default": {}}).auth.oidc
    assert (provider.client_id, provider.auth_ttl_seconds, provider.iat_ttl_seconds) == ("web", 86_400, 1)
    assert stage_of(auth={"providers": {"oidc": oidc}}, namespaces={"default": {}}).auth.connect == (
        AuthMode.OPENID_CONNECT,
    )


@pytest.mark.parametrize(("key", "value"), [("authTtlSeconds", 86_401), ("iatTtlSeconds", -1), ("authTtlSeconds", "1")])
def test_oidc_ttls_outside_a_day_are_refused(key: str, value: Any) -> None:
    """Each OIDC TTL runs from 0 (no limit) to 86,400 seconds."""
    oidc = {"issuer": "https://issuer.example.com", key: value}
    assert error_of(auth={"providers": {"oidc": oidc}}, namespaces={"default": {}}) == (
        f"{AUTH}.oidc.{key}: {json.dumps(value) if not isinstance(value, str) else repr(value)} is not allowed; "
        "expected seconds from 0 (no limit) to 86400"
    )


ARN = "arn:aws:lambda:eu-west-1:123456789012:function:auth"


def test_lambda_result_ttl_defaults_to_five_minutes_and_is_read() -> None:
    """resultTtlSeconds (how long AppSync caches the authorizer's answer) defaults to 300 and runs 0-3600."""
    provider = stage_of(auth={"providers": {"lambda": {"functionArn": ARN}}}, namespaces={"default": {}}).auth.lambda_
    assert (provider.function_arn, provider.result_ttl_seconds, provider.identity_validation_regex) == (ARN, 300, None)
    for ttl in (0, 3600):
        lam = {"functionArn": ARN, "resultTtlSeconds": ttl, "identityValidationRegex": "^Bearer .+$"}
        provider = stage_of(auth={"providers": {"lambda": lam}}, namespaces={"default": {}}).auth.lambda_
        assert (provider.result_ttl_seconds, provider.identity_validation_regex) == (ttl, "^Bearer .+$")
    lam = {"functionArn": ARN, "resultTtlSeconds": 3601}
    assert error_of(auth={"providers": {"lambda": lam}}, namespaces={"default": {}}) == (
        f"{AUTH}.lambda.resultTtlSeconds: 3601 is not allowed; expected seconds from 0 to 3600"
    )


def test_lambda_without_a_function_arn_is_refused() -> None:
    """A Lambda authorizer needs its function."""
    assert error_of(auth={"providers": {"lambda": {"resultTtlSeconds": 60}}}, namespaces={"default": {}}) == (
        f"{AUTH}.lambda.functionArn: missing; give the authorizer's Lambda function ARN"
    )


# --- a namespace's own modes -------------------------------------------------------------------------------------


def test_security_namespace_publish_modes_are_its_own() -> None:
    """Security check: a namespace's own `publish` modes replace the API's defaults for it (and are kept when parsed),
    so a namespace restricted to IAM publishers does not accept the API key the rest of the API takes."""
    stage = stage_of(
        auth={"providers": {"apiKey": {}, "iam": {}}, "publish": ["API_KEY"], "subscribe": ["API_KEY"]},
        namespaces={"default": {}, "admin": {"publish": ["AWS_IAM"]}},
    )
    default, admin = stage.namespaces
    assert admin.publish == (AuthMode.AWS_IAM,)
    assert admin.subscribe is None
    assert stage.namespace_modes(admin) == ((AuthMode.AWS_IAM,), (AuthMode.API_KEY,))
    assert stage.namespace_modes(default) == ((AuthMode.API_KEY,), (AuthMode.API_KEY,))


# --- reading cdk.json --------------------------------------------------------------------------------------------


def write(root: Path, text: str | bytes) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "cdk.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return root


def test_load_stage_reads_cdk_json(tmp_path: Path) -> None:
    """load_stage reads the eventapi context of the project's cdk.json."""
    context = {"eventapi": {"app": "social", "stages": {"dev": {"namespaces": {"chat": {}}}}}}
    root = write(tmp_path, json.dumps({"app": "true", "context": context}))
    assert [ns.name for ns in load_stage("dev", root).namespaces] == ["chat"]


def test_load_stage_without_cdk_json(tmp_path: Path) -> None:
    """Outside a project there is no cdk.json: the error says where it looked and what to do."""
    with pytest.raises(ConfigError) as info:
        load_stage("dev", tmp_path)
    assert str(info.value) == f"cdk.json: not found in {tmp_path.resolve()}; run from the project root"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "{",
            "cdk.json: is not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))",
        ),
        ("[]", "cdk.json: expected a JSON object, got []"),
        ('{"context": []}', "cdk.json: context: expected an object, got []"),
        ('{"context": {}}', 'eventapi: missing from cdk.json "context"; add {"app": "...", "stages": {...}}'),
        ('{"app": "true"}', 'eventapi: missing from cdk.json "context"; add {"app": "...", "stages": {...}}'),
        (
            b"\xff{}",
            "cdk.json: cannot be read ('utf-8' codec can't decode byte 0xff in position 0: invalid start byte)",
        ),
    ],
)
def test_load_stage_with_a_broken_cdk_json(tmp_path: Path, text: str | bytes, message: str) -> None:
    """A cdk.json that is not JSON, not an object, or not UTF-8 is one ConfigError line saying which."""
    with pytest.raises(ConfigError) as info:
        load_stage("dev", write(tmp_path, text))
    assert str(info.value) == message


def test_load_stage_with_an_unreadable_cdk_json(tmp_path: Path) -> None:
    """A cdk.json that cannot be read (here: a directory) names the operating system's reason."""
    (tmp_path / "cdk.json").mkdir()
    with pytest.raises(ConfigError) as info:
        load_stage("dev", tmp_path)
    assert str(info.value) == "cdk.json: cannot be read (Is a directory)"


def test_a_handler_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    """A namespace's code file that is not UTF-8 is one ConfigError line naming the field and the file."""
    (tmp_path / "handlers").mkdir()
    (tmp_path / "handlers" / "chat.js").write_bytes(b"\xff")
    assert error_of(tmp_path, namespaces={"chat": {"handler": "handlers/chat.js"}}) == (
        "eventapi.stages.dev.namespaces.chat.handler: 'handlers/chat.js' cannot be read ('utf-8' codec can't decode "
        "byte 0xff in position 0: invalid start byte)"
    )


@pytest.fixture
def ascii_locale() -> Iterator[None]:
    """The process's character locale set to C (ASCII), as on a machine whose locale is not UTF-8."""
    saved = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    try:
        yield
    finally:
        locale.setlocale(locale.LC_CTYPE, saved)


@pytest.mark.usefixtures("ascii_locale")
def test_cdk_json_and_handlers_are_read_as_utf8(tmp_path: Path) -> None:
    """cdk.json and a namespace's code file are UTF-8 whatever the machine's locale: non-ASCII text reads the same."""
    (tmp_path / "handlers").mkdir()
    (tmp_path / "handlers" / "chat.js").write_bytes("// café\n".encode())
    stage = {
        "auth": {"providers": {"apiKey": {"description": "clé"}}},
        "namespaces": {"chat": {"handler": "handlers/chat.js"}},
    }
    root = write(
        tmp_path, json.dumps({"context": {"eventapi": {"app": "social", "stages": {"dev": stage}}}}, ensure_ascii=False)
    )
    dev = load_stage("dev", root)
    assert (dev.auth.api_key.description, dev.namespaces[0].handler_code) == ("clé", "// café\n")


# --- names derived in one place ----------------------------------------------------------------------------------


def test_derived_names() -> None:
    """SSM names keep the prefix's last segment whatever its letters; stack keys are told apart by description;
    the renewer's context carries the one namespace a stage needs."""
    assert ssm_name("/social/X", SsmParam.API_KEY) == "/social/X/api-key"
    assert ApiKeyProvider.is_stack_key("Event API key [generation 2]")
    assert not ApiKeyProvider.is_stack_key("Event API key (rotated)")
    stage = stage_of(namespaces={"chat": {}}, ssm={"prefix": "/s/X"})
    assert renewal_context(stage)["stages"]["dev"]["namespaces"] == {"default": {}}
