"""A Cognito user pool with secure defaults and one app client, for AMAZON_COGNITO_USER_POOLS auth."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cognito as cognito
from constructs import Construct


class EventApiUserPool(Construct):
    """A new user pool (or an imported one) and the app client that web apps sign in with.

    Attributes: `user_pool`, `client` (None for an imported pool: its clients live elsewhere).
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        user_pool_id: str | None = None,
        user_pool_region: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        self.client: cognito.UserPoolClient | None = None
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
        pool = cognito.UserPool(
            self,
            "UserPool",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True, username=False),
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
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.user_pool = pool
        self.client = pool.add_client(
            "WebClient",
            generate_secret=False,  # a browser app cannot keep a secret
            disable_o_auth=True,  # sign-in is SRP from the app; no hosted UI or redirect URLs to guard
            auth_flows=cognito.AuthFlow(user_srp=True),
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            access_token_validity=Duration.hours(1),
            id_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(30),
        )
