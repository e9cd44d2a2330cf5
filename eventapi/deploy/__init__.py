"""The post-deploy step: stack outputs and the API key to SSM Parameter Store; key renewal and rotation.

    python -m eventapi.deploy publish --stage dev [--outputs-file cdk.out/outputs-dev.json] [--dry-run] [--json]

Every function takes a `boto3.Session` (no client is made at import) and a validated `StageConfig`; it returns a
`Report` and raises `DeployError` (with an `ExitCode`). Never imports aws_cdk. See docs/deploy.md.
"""

from eventapi.deploy.commands import (
    Report,
    client_config,
    export,
    finish_rotation,
    publish,
    render_export,
    renew_key,
    rotate_key,
    show,
    unpublish,
)
from eventapi.deploy.errors import DeployError, Redactor, mask_key
from eventapi.deploy.policy import deploy_policy
from eventapi.exits import ExitCode

__all__ = [
    "DeployError",
    "ExitCode",
    "Redactor",
    "Report",
    "client_config",
    "deploy_policy",
    "export",
    "finish_rotation",
    "mask_key",
    "publish",
    "render_export",
    "renew_key",
    "rotate_key",
    "show",
    "unpublish",
]
