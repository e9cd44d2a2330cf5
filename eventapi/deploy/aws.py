"""boto3 access for the post-deploy step: clients made lazily from a given `boto3.Session`, errors by code.

Every AWS call goes through `Aws.call` / `Aws.paginate`, which turn botocore failures into `DeployError`s with
an exit code per kind and a one-line message naming the IAM action and resource. Retries are botocore's
adaptive mode; what is still throttled after them is reported as such.

botocore is imported when the first client is made (or a failure is translated), not with this module: `policy`
and `--help` run without the AWS SDK.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Final

from eventapi.deploy.errors import DeployError, Redactor
from eventapi.exits import ExitCode

MAX_ATTEMPTS: Final = 8
USER_AGENT: Final = "eventapi-deploy"

THROTTLING_CODES: Final = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
    }
)
ACCESS_DENIED_CODES: Final = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError", "UnauthorizedException"}
)
KMS_CODES: Final = frozenset(
    {
        "InvalidKeyId",
        "KMSAccessDeniedException",
        "KMSDisabledException",
        "KMSInvalidStateException",
        "KMSNotFoundException",
        "KMSKeyNotAccessibleException",
        "KMSOptInRequired",
        "DisabledException",
        "KeyUnavailableException",
        "NotFoundException.KMS",
    }
)
BAD_CREDENTIAL_CODES: Final = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
    }
)
_DENIED_RE: Final = re.compile(r"perform: (?P<action>[\w-]+:\w+) on resource: (?P<resource>\S+?)(?=[\s,;]|$)")
_SERVICE_PREFIX: Final = {"ssm": "ssm", "appsync": "appsync", "cloudformation": "cloudformation"}


class AwsError(DeployError):
    """A failed AWS call; `aws_code` is AWS's error code (for callers that expect some, e.g. NotFound)."""

    def __init__(self, code: ExitCode, message: str, aws_code: str) -> None:
        super().__init__(code, message)
        self.aws_code = aws_code


def action_name(service: str, operation: str) -> str:
    """The IAM action of an API operation, e.g. `ssm:PutParameter`."""
    return f"{_SERVICE_PREFIX.get(service, service)}:{operation}"


def sdk_errors() -> tuple[type[Exception], ...]:
    """The botocore failures `translate` turns into `DeployError`s, for `except sdk_errors():` (Python evaluates
    that only once an exception is raised, and by then the session has loaded botocore)."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - see the module docstring

    return (ClientError, BotoCoreError)


def translate(err: Exception, action: str, resource: str, redact: Redactor, hint: str = "") -> DeployError:
    """One `DeployError` for a botocore failure of `action` on `resource`."""
    from botocore import exceptions as sdk  # noqa: PLC0415 - see the module docstring

    if isinstance(err, sdk.ClientError):
        error = err.response.get("Error", {})
        code = str(error.get("Code") or "Unknown")
        message = redact(str(error.get("Message") or ""))
        denied = _DENIED_RE.search(message)
        if code in THROTTLING_CODES:
            return AwsError(
                ExitCode.THROTTLED,
                f"AWS throttled {action} on {resource} ({code}) after {MAX_ATTEMPTS} attempts with adaptive "
                "retries; wait a minute and run the command again",
                code,
            )
        if code in KMS_CODES or (code in ACCESS_DENIED_CODES and "kms" in message.lower()):
            what = f"{denied['action']} on {denied['resource']}" if denied else f"{action} on {resource}"
            return AwsError(
                ExitCode.KMS,
                f"KMS refused {what} ({code}: {message or 'no message'}); check that the KMS key of the stage "
                "(ssm.kmsKeyId, or --kms-key-id) exists, is enabled, and that these credentials may use it",
                code,
            )
        if code in ACCESS_DENIED_CODES:
            what = f"{denied['action']} on {denied['resource']}" if denied else f"{action} on {resource}"
            return AwsError(
                ExitCode.ACCESS_DENIED,
                f"access denied: the credentials' IAM policy lacks {what}; add it "
                f"({hint or 'python -m eventapi.deploy policy --stage <stage>'} prints the policy this tool needs)",
                code,
            )
        if code in BAD_CREDENTIAL_CODES:
            return AwsError(
                ExitCode.UNAUTHORIZED,
                f"AWS rejected the credentials ({code}); refresh them (aws sso login, or new access keys) "
                "and run again",
                code,
            )
        return AwsError(ExitCode.AWS, f"{action} on {resource} failed: {code}: {message or 'no message'}", code)
    if isinstance(err, (sdk.NoCredentialsError, sdk.PartialCredentialsError)):
        return DeployError(
            ExitCode.UNAUTHORIZED,
            "no AWS credentials found; set AWS_PROFILE (or pass --profile), or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, and run again",
        )
    if isinstance(err, sdk.NoRegionError):
        return DeployError(
            ExitCode.CONFIG, "no AWS region: set the stage's region in cdk.json, AWS_REGION, or pass --region"
        )
    if isinstance(err, sdk.ConnectionError):
        return DeployError(
            ExitCode.AWS, f"cannot reach AWS for {action}: {redact(str(err))}; check the network or AWS_ENDPOINT_URL"
        )
    return DeployError(ExitCode.AWS, f"{action} on {resource} failed: {redact(str(err))}")


class Aws:
    """The clients of one run, all from `session`, all with adaptive retries; `region` is the default region."""

    def __init__(
        self,
        session: Any,
        *,
        region: str | None = None,
        redactor: Redactor | None = None,
        policy_hint: str = "",
    ) -> None:
        self.session = session
        self.region: str | None = region or session.region_name
        self.redact = redactor or Redactor()
        self.policy_hint = policy_hint
        self._clients: dict[tuple[str, str | None], Any] = {}

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.region)
        if key not in self._clients:
            from botocore.config import Config  # noqa: PLC0415 - see the module docstring

            config = Config(retries={"mode": "adaptive", "max_attempts": MAX_ATTEMPTS}, user_agent_extra=USER_AGENT)
            try:
                self._clients[key] = self.session.client(service, region_name=key[1], config=config)
            except sdk_errors() as err:
                raise translate(err, action_name(service, "*"), service, self.redact, self.policy_hint) from None
        return self._clients[key]

    def call(self, service: str, operation: str, resource: str, *, region: str | None = None, **kwargs: Any) -> Any:
        """Call `operation` (its AWS name, e.g. `PutParameter`); failures become `DeployError`s."""
        client = self.client(service, region)
        method = getattr(client, _snake(operation))
        try:
            return method(**kwargs)
        except sdk_errors() as err:
            raise translate(err, action_name(service, operation), resource, self.redact, self.policy_hint) from None

    def paginate(
        self, service: str, operation: str, resource: str, items: str, *, region: str | None = None, **kwargs: Any
    ) -> Iterator[Any]:
        """Yield the `items` of every page of a list operation."""
        paginator = self.client(service, region).get_paginator(_snake(operation))
        try:
            for page in paginator.paginate(**kwargs):
                yield from page.get(items, [])
        except sdk_errors() as err:
            raise translate(err, action_name(service, operation), resource, self.redact, self.policy_hint) from None


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


# --- logs: no key in any record while a command runs -----------------------------------------------------------

_LOG_PREFIXES: Final = ("botocore", "boto3", "urllib3", "s3transfer", "eventapi")
_BODY_LOGGERS: Final = frozenset({"botocore.parsers"})


class RedactingFilter(logging.Filter):
    """Masks secrets in log records of boto3/botocore/urllib3 (which log URLs and bodies at DEBUG level).

    Response bodies (`botocore.parsers`) are dropped whole: they can hold key values the tool has not seen yet.
    """

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name in _BODY_LOGGERS and "body" in str(record.msg).lower():
            record.msg, record.args = "Response body: (not logged by eventapi.deploy: it may hold secrets)", None
            return True
        try:
            text = record.getMessage()
        except (TypeError, ValueError):
            text = str(record.msg)
        record.msg, record.args = self.redact(text), None
        return True


class redacted_logs:  # lower case: used like a function, `with redacted_logs(redactor):`
    """While active, every existing and well-known AWS SDK logger masks the redactor's secrets."""

    NAMES: Final = (
        "botocore",
        "botocore.endpoint",
        "botocore.parsers",
        "botocore.auth",
        "botocore.hooks",
        "botocore.httpsession",
        "botocore.retryhandler",
        "botocore.retries.standard",
        "botocore.retries.adaptive",
        "botocore.client",
        "botocore.credentials",
        "botocore.regions",
        "botocore.utils",
        "botocore.awsrequest",
        "boto3",
        "boto3.resources",
        "urllib3",
        "urllib3.connectionpool",
        "eventapi",
    )

    def __init__(self, redact: Redactor) -> None:
        self.filter = RedactingFilter(redact)
        self.loggers: list[logging.Logger] = []

    def __enter__(self) -> redacted_logs:
        names = set(self.NAMES) | {name for name in logging.root.manager.loggerDict if name.startswith(_LOG_PREFIXES)}
        self.loggers = [logging.getLogger(name) for name in sorted(names)]
        for logger in self.loggers:
            logger.addFilter(self.filter)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for logger in self.loggers:
            logger.removeFilter(self.filter)
