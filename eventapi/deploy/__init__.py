"""The post-deploy step: stack outputs and the API key to SSM Parameter Store; key renewal and rotation.

    python -m eventapi.deploy publish --stage dev [--outputs-file cdk.out/outputs-dev.json] [--dry-run] [--json]

Every command takes a `boto3.Session` (no client is made at import, and no AWS SDK is imported: `policy` and
`--help` need none) and a validated `StageConfig`; it returns its own `Report` type and raises `DeployError`
(with an `ExitCode`). One module per job: `publishing` (publish, unpublish), `renewal` and `rotation` (the API
key), `show_export` (what clients read). Never imports aws_cdk or the client. See docs/deploy.md.
"""

from eventapi.deploy.errors import DeployError, Redactor, mask_key
from eventapi.deploy.policy import deploy_policy
from eventapi.deploy.published import client_config
from eventapi.deploy.publishing import publish, unpublish
from eventapi.deploy.renewal import renew_key
from eventapi.deploy.report import Report
from eventapi.deploy.rotation import finish_rotation, rotate_key
from eventapi.deploy.show_export import export, render_export, show
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
