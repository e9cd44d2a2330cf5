"""The least-privilege IAM policy `eventapi.deploy` needs for one stage (printed by `policy --stage S`)."""

from __future__ import annotations

from typing import Any

from eventapi.config import DEFAULT_SSM_KMS_KEY, StageConfig
from eventapi.contract import SsmParam


def deploy_policy(stage: StageConfig, *, region: str | None = None, account: str | None = None) -> dict[str, Any]:
    """An IAM policy document for publish, show, export, renew-key, rotate-key and unpublish of `stage`.

    AppSync's API key actions support no resource-level permissions (the Service Authorization Reference lists
    no resource type for them), so they take `"*"`. SSM is limited to the stage's prefix; KMS, for a customer
    managed key, to use through SSM for parameters under that prefix. The AWS managed key `alias/aws/ssm` needs no
    IAM statement (its key policy allows use through SSM within the account).
    """
    region = region or stage.region or "*"
    account = account or stage.account or "*"
    prefix = stage.ssm.prefix.rstrip("/")
    param_arn = f"arn:aws:ssm:{region}:{account}:parameter{prefix}"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ReadStackOutputs",
            "Effect": "Allow",
            "Action": ["cloudformation:DescribeStacks"],
            "Resource": f"arn:aws:cloudformation:{region}:{account}:stack/{stage.stack_name}/*",
        },
        {
            "Sid": "ManageApiKeys",
            "Effect": "Allow",
            "Action": ["appsync:ListApiKeys", "appsync:CreateApiKey", "appsync:UpdateApiKey", "appsync:DeleteApiKey"],
            "Resource": "*",
        },
        {
            "Sid": "ReadParameterPath",
            "Effect": "Allow",
            "Action": ["ssm:GetParametersByPath"],
            "Resource": [param_arn, f"{param_arn}/*"],
        },
        {
            "Sid": "ManageParameters",
            "Effect": "Allow",
            "Action": [
                "ssm:PutParameter",
                "ssm:DeleteParameters",
                "ssm:AddTagsToResource",
                "ssm:ListTagsForResource",
            ],
            "Resource": f"{param_arn}/*",
        },
    ]
    kms = kms_statement(
        stage.ssm.kms_key_id,
        region=region,
        account=account,
        parameters=f"{param_arn}/*",
        actions=("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"),
    )
    if kms is not None:
        statements.append({"Sid": "EncryptTheApiKey", **kms})
    return {"Version": "2012-10-17", "Statement": statements}


def smoke_policy(stage: StageConfig, *, region: str | None = None, account: str | None = None) -> dict[str, Any]:
    """What `python -m eventapi.client smoke --stage S` needs beyond `deploy_policy`: read the client config and
    the key (as every client does, one `GetParameters`), and connect, publish and subscribe with IAM.

    The Event API id is assigned at deploy time, so the data-plane actions name the account's APIs (`apis/*`);
    a smoke test publishes only to `<namespace>/smoke/...` channels of the stage it checks.
    """
    region = region or stage.region or "*"
    account = account or stage.account or "*"
    param_arn = f"arn:aws:ssm:{region}:{account}:parameter{stage.ssm.prefix.rstrip('/')}"
    api_arn = f"arn:aws:appsync:{region}:{account}:apis/*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadClientConfig",
                "Effect": "Allow",
                "Action": ["ssm:GetParameters"],
                "Resource": [f"{param_arn}/{SsmParam.CONFIG.value}", f"{param_arn}/{SsmParam.API_KEY.value}"],
            },
            {
                "Sid": "SmokeTestWithIam",
                "Effect": "Allow",
                "Action": ["appsync:EventConnect", "appsync:EventPublish", "appsync:EventSubscribe"],
                "Resource": [api_arn, f"{api_arn}/channelNamespace/*"],
            },
        ],
    }


def kms_statement(
    kms_key: str, *, region: str, account: str, parameters: str, actions: tuple[str, ...]
) -> dict[str, Any] | None:
    """The statement that lets SSM use a customer managed key for `parameters` (an ARN pattern) on the caller's
    behalf; None for the AWS managed key, whose key policy already allows use through SSM within the account."""
    if kms_key == DEFAULT_SSM_KMS_KEY:
        return None
    key_resource = (
        kms_key
        if kms_key.startswith("arn:")
        else "*"
        if kms_key.startswith("alias/")
        else f"arn:aws:kms:{region}:{account}:key/{kms_key}"
    )
    condition: dict[str, Any] = {
        "StringEquals": {"kms:ViaService": f"ssm.{region}.amazonaws.com"},
        "StringLike": {"kms:EncryptionContext:PARAMETER_ARN": parameters},
    }
    if kms_key.startswith("alias/"):
        condition["ForAnyValue:StringEquals"] = {"kms:ResourceAliases": kms_key}
    return {"Effect": "Allow", "Action": list(actions), "Resource": key_resource, "Condition": condition}
