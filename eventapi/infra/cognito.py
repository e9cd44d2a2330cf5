"""A Cognito user pool with secure defaults and one app client, for AMAZON_COGNITO_USER_POOLS auth."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from eventapi.config import FeaturePlan, HostedUi, Mfa, UserPoolSettings

_MFA = {Mfa.REQUIRED: cognito.Mfa.REQUIRED, Mfa.OPTIONAL: cognito.Mfa.OPTIONAL, Mfa.OFF: cognito.Mfa.OFF}
NAG = "AwsSolutions::"  # the cdk-nag plugin's prefix of acknowledgement ids


class EventApiUserPool(Construct):
    """A new user pool (or an imported one) and the app client that web apps sign in with.

    Attributes: `user_pool`, `client` (None for an imported pool: its clients live elsewhere), `domain` (the
    hosted UI's Cognito domain, or None).
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        user_pool_id: str | None = None,
        user_pool_region: str | None = None,
        settings: UserPoolSettings | None = None,
    ) -> None:
        super().__init__(scope, id_)
        self.client: cognito.UserPoolClient | None = None
        self.domain: cognito.UserPoolDomain | None = None
        if user_pool_id is not None:
            # Import by ARN so a pool in another region keeps its region (an id alone means the stack's region).
            arn = Stack.of(self).format_arn(
                service="cognito-idp",
                region=user_pool_region,
                resource="userpool",
                resource_name=user_pool_id,
            )
            self.user_pool: cognito.IUserPool = cognito.UserPool.from_user_pool_arn(self, "Imported", arn)
            return
        settings = settings or UserPoolSettings()
        pool = self._new_pool(settings)
        self.user_pool = pool
        hosted = settings.hosted_ui
        if hosted is not None:
            self.domain = pool.add_domain(
                "Domain", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=hosted.domain_prefix)
            )
        self.client = _web_client(pool, hosted)

    def _new_pool(self, settings: UserPoolSettings) -> cognito.UserPool:
        """The pool with the safe defaults, relaxed only where `settings` says (with the acknowledgements why)."""
        plus = settings.feature_plan is FeaturePlan.PLUS
        aliases = set(settings.sign_in_aliases)
        pool = cognito.UserPool(
            self,
            "UserPool",
            self_sign_up_enabled=settings.self_sign_up,
            sign_in_aliases=cognito.SignInAliases(
                email="email" in aliases,
                username="username" in aliases,
                preferred_username="preferredUsername" in aliases,
            ),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_digits=True,
                require_lowercase=True,
                require_uppercase=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            mfa=_MFA[settings.mfa],
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False) if settings.mfa is not Mfa.OFF else None,
            feature_plan=cognito.FeaturePlan.PLUS if plus else cognito.FeaturePlan.ESSENTIALS,
            # Threat protection is a Plus feature: on Essentials it is left out (the acknowledgement says why).
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION if plus else None,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for rule, reason in settings.acknowledgements:
            Validations.of(pool).acknowledge(Acknowledgment(id=f"{NAG}{rule}", reason=reason))
        return pool


def _web_client(pool: cognito.UserPool, hosted: HostedUi | None) -> cognito.UserPoolClient:
    """The web app's client: no secret, SRP sign-in, and the hosted UI's code flow when there is one."""
    return pool.add_client(
        "WebClient",
        generate_secret=False,  # a browser app cannot keep a secret
        # Without a hosted UI, sign-in is SRP from the app: no redirect URLs to guard. With one, the
        # authorization code flow (a browser app adds PKCE), redirecting to the configured URLs only.
        disable_o_auth=hosted is None,
        o_auth=cognito.OAuthSettings(
            flows=cognito.OAuthFlows(authorization_code_grant=True),
            scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
            callback_urls=list(hosted.callback_urls),
            logout_urls=list(hosted.logout_urls) or None,
        )
        if hosted is not None
        else None,
        supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO] if hosted else None,
        auth_flows=cognito.AuthFlow(user_srp=True),
        prevent_user_existence_errors=True,
        enable_token_revocation=True,
        access_token_validity=Duration.hours(1),
        id_token_validity=Duration.hours(1),
        refresh_token_validity=Duration.days(30),
    )
