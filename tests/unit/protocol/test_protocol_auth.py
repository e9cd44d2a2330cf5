"""Auth objects per mode, the header- subprotocol both ways, and IAM SigV4 signing/verification with botocore."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from types import SimpleNamespace
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given
from hypothesis import strategies as st

from eventapi.protocol import (
    ApiKeyAuth,
    AuthFormatError,
    AuthHeaders,
    AuthKind,
    IamAuth,
    TokenAuth,
    auth_from_subprotocols,
    auth_value,
    classify_auth,
    decode_auth_subprotocol,
    encode_auth_subprotocol,
    iam_canonical_request,
    iam_request,
    parse_iam_authorization,
    publish_body,
    subprotocols,
    subscribe_body,
    upgrade_headers,
    verify_iam_signature,
)
from eventapi.protocol.auth import mask_credentials
from eventapi.protocol.modes import AuthMode

HOST = "abc123.appsync-api.eu-west-1.amazonaws.com"
NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token")


def test_api_key_auth_objects() -> None:
    """API_KEY: host and x-api-key at connect, only x-api-key per operation and over HTTP; repr hides the key."""
    auth = ApiKeyAuth("da2-secret")
    assert auth.connect_auth(HOST) == {"host": HOST, "x-api-key": "da2-secret"}
    assert auth.operation_auth(HOST, "{}") == {"x-api-key": "da2-secret"}
    assert auth.http_headers(HOST, "{}") == {"content-type": "application/json", "x-api-key": "da2-secret"}
    assert auth.mode is AuthMode.API_KEY
    assert repr(auth) == "ApiKeyAuth()"


def test_token_auth_objects() -> None:
    """Cognito/OIDC/Lambda: the token in Authorization; API_KEY and IAM are refused as token modes."""
    auth = TokenAuth("eyJ.token", AuthMode.AWS_LAMBDA)
    assert auth.connect_auth(HOST) == {"Authorization": "eyJ.token", "host": HOST}
    assert auth.operation_auth(HOST, "{}") == {"Authorization": "eyJ.token"}
    assert "eyJ.token" not in repr(auth)
    with pytest.raises(ValueError) as err:
        TokenAuth("x", AuthMode.API_KEY)
    assert str(err.value) == "TokenAuth is for token modes, not API_KEY"


def test_header_subprotocol_matches_the_browser_encoding() -> None:
    """The header- subprotocol equals btoa(JSON.stringify(auth)) with +/ -> -_ and the padding removed."""
    auth = {"x-api-key": "da2-abc?>>", "host": HOST}
    browser = base64.b64encode(json.dumps(auth, separators=(",", ":")).encode()).decode()
    browser = browser.replace("+", "-").replace("/", "_").rstrip("=")
    assert encode_auth_subprotocol(auth) == "header-" + browser
    assert subprotocols(auth) == ["aws-appsync-event-ws", "header-" + browser]
    assert decode_auth_subprotocol("header-" + browser) == auth
    assert auth_from_subprotocols(["aws-appsync-event-ws", " header-" + browser]) == auth
    assert auth_from_subprotocols(["aws-appsync-event-ws"]) is None


@given(st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=40), max_size=6))
def test_header_subprotocol_round_trip(auth: dict[str, str]) -> None:
    """Any auth object survives encoding into a subprotocol (no '=' anywhere) and decoding back."""
    encoded = encode_auth_subprotocol(auth)
    assert "=" not in encoded
    assert decode_auth_subprotocol(encoded) == auth


@pytest.mark.parametrize(
    ("protocol", "message"),
    [
        ("aws-appsync-event-ws", "not a header-… subprotocol"),
        ("header-!!!", "the header- subprotocol is not base64url-encoded JSON"),
        (
            "header-" + base64.urlsafe_b64encode(b"[1]").decode().rstrip("="),
            "the header- subprotocol must hold a JSON object",
        ),
    ],
)
def test_bad_header_subprotocol(protocol: str, message: str) -> None:
    """A subprotocol that is not an encoded auth object raises AuthFormatError with an exact message."""
    with pytest.raises(AuthFormatError) as err:
        decode_auth_subprotocol(protocol)
    assert str(err.value) == message


def test_case_insensitive_lookup_and_classification() -> None:
    """Auth keys are case-insensitive, non-string values ignored; the kind of credential is recognised."""
    headers = AuthHeaders({"X-Api-Key": "da2-k", "X-Amz-User-Agent": "amplify", "n": 1})
    assert headers["x-api-key"] == "da2-k"
    assert "X-API-KEY" in headers
    assert sorted(headers) == ["X-Amz-User-Agent", "X-Api-Key"]
    assert repr(headers) == "AuthHeaders(keys=['x-amz-user-agent', 'x-api-key'])"
    assert auth_value({"AUTHORIZATION": "t"}, "authorization") == "t"
    assert auth_value({}, "authorization") is None
    assert classify_auth({"X-API-KEY": "k"}) is AuthKind.API_KEY
    assert classify_auth({"authorization": "jwt"}) is AuthKind.TOKEN
    assert classify_auth({"Authorization": "AWS4-HMAC-SHA256 Credential=x", "X-Amz-Date": "d"}) is AuthKind.IAM
    assert classify_auth({"host": "h"}) is AuthKind.NONE
    assert upgrade_headers({"host": "h", "x-api-key": "k"}) == {"x-api-key": "k"}


def test_signed_bodies_are_compact_json() -> None:
    """IAM signs `{"channel"}` for subscribe and `{"channel","events"}` for publish, as JSON.stringify writes them."""
    assert subscribe_body("/default/*") == '{"channel":"/default/*"}'
    assert publish_body("/default/a", ['{"a":1}']) == '{"channel":"/default/a","events":["{\\"a\\":1}"]}'


def _botocore_reference(body: str) -> dict[str, str]:
    request = AWSRequest(
        method="POST",
        url=f"https://{HOST}/event",
        data=body.encode(),
        headers={
            "accept": "application/json, text/javascript",
            "content-encoding": "amz-1.0",
            "content-type": "application/json; charset=UTF-8",
            "host": HOST,
        },
    )
    SigV4Auth(CREDS, "appsync", "eu-west-1").add_auth(request)
    return dict(request.headers.items())


@pytest.mark.parametrize("body", ["{}", '{"channel":"/default/*"}', '{"channel":"/default/a","events":["1"]}'])
def test_iam_signature_equals_botocore(body: str) -> None:
    """IAM auth objects for connect/subscribe/publish equal botocore's own signature with fixed credentials and date."""
    auth = IamAuth(CREDS, "eu-west-1")
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        signed = auth.operation_auth(HOST, body)
        expected = _botocore_reference(body)
    assert signed == expected
    assert sorted(signed) == [
        "Authorization",
        "X-Amz-Date",
        "X-Amz-Security-Token",
        "accept",
        "content-encoding",
        "content-type",
        "host",
    ]
    assert signed["X-Amz-Date"] == "20261128T120000Z"
    assert signed["Authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/eu-west-1/appsync/aws4_request, SignedHeaders=accept;"
        "content-encoding;content-type;host;x-amz-date;x-amz-security-token, Signature="
    )
    assert "wJalrXUtnFEMI" not in repr(auth)


def test_iam_connect_signature_is_stable() -> None:
    """The connect signature over `{}` with fixed credentials and date is a known constant."""
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        signed = IamAuth(CREDS, "eu-west-1").connect_auth(HOST)
    assert signed["Authorization"].rsplit("Signature=", 1)[1] == (
        "2b97d9fe29059258b2a8d5f7f3d5cb90d6fed1ea79930e13ffcf9c0fe10b2458"
    )


def test_iam_verification_round_trip() -> None:
    """A server verifies a client's signature with botocore; a changed body, secret or region fails."""
    body = subscribe_body("/default/*")
    signed = IamAuth(CREDS, "eu-west-1").operation_auth(HOST, body)
    # Given the auth object as a server receives it (keys in any case)
    received = {key.upper(): value for key, value in signed.items()}
    parsed = parse_iam_authorization(received)
    assert (parsed.access_key_id, parsed.region, parsed.service) == ("AKIDEXAMPLE", "eu-west-1", "appsync")
    assert verify_iam_signature(received, body, secret_key=CREDS.secret_key, region="eu-west-1")
    assert not verify_iam_signature(received, subscribe_body("/default/x"), secret_key=CREDS.secret_key)
    assert not verify_iam_signature(received, body, secret_key="other")
    assert not verify_iam_signature(received, body, secret_key=CREDS.secret_key, region="us-east-1")


def test_iam_refreshable_credentials_and_missing_credentials() -> None:
    """Credentials are frozen anew for every signature (so refreshes apply); missing ones raise a clear error."""

    class Rotating:
        def __init__(self) -> None:
            self.keys = iter(["AKIDONE", "AKIDTWO"])

        def get_frozen_credentials(self) -> Credentials:
            return Credentials(next(self.keys), "secret")

    auth = IamAuth(Rotating(), "eu-west-1")
    assert parse_iam_authorization(auth.connect_auth(HOST)).access_key_id == "AKIDONE"
    assert parse_iam_authorization(auth.connect_auth(HOST)).access_key_id == "AKIDTWO"
    with pytest.raises(AuthFormatError) as err:
        IamAuth(Credentials("", ""), "eu-west-1").connect_auth(HOST)
    assert str(err.value) == "IAM auth needs AWS credentials; none were found"


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        ({"Authorization": "Bearer x"}, "Authorization is not an AWS4-HMAC-SHA256 signature"),
        (
            {
                "Authorization": "AWS4-HMAC-SHA256 Credential=A/20261128/r/appsync/aws4_request, SignedHeaders=host;"
                "x-amz-date, Signature=" + "0" * 64
            },
            "x-amz-date is missing",
        ),
        (
            {
                "Authorization": "AWS4-HMAC-SHA256 Credential=A/20261128/r/appsync/aws4_request, SignedHeaders=host;"
                "x-amz-date, Signature=" + "0" * 64,
                "x-amz-date": "20261127T000000Z",
            },
            "the credential scope date does not match x-amz-date",
        ),
        (
            {
                "Authorization": "AWS4-HMAC-SHA256 Credential=A/20261128/r/appsync/aws4_request, SignedHeaders=host;"
                "x-amz-date, Signature=" + "0" * 64,
                "x-amz-date": "20261128T000000Z",
            },
            "signed header(s) host missing from the auth object",
        ),
        (
            {
                "Authorization": "AWS4-HMAC-SHA256 Credential=A/20261128/r/appsync/aws4_request, SignedHeaders=host, "
                "Signature=" + "0" * 64,
                "x-amz-date": "20261128T000000Z",
                "host": "h",
            },
            "x-amz-date is not among the signed headers",
        ),
    ],
)
def test_bad_iam_auth_objects(auth: dict[str, str], message: str) -> None:
    """Malformed SigV4 auth objects raise AuthFormatError naming the problem."""
    with pytest.raises(AuthFormatError) as err:
        parse_iam_authorization(auth)
    assert str(err.value) == message


def test_token_and_iam_http_headers() -> None:
    """Over HTTP a token goes in Authorization next to the JSON content type; IAM signs exactly the body sent."""
    assert TokenAuth("eyJ.t").http_headers(HOST, "{}") == {"content-type": "application/json", "Authorization": "eyJ.t"}
    body = publish_body("/default/a", ["1"])
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        headers = IamAuth(CREDS, "eu-west-1").http_headers(HOST, body)
        assert headers == _botocore_reference(body)
    assert headers["host"] == HOST
    assert verify_iam_signature(headers, body, secret_key=CREDS.secret_key, region="eu-west-1")


def test_iam_signs_with_plain_credentials_objects() -> None:
    """Any object with access_key, secret_key and token signs (no get_frozen_credentials needed)."""
    plain = SimpleNamespace(access_key=CREDS.access_key, secret_key=CREDS.secret_key, token=CREDS.token)
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        assert IamAuth(plain, "eu-west-1").connect_auth(HOST) == IamAuth(CREDS, "eu-west-1").connect_auth(HOST)


@pytest.mark.parametrize(
    "credentials",
    [None, SimpleNamespace(access_key="AKID", secret_key="", token=None), Credentials("AKID", "")],
)
def test_iam_without_a_full_key_pair_refuses_to_sign(credentials: object) -> None:
    """No credentials, or an access key without its secret, is an error before anything is signed."""
    with pytest.raises(AuthFormatError) as err:
        IamAuth(credentials, "eu-west-1").connect_auth(HOST)
    assert str(err.value) == "IAM auth needs AWS credentials; none were found"


def test_iam_request_is_a_post_to_the_event_path() -> None:
    """The request IAM signs: POST https://<host>/event, the body as UTF-8, the fixed headers and the host; a
    caller's own Host header (any case) is kept, never doubled."""
    request = iam_request(HOST, '{"channel":"/d/é"}')
    assert (request.method, request.url, request.body) == (
        "POST",
        f"https://{HOST}/event",
        '{"channel":"/d/é"}'.encode(),
    )
    assert dict(request.headers.items()) == {
        "accept": "application/json, text/javascript",
        "content-encoding": "amz-1.0",
        "content-type": "application/json; charset=UTF-8",
        "host": HOST,
    }
    given = iam_request(HOST, "{}", {"Host": "signed.example", "x-amz-date": "d"})
    assert given.headers.get_all("host") == ["signed.example"]


def test_canonical_request_uses_the_signed_host() -> None:
    """A server rebuilds the request for the host the client signed, whatever host it was reached on."""
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        signed = IamAuth(CREDS, "eu-west-1").connect_auth("signed.example")
    request = iam_canonical_request(signed, "{}")
    assert request.url == "https://signed.example/event"
    assert request.headers["host"] == "signed.example"


def test_parsed_iam_signature_time_is_utc() -> None:
    """The request time from x-amz-date is an aware UTC instant, comparable with a server's clock."""
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        signed = IamAuth(CREDS, "eu-west-1").connect_auth(HOST)
    parsed = parse_iam_authorization(signed)
    assert parsed.timestamp == NOW
    assert parsed.timestamp.tzinfo is UTC


_SIGV4 = "AWS4-HMAC-SHA256 Credential=A/20261128/r/appsync/aws4_request, SignedHeaders={}, Signature=" + "0" * 64


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        ({"x-api-key": "k"}, "Authorization is not an AWS4-HMAC-SHA256 signature"),
        (
            {"Authorization": _SIGV4.format("host;x-amz-date"), "x-amz-date": "2026-11-28"},
            "x-amz-date '2026-11-28' is not like 20261128T120000Z",
        ),
        (
            {"Authorization": _SIGV4.format("accept;host;x-amz-date"), "x-amz-date": "20261128T000000Z"},
            "signed header(s) accept, host missing from the auth object",
        ),
    ],
)
def test_more_bad_iam_auth_objects(auth: dict[str, str], message: str) -> None:
    """No Authorization at all, an unreadable date, several signed headers missing: each named exactly."""
    with pytest.raises(AuthFormatError) as err:
        parse_iam_authorization(auth)
    assert str(err.value) == message


def test_auth_headers_from_pairs_and_token_with_a_date() -> None:
    """AuthHeaders reads (key, value) pairs as well as mappings; a token is a token even next to x-amz-date."""
    assert dict(AuthHeaders([("X-Api-Key", "k"), ("n", 1)])) == {"X-Api-Key": "k"}
    assert classify_auth({"Authorization": "eyJ.jwt", "x-amz-date": "20261128T120000Z"}) is AuthKind.TOKEN


@pytest.mark.parametrize(
    ("auth", "before", "after"), [({"a": "bc"}, "", " "), ({"a": "b"}, "", "X"), ({"a": "bc"}, "=", "")]
)
def test_header_subprotocol_with_a_stray_character_is_refused(auth: dict[str, str], before: str, after: str) -> None:
    """A payload that is not exactly base64url (a stray space, character or '=' around it) is refused, not
    repaired."""
    encoded = encode_auth_subprotocol(auth)
    assert decode_auth_subprotocol(encoded) == auth
    with pytest.raises(AuthFormatError) as err:
        decode_auth_subprotocol("header-" + before + encoded.removeprefix("header-") + after)
    assert str(err.value) == "the header- subprotocol is not base64url-encoded JSON"


def test_security_credentials_in_text_are_masked() -> None:
    """Text about to be printed or logged keeps each credential's prefix but never the credential: every API key and
    every header- subprotocol (even one with '-' in its base64url), the rest of the text untouched."""
    protocol = encode_auth_subprotocol({"x-api-key": "da2-abc?>>", "host": "h"})
    assert "-" in protocol.removeprefix("header-")
    text = f"refused {protocol} (key da2-Secret123, again da2-Other9): see da2 docs-page"
    assert mask_credentials(text) == (
        "refused header-<redacted> (key da2-<redacted>, again da2-<redacted>): see da2 docs-page"
    )
    assert mask_credentials("no credential here") == "no credential here"
