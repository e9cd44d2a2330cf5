"""The stage's `auth` section: its providers (API key, IAM, Cognito, OIDC, Lambda) and the auth modes of
connect, publish and subscribe; a new user pool's choices and the API key's renewer are parsed here too.

The modes and how AppSync applies them are in docs/protocol.md (Auth).
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from eventapi.config.fields import ConfigError, Obj, did_you_mean, show
from eventapi.config.model import (
    API_KEY_MAX_DAYS,
    API_KEY_MIN_DAYS,
    DEFAULT_RENEW_HOUR_UTC,
    ApiKeyProvider,
    AuthConfig,
    AutoRenewConfig,
    CognitoProvider,
    FeaturePlan,
    HostedUi,
    IamProvider,
    LambdaProvider,
    Mfa,
    OidcProvider,
    UserPoolSettings,
)
from eventapi.protocol.modes import AuthMode

# cdk.json provider key -> the auth mode it enables.
PROVIDER_MODES: dict[str, AuthMode] = {
    "apiKey": AuthMode.API_KEY,
    "iam": AuthMode.AWS_IAM,
    "cognito": AuthMode.AMAZON_COGNITO_USER_POOLS,
    "oidc": AuthMode.OPENID_CONNECT,
    "lambda": AuthMode.AWS_LAMBDA,
}
USER_POOL_ID_RE = re.compile(r"^(?P<region>[a-z]{2}(-gov)?-[a-z]+-\d)_[A-Za-z0-9]{1,55}$")
LAMBDA_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:lambda:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]+)?$"
)
PRINCIPAL_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(root|role/[\w+=,.@/-]+|user/[\w+=,.@/-]+)$")

SIGN_IN_ALIASES = ("email", "username", "preferredUsername")
# A choice that relaxes a cdk-nag AwsSolutions rule -> (the rule, what it checks); its reason comes from config.
RELAXED_RULES: dict[str, tuple[str, str]] = {
    "mfa": ("AwsSolutions-COG2", "MFA required"),
    "featurePlan": ("AwsSolutions-COG8", "the Plus feature plan, with threat protection"),
}
USER_POOL_SETTINGS = ("selfSignUp", "mfa", "featurePlan", "signInAliases", "hostedUi", "reasons")
COGNITO_DOMAIN_RE = re.compile(r"^(?!.*(aws|amazon|cognito))[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
OAUTH_URL_RE = re.compile(r"^(https://[^\s#]+|http://localhost(:\d+)?(/[^\s#]*)?)$")
REASON_RE = re.compile(r"^[^\n]{10,500}$")

M = TypeVar("M", tuple[AuthMode, ...], None)  # the modes when a list is left out: a default, or None

AUTH_SETTINGS = ("providers", "connect", "publish", "subscribe")
API_KEY_SETTINGS = ("validDays", "description", "generation", "autoRenew")
COGNITO_SETTINGS = ("newUserPool", "userPoolId", "appIdClientRegex", *USER_POOL_SETTINGS)
IAM_SETTINGS = ("publisherPrincipal", "subscriberPrincipal")
OIDC_SETTINGS = ("issuer", "clientId", "authTtlSeconds", "iatTtlSeconds")
LAMBDA_SETTINGS = ("functionArn", "resultTtlSeconds", "identityValidationRegex")


def parse_modes(path: str, raw: Any, configured: tuple[AuthMode, ...], default: M) -> tuple[AuthMode, ...] | M:
    """A list of auth modes (`raw`, None when the field is absent), each with a configured provider; `configured`
    is never empty (a stage has at least one provider)."""
    if raw is None:
        return default
    names = [m.value for m in AuthMode]
    if not isinstance(raw, list) or not raw or not all(isinstance(m, str) for m in raw):
        raise ConfigError(path, f"{show(raw)} is not allowed; expected a non-empty list of {', '.join(names)}")
    modes: list[AuthMode] = []
    for item in raw:
        if item not in names:
            raise ConfigError(
                path,
                f"{show(item)} is not an auth mode{did_you_mean(item, names)}; expected one of {', '.join(names)}",
            )
        mode = AuthMode(item)
        if mode not in configured:
            key = next(k for k, v in PROVIDER_MODES.items() if v is mode)
            raise ConfigError(
                path,
                f"{item} has no provider; add auth.providers.{key} or remove {item} "
                f"(configured: {', '.join(configured)})",
            )
        if mode in modes:
            raise ConfigError(path, f"{item} is listed twice")
        modes.append(mode)
    return tuple(modes)


def parse_auth(node: Obj, region: str | None) -> AuthConfig:
    """The stage's `auth`: its providers (an API key when `providers` is left out), then the modes that may
    connect, publish and subscribe (default: every configured provider; publish and subscribe default to connect)."""
    providers = Obj(node.at("providers"), node.value.get("providers", {"apiKey": {}}), tuple(PROVIDER_MODES))
    if not providers.value:
        raise ConfigError(providers.path, f"no provider configured; add at least one of {', '.join(PROVIDER_MODES)}")
    # This order decides which of two bad providers is reported.
    api_key = _api_key(providers.obj("apiKey", API_KEY_SETTINGS)) if providers.has("apiKey") else None
    cognito = _cognito(providers.obj("cognito", COGNITO_SETTINGS), region) if providers.has("cognito") else None
    iam = _iam(providers.obj("iam", IAM_SETTINGS)) if providers.has("iam") else None
    oidc = _oidc(providers.obj("oidc", OIDC_SETTINGS)) if providers.has("oidc") else None
    lam = _lambda(providers.obj("lambda", LAMBDA_SETTINGS)) if providers.has("lambda") else None

    configured = AuthConfig(api_key, cognito, iam, oidc, lam, (), (), ()).provider_modes
    connect = parse_modes(node.at("connect"), node.value.get("connect"), configured, configured)
    return AuthConfig(
        api_key,
        cognito,
        iam,
        oidc,
        lam,
        connect,
        publish=parse_modes(node.at("publish"), node.value.get("publish"), configured, connect),
        subscribe=parse_modes(node.at("subscribe"), node.value.get("subscribe"), configured, connect),
    )


def _api_key(p: Obj) -> ApiKeyProvider:
    return ApiKeyProvider(
        valid_days=p.integer(
            "validDays",
            API_KEY_MAX_DAYS,
            API_KEY_MIN_DAYS,
            API_KEY_MAX_DAYS,
            f"a whole number of days from {API_KEY_MIN_DAYS} to {API_KEY_MAX_DAYS}",
        ),
        description=p.string(
            "description", ApiKeyProvider.description, re.compile(r"^[^\n]{1,200}$"), "one line of 1-200 characters"
        ),
        generation=p.integer("generation", 1, 1, 9999, "a whole number from 1 to 9999"),
        auto_renew=_parse_auto_renew(p),
    )


def _cognito(p: Obj, region: str | None) -> CognitoProvider:
    new_pool = p.get("newUserPool", bool, False, "true or false")
    pool_id = p.string("userPoolId", None, USER_POOL_ID_RE, "a user pool id like 'eu-west-1_AbCdEf123'")
    if new_pool == (pool_id is not None):
        raise ConfigError(
            p.path,
            "set exactly one of newUserPool: true (a pool made by this stack) or userPoolId (an existing pool)",
        )
    pool_region = USER_POOL_ID_RE.fullmatch(pool_id).group("region") if pool_id else None  # type: ignore[union-attr]
    return CognitoProvider(
        new_user_pool=new_pool,
        user_pool_id=pool_id,
        user_pool_region=pool_region if pool_region != region else None,
        app_id_client_regex=p.regex("appIdClientRegex"),
        pool=_parse_user_pool(p, new_pool),
    )


def _iam(p: Obj) -> IamProvider:
    what = "an IAM ARN like 'arn:aws:iam::123456789012:role/backend' (or ...:root)"
    return IamProvider(
        publisher_principal=p.string("publisherPrincipal", None, PRINCIPAL_ARN_RE, what),
        subscriber_principal=p.string("subscriberPrincipal", None, PRINCIPAL_ARN_RE, what),
    )


def _oidc(p: Obj) -> OidcProvider:
    day = 86_400
    return OidcProvider(
        issuer=p.required(
            "issuer",
            re.compile(r"^https://[^\s/]+(/\S*)?$"),
            "an https:// issuer URL",
            "give the OIDC issuer URL, e.g. 'https://issuer.example.com'",
        ),
        client_id=p.get("clientId", str, None, "a client id string"),
        auth_ttl_seconds=p.integer("authTtlSeconds", 0, 0, day, f"seconds from 0 (no limit) to {day}"),
        iat_ttl_seconds=p.integer("iatTtlSeconds", 0, 0, day, f"seconds from 0 (no limit) to {day}"),
    )


def _lambda(p: Obj) -> LambdaProvider:
    return LambdaProvider(
        function_arn=p.required(
            "functionArn",
            LAMBDA_ARN_RE,
            "a Lambda function ARN like 'arn:aws:lambda:eu-west-1:123456789012:function:auth'",
            "give the authorizer's Lambda function ARN",
        ),
        result_ttl_seconds=p.integer("resultTtlSeconds", 300, 0, 3600, "seconds from 0 to 3600"),
        identity_validation_regex=p.regex("identityValidationRegex"),
    )


# --- a new user pool's choices, the API key's renewer ------------------------------------------------------------


def _parse_auto_renew(node: Obj) -> AutoRenewConfig | None:
    raw = node.value.get("autoRenew", False)
    if raw is False:
        return None
    if raw is True:
        return AutoRenewConfig()
    if not isinstance(raw, dict):
        raise ConfigError(node.at("autoRenew"), f'{show(raw)} is not allowed; expected true, false or {{"hourUtc": 3}}')
    p = Obj(node.at("autoRenew"), raw, ("hourUtc",))
    return AutoRenewConfig(p.integer("hourUtc", DEFAULT_RENEW_HOUR_UTC, 0, 23, "an hour of the day (UTC) from 0 to 23"))


def _parse_user_pool(node: Obj, new_pool: bool) -> UserPoolSettings:
    given = [key for key in USER_POOL_SETTINGS if node.has(key)]
    if given and not new_pool:
        raise ConfigError(node.at(given[0]), "applies only to a pool made by this stack (newUserPool: true)")
    mfa = node.get("mfa", str, Mfa.REQUIRED.value, "one of required, optional, off")
    if mfa not in tuple(Mfa):
        raise ConfigError(node.at("mfa"), f"{show(mfa)} is not allowed; expected one of required, optional, off")
    plan = node.get("featurePlan", str, FeaturePlan.PLUS.value, "one of plus, essentials")
    if plan not in tuple(FeaturePlan):
        raise ConfigError(node.at("featurePlan"), f"{show(plan)} is not allowed; expected one of plus, essentials")
    aliases = node.get("signInAliases", list, ["email"], f"a non-empty list of {', '.join(SIGN_IN_ALIASES)}")
    if not aliases or any(a not in SIGN_IN_ALIASES for a in aliases) or len(set(aliases)) != len(aliases):
        raise ConfigError(
            node.at("signInAliases"),
            f"{show(aliases)} is not allowed; expected a non-empty list of distinct {', '.join(SIGN_IN_ALIASES)}",
        )
    if "preferredUsername" in aliases and "username" not in aliases:
        raise ConfigError(node.at("signInAliases"), "preferredUsername needs username in the list too")
    relaxed = {"mfa": mfa != Mfa.REQUIRED, "featurePlan": plan != FeaturePlan.PLUS}
    reasons = node.obj("reasons", tuple(RELAXED_RULES))
    acknowledgements = []
    for setting, (rule, checks) in RELAXED_RULES.items():
        if reasons.has(setting) and not relaxed[setting]:
            raise ConfigError(reasons.at(setting), f"not needed: {setting} keeps {rule} satisfied; remove it")
        if relaxed[setting]:
            why = (
                f"{setting} {show(node.value[setting])} relaxes cdk-nag {rule} ({checks}): "
                "say why in one line of 10-500 characters"
            )
            reason = reasons.required(setting, REASON_RE, "one line of 10-500 characters", why)
            acknowledgements.append((rule, reason))
    return UserPoolSettings(
        self_sign_up=node.get("selfSignUp", bool, False, "true or false"),
        mfa=Mfa(mfa),
        feature_plan=FeaturePlan(plan),
        sign_in_aliases=tuple(aliases),
        hosted_ui=_parse_hosted_ui(node.obj("hostedUi", ("domainPrefix", "callbackUrls", "logoutUrls")))
        if node.has("hostedUi")
        else None,
        acknowledgements=tuple(acknowledgements),
    )


def _parse_hosted_ui(node: Obj) -> HostedUi:
    needs = "the hosted UI needs domainPrefix and callbackUrls"
    # A missing callbackUrls is reported before a bad domainPrefix; a missing domainPrefix first of all.
    if node.has("domainPrefix") and not node.has("callbackUrls"):
        raise ConfigError(node.at("callbackUrls"), f"missing; {needs}")
    what = "1-63 lowercase letters, digits and '-', without aws/amazon/cognito"
    prefix = node.required("domainPrefix", COGNITO_DOMAIN_RE, what, needs)

    def urls(key: str, least: int) -> tuple[str, ...]:
        what = f"a list of {least}-100 https:// URLs (http://localhost allowed)"
        raw = node.get(key, list, [], what)
        if not least <= len(raw) <= 100 or not all(isinstance(u, str) and OAUTH_URL_RE.fullmatch(u) for u in raw):
            raise ConfigError(node.at(key), f"{show(raw)} is not allowed; expected {what}")
        return tuple(raw)

    return HostedUi(prefix, urls("callbackUrls", 1), urls("logoutUrls", 0))
