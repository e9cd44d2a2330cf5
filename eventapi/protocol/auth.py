"""Auth objects for each auth mode, their encodings, and the SigV4 request IAM signs (docs/protocol.md, Auth).

An auth object is a flat `{header: value}` dict. It travels three ways: base64url (no padding) inside the
`header-…` WebSocket subprotocol at connect, as the `authorization` field of subscribe/publish frames, and as
HTTP headers on `POST /event` (or on the WebSocket upgrade request, as native clients do).

IAM signs `POST https://<http host>/event` with fixed headers and a body that depends on the operation
(`{}` for connect, `{"channel"}` for subscribe, `{"channel","events"}` for publish). Signing and verification
use botocore's `SigV4Auth`, imported lazily: this package never imports boto3 or aiohttp.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, Protocol

from eventapi.protocol.json_text import compact_json, strict_loads
from eventapi.protocol.limits import HEADER_SUBPROTOCOL_PREFIX, HTTP_PATH, SIGV4_SERVICE, SUBPROTOCOL
from eventapi.protocol.messages import PublishRequest
from eventapi.protocol.modes import AuthMode

API_KEY_HEADER: Final = "x-api-key"
AUTHORIZATION_HEADER: Final = "Authorization"
HOST_HEADER: Final = "host"
AMZ_DATE_HEADER: Final = "x-amz-date"
SECURITY_TOKEN_HEADER: Final = "x-amz-security-token"  # noqa: S105 - a header name
SIGV4_ALGORITHM: Final = "AWS4-HMAC-SHA256"
SIGV4_TIMESTAMP_FORMAT: Final = "%Y%m%dT%H%M%SZ"
# The headers every IAM-signed Event API request carries besides host and x-amz-date
# (docs/protocol.md, IAM (SigV4)).
IAM_FIXED_HEADERS: Final[Mapping[str, str]] = {
    "accept": "application/json, text/javascript",
    "content-encoding": "amz-1.0",
    "content-type": "application/json; charset=UTF-8",
}
# Content type of non-IAM HTTP publishes.
JSON_CONTENT_TYPE: Final = "application/json"


class AuthFormatError(ValueError):
    """An auth object, `header-` subprotocol or SigV4 Authorization header that cannot be read."""


# --- the bodies IAM signs -----------------------------------------------------------------------------------


def connect_body() -> str:
    return "{}"


def subscribe_body(channel: str) -> str:
    return compact_json({"channel": channel})


def publish_body(channel: str, events: Sequence[str]) -> str:
    """Also the exact HTTP publish body."""
    return compact_json(PublishRequest(channel, tuple(events)).to_json())


# --- auth objects -------------------------------------------------------------------------------------------


class Authorizer(Protocol):
    """What the client needs from an auth mode: the auth object for connect, for one operation, for HTTP."""

    @property
    def mode(self) -> AuthMode: ...

    def connect_auth(self, host: str) -> dict[str, str]:
        """The auth object of the connection (goes into the `header-` subprotocol)."""
        ...

    def operation_auth(self, host: str, body: str) -> dict[str, str]:
        """The `authorization` field of a subscribe/publish frame whose signed body is `body`."""
        ...

    def http_headers(self, host: str, body: str) -> dict[str, str]:
        """Headers of `POST /event` with exactly `body` (content-type included)."""
        ...


@dataclass(frozen=True)
class ApiKeyAuth:
    """API_KEY: `x-api-key` (the key never appears in the repr)."""

    api_key: str = field(repr=False)

    @property
    def mode(self) -> AuthMode:
        return AuthMode.API_KEY

    def connect_auth(self, host: str) -> dict[str, str]:
        return {HOST_HEADER: host, API_KEY_HEADER: self.api_key}

    def operation_auth(self, host: str, body: str) -> dict[str, str]:
        return {API_KEY_HEADER: self.api_key}

    def http_headers(self, host: str, body: str) -> dict[str, str]:
        return {"content-type": JSON_CONTENT_TYPE, API_KEY_HEADER: self.api_key}


@dataclass(frozen=True)
class TokenAuth:
    """Cognito user pools, OIDC or Lambda: the token in `Authorization` (hidden from the repr)."""

    token: str = field(repr=False)
    auth_mode: AuthMode = AuthMode.AMAZON_COGNITO_USER_POOLS

    def __post_init__(self) -> None:
        if self.auth_mode in (AuthMode.API_KEY, AuthMode.AWS_IAM):
            raise ValueError(f"TokenAuth is for token modes, not {self.auth_mode}")

    @property
    def mode(self) -> AuthMode:
        return self.auth_mode

    def connect_auth(self, host: str) -> dict[str, str]:
        return {AUTHORIZATION_HEADER: self.token, HOST_HEADER: host}

    def operation_auth(self, host: str, body: str) -> dict[str, str]:
        return {AUTHORIZATION_HEADER: self.token}

    def http_headers(self, host: str, body: str) -> dict[str, str]:
        return {"content-type": JSON_CONTENT_TYPE, AUTHORIZATION_HEADER: self.token}


class Credentials(Protocol):
    """botocore `Credentials`/`ReadOnlyCredentials`, or anything with the same three attributes."""

    @property
    def access_key(self) -> str: ...
    @property
    def secret_key(self) -> str: ...
    @property
    def token(self) -> str | None: ...


@dataclass(frozen=True)
class IamAuth:
    """AWS_IAM: every auth object is a SigV4 signature (service `appsync`) over that operation's body.

    `credentials` is a botocore `Credentials` (refreshable ones are refreshed: `get_frozen_credentials()` is
    called for every signature) or any object with `access_key`, `secret_key`, `token`.
    """

    credentials: Any = field(repr=False)
    region: str

    @property
    def mode(self) -> AuthMode:
        return AuthMode.AWS_IAM

    def connect_auth(self, host: str) -> dict[str, str]:
        return sign_iam(host, connect_body(), credentials=self.credentials, region=self.region)

    def operation_auth(self, host: str, body: str) -> dict[str, str]:
        return sign_iam(host, body, credentials=self.credentials, region=self.region)

    def http_headers(self, host: str, body: str) -> dict[str, str]:
        return sign_iam(host, body, credentials=self.credentials, region=self.region)


def iam_request(host: str, body: str, headers: Mapping[str, str] | None = None) -> Any:
    """The botocore `AWSRequest` that IAM signs: POST https://<host>/event, the fixed headers, `body`.

    `headers` replaces the fixed headers (a server rebuilding a client's request passes the signed ones).
    """
    from botocore.awsrequest import AWSRequest  # noqa: PLC0415 - botocore stays optional for non-IAM users

    request_headers = dict(IAM_FIXED_HEADERS) if headers is None else dict(headers)
    if not any(k.lower() == HOST_HEADER for k in request_headers):
        request_headers[HOST_HEADER] = host
    return AWSRequest(
        method="POST", url=f"https://{host}{HTTP_PATH}", data=body.encode("utf-8"), headers=request_headers
    )


def sign_iam(host: str, body: str, *, credentials: Any, region: str) -> dict[str, str]:
    """The SigV4-signed auth object of `body`: fixed headers, host, x-amz-date, [token], Authorization."""
    from botocore.auth import SigV4Auth  # noqa: PLC0415 - botocore stays optional for non-IAM users

    frozen = credentials.get_frozen_credentials() if hasattr(credentials, "get_frozen_credentials") else credentials
    if frozen is None or not frozen.access_key or not frozen.secret_key:
        raise AuthFormatError("IAM auth needs AWS credentials; none were found")
    request = iam_request(host, body)
    SigV4Auth(frozen, SIGV4_SERVICE, region).add_auth(request)
    return {key: str(value) for key, value in request.headers.items()}


# --- server side: reading auth objects ----------------------------------------------------------------------


class AuthHeaders(Mapping[str, str]):
    """A read-only auth object with case-insensitive keys (`X-Api-Key` == `x-api-key`); non-strings dropped."""

    def __init__(self, raw: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()) -> None:
        items = raw.items() if isinstance(raw, Mapping) else raw
        self._items: dict[str, tuple[str, str]] = {
            key.lower(): (key, value) for key, value in items if isinstance(key, str) and isinstance(value, str)
        }

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()][1]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return (original for original, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"AuthHeaders(keys={sorted(self._items)})"  # values are secrets


def auth_value(auth: Mapping[str, Any], name: str) -> str | None:
    """Case-insensitive look-up of one auth key; None when absent or not a string."""
    return AuthHeaders(auth).get(name)


class AuthKind(StrEnum):
    """Which kind of credential an auth object carries (a server then checks it against the allowed modes)."""

    API_KEY = "API_KEY"
    IAM = "IAM"
    TOKEN = "TOKEN"  # noqa: S105 - Cognito, OIDC or Lambda: the server decides by what it can verify
    NONE = "NONE"


def classify_auth(auth: Mapping[str, Any]) -> AuthKind:
    headers = AuthHeaders(auth)
    if API_KEY_HEADER in headers:
        return AuthKind.API_KEY
    authorization = headers.get(AUTHORIZATION_HEADER)
    if authorization is None:
        return AuthKind.NONE
    if authorization.startswith(SIGV4_ALGORITHM + " ") and AMZ_DATE_HEADER in headers:
        return AuthKind.IAM
    return AuthKind.TOKEN


def encode_auth_subprotocol(auth: Mapping[str, str]) -> str:
    """`header-<base64url(JSON auth object)>`, no `=` padding (what browsers offer as a subprotocol)."""
    raw = base64.urlsafe_b64encode(compact_json(dict(auth)).encode("utf-8")).rstrip(b"=")
    return HEADER_SUBPROTOCOL_PREFIX + raw.decode("ascii")


def subprotocols(auth: Mapping[str, str]) -> list[str]:
    """The two subprotocols a client offers: `aws-appsync-event-ws` and the encoded auth object."""
    return [SUBPROTOCOL, encode_auth_subprotocol(auth)]


def upgrade_headers(auth: Mapping[str, str]) -> dict[str, str]:
    """The auth object as upgrade-request headers (native clients); `host` is left to the HTTP layer."""
    return {key: value for key, value in auth.items() if key.lower() != HOST_HEADER}


def decode_auth_subprotocol(protocol: str) -> dict[str, str]:
    """The auth object inside a `header-…` subprotocol; raises `AuthFormatError` if it is not one."""
    if not protocol.startswith(HEADER_SUBPROTOCOL_PREFIX):
        raise AuthFormatError(f"not a {HEADER_SUBPROTOCOL_PREFIX}… subprotocol")
    payload = protocol[len(HEADER_SUBPROTOCOL_PREFIX) :].translate(str.maketrans("+/", "-_")).rstrip("=")
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        obj = strict_loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError):
        raise AuthFormatError("the header- subprotocol is not base64url-encoded JSON") from None
    if not isinstance(obj, dict):
        raise AuthFormatError("the header- subprotocol must hold a JSON object")
    return {key: value for key, value in obj.items() if isinstance(value, str)}


def auth_from_subprotocols(protocols: Sequence[str]) -> dict[str, str] | None:
    """The auth object of the first `header-…` entry of an offered subprotocol list, or None."""
    for protocol in protocols:
        if protocol.strip().startswith(HEADER_SUBPROTOCOL_PREFIX):
            return decode_auth_subprotocol(protocol.strip())
    return None


_CREDENTIAL_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<akid>[^/\s]+)/(?P<date>\d{8})/(?P<region>[^/\s]+)/(?P<service>[^/\s]+)"
    r"/aws4_request,\s*SignedHeaders=(?P<signed>[a-z0-9;-]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class IamSignature:
    """The parts of a SigV4 `Authorization` header, and the request time from `x-amz-date`."""

    access_key_id: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str = field(repr=False)
    amz_date: str
    timestamp: datetime


def parse_iam_authorization(auth: Mapping[str, Any]) -> IamSignature:
    """Read a SigV4 auth object; raises `AuthFormatError` naming what is missing or malformed."""
    headers = AuthHeaders(auth)
    match = _CREDENTIAL_RE.match(headers.get(AUTHORIZATION_HEADER, ""))
    if match is None:
        raise AuthFormatError("Authorization is not an AWS4-HMAC-SHA256 signature")
    amz_date = headers.get(AMZ_DATE_HEADER)
    if amz_date is None:
        raise AuthFormatError("x-amz-date is missing")
    try:
        timestamp = datetime.strptime(amz_date, SIGV4_TIMESTAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise AuthFormatError(f"x-amz-date {amz_date!r} is not like 20261128T120000Z") from None
    if timestamp.strftime("%Y%m%d") != match["date"]:
        raise AuthFormatError("the credential scope date does not match x-amz-date")
    signed = tuple(match["signed"].split(";"))
    for required in (HOST_HEADER, AMZ_DATE_HEADER):
        if required not in signed:
            raise AuthFormatError(f"{required} is not among the signed headers")
    missing = [name for name in signed if name not in headers]
    if missing:
        raise AuthFormatError(f"signed header(s) {', '.join(missing)} missing from the auth object")
    return IamSignature(
        access_key_id=match["akid"],
        region=match["region"],
        service=match["service"],
        signed_headers=signed,
        signature=match["signature"],
        amz_date=amz_date,
        timestamp=timestamp,
    )


def iam_canonical_request(auth: Mapping[str, Any], body: str) -> Any:
    """Rebuild the `AWSRequest` a client signed: POST https://<signed host>/event, signed headers, `body`."""
    signature = parse_iam_authorization(auth)
    headers = AuthHeaders(auth)
    signed = {name: headers[name] for name in signature.signed_headers}
    return iam_request(signed[HOST_HEADER], body, signed)


def verify_iam_signature(auth: Mapping[str, Any], body: str, *, secret_key: str, region: str | None = None) -> bool:
    """Whether `auth` is a valid SigV4 signature of `body` by the owner of `secret_key` (botocore checks).

    The caller looks up `secret_key` from `parse_iam_authorization(auth).access_key_id` and checks the
    request time (`.timestamp`) against its clock. `region`, when given, must be the signed region.
    """
    from botocore.auth import SigV4Auth  # noqa: PLC0415 - botocore stays optional for non-IAM users
    from botocore.credentials import ReadOnlyCredentials  # noqa: PLC0415

    signature = parse_iam_authorization(auth)
    if signature.service != SIGV4_SERVICE or (region is not None and signature.region != region):
        return False
    token = AuthHeaders(auth).get(SECURITY_TOKEN_HEADER)
    signer = SigV4Auth(
        ReadOnlyCredentials(signature.access_key_id, secret_key, token), signature.service, signature.region
    )
    request = iam_canonical_request(auth, body)
    request.context["timestamp"] = signature.amz_date
    expected: str = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    return hmac.compare_digest(expected, signature.signature)


# --- text that may quote a credential -------------------------------------------------------------------------

# An API key (`da2-…`) or a `header-…` subprotocol (a base64url auth object, the key or token inside).
_SECRET_IN_TEXT_RE: Final = re.compile(rf"{HEADER_SUBPROTOCOL_PREFIX}[A-Za-z0-9_\-+/=]*|da2-[A-Za-z0-9]+")
CREDENTIAL_MASK: Final = "<redacted>"


def mask_credentials(text: str) -> str:
    """`text` with every `header-…` subprotocol and `da2-…` API key replaced by a mask (before it is logged or
    printed: an error message may quote what a client sent)."""
    return _SECRET_IN_TEXT_RE.sub(lambda m: m[0][: m[0].index("-") + 1] + CREDENTIAL_MASK, text)
