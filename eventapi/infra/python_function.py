"""A Python Lambda function of this app (`functions/<name>/`), packaged without Docker.

Packaging: the function directory plus the Powertools for AWS Lambda distribution *as installed in this
project's environment* (pinned in requirements.txt), copied into the asset by a local bundler. Chosen over the
public Powertools layer because:
- one pin: the version the local worker, the handler test kit and the deployed function run is the same wheel
  (a layer ARN carries its own version number per region and architecture, which nothing offline can check);
- synth stays offline and Docker-free: the copy reads the installed distribution's file list (no pip, no network);
- no cross-account layer to trust or to get removed under a running stack.
The cost is ~4 MB more per function asset; the asset hash is the function's files and the pinned versions, so an
unchanged function is not uploaded again.

Logs are structured (Lambda's JSON log format, which Powertools' Logger also writes), into a log group with the
stage's retention; the role may write to that group and nothing else.
"""

from __future__ import annotations

import hashlib
import shutil
from importlib import metadata
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, Duration, ILocalBundling, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from eventapi.config import FUNCTION_ENTRY
from eventapi.outputs import SOURCE_METADATA

# Distributions copied into every function asset: Powertools and what it needs beyond the Lambda runtime.
BUNDLED_DISTRIBUTIONS = ("aws-lambda-powertools", "jmespath", "typing-extensions")
RUNTIME = lambda_.Runtime.PYTHON_3_14  # the newest the pinned aws-cdk-lib knows (cdk-nag AwsSolutions-L1)
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", ".pytest_cache")


def _dist_files(name: str) -> list[tuple[Path, str]]:
    dist = metadata.distribution(name)
    out = []
    for file in dist.files or ():
        rel = str(file)
        if rel.startswith("..") or "__pycache__" in rel or rel.endswith(".pyc"):
            continue
        out.append((Path(str(dist.locate_file(file))), rel))
    return out


def asset_hash(source: Path) -> str:
    """The function's files and the bundled distributions' versions: what decides the asset's content."""
    digest = hashlib.sha256()
    for name in BUNDLED_DISTRIBUTIONS:
        digest.update(f"{name}=={metadata.version(name)}\n".encode())
    for file in sorted(p for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(file.relative_to(source)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


@jsii.implements(ILocalBundling)
class _CopyBundler:
    """Copies the function directory and the bundled distributions into the asset (never returns False, so CDK
    never falls back to Docker)."""

    def __init__(self, source: Path) -> None:
        self.source = source

    def try_bundle(self, output_dir: str, _options: Any = None, **_kwargs: Any) -> bool:
        out = Path(output_dir)
        shutil.copytree(self.source, out, ignore=_SKIP, dirs_exist_ok=True)
        for name in BUNDLED_DISTRIBUTIONS:
            for src, rel in _dist_files(name):
                dest = out / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest)
        return True


class PythonFunction(Construct):
    """Attributes: `function`, `log_group`, `role`."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        source: Path,
        source_label: str,
        timeout_seconds: int,
        memory_mb: int,
        log_retention_days: int,
        service_name: str,
    ) -> None:
        super().__init__(scope, id_)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Runs the {service_name} function; writes its own log group only",
        )
        self.log_group = logs.LogGroup(self, "Logs", removal_policy=RemovalPolicy.DESTROY)
        cfn_log_group = self.log_group.node.default_child
        assert isinstance(cfn_log_group, logs.CfnLogGroup)
        cfn_log_group.retention_in_days = log_retention_days  # the L2 wants an enum; config validated the days
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            handler=FUNCTION_ENTRY,
            code=lambda_.Code.from_asset(
                str(source),
                asset_hash=asset_hash(source),
                asset_hash_type=AssetHashType.CUSTOM,
                bundling=BundlingOptions(
                    image=DockerImage.from_registry("local-bundling-only"), local=_CopyBundler(source)
                ),
            ),
            role=self.role,
            timeout=Duration.seconds(timeout_seconds),
            memory_size=memory_mb,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            environment={"POWERTOOLS_SERVICE_NAME": service_name},
            description=f"{service_name} ({source_label}), managed by eventapi",
        )
        cfn_function = self.function.node.default_child
        assert isinstance(cfn_function, lambda_.CfnFunction)
        cfn_function.add_metadata(SOURCE_METADATA, source_label)
        # The L2 also makes the function depend on the role, which its `Role: GetAtt` already implies (cfn-lint
        # W3005); keep only the wait for the log policy, so the first invocation can write its logs.
        policy = self.role.node.find_child("DefaultPolicy").node.default_child
        assert isinstance(policy, iam.CfnPolicy)
        cfn_function.add_override("DependsOn", [Stack.of(self).get_logical_id(policy)])
