"""`python -m eventapi.deploy <command>` (console script `eventapi-deploy`): a thin CLI over the commands.

Every failure is one line on stderr (`error: …`) and a distinct exit code (`eventapi.exits.ExitCode`); warnings go
to stderr; tables (or `--json`) go to stdout. No API key is printed: everything written passes through the run's
`Redactor`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from eventapi.config import ACCOUNT_RE, ConfigError, load_stage
from eventapi.deploy import preflight
from eventapi.deploy.aws import redacted_logs
from eventapi.deploy.errors import DeployError, Redactor
from eventapi.deploy.failures import report_failure
from eventapi.deploy.policy import deploy_policy
from eventapi.deploy.publishing import publish, unpublish
from eventapi.deploy.renewal import renew_key
from eventapi.deploy.report import STDOUT, ExportReport, PreflightReport, Report, ShowReport
from eventapi.deploy.rotation import DEFAULT_GRACE_HOURS, finish_rotation, rotate_key
from eventapi.deploy.show_export import export, show
from eventapi.exits import ExitCode

PROG = "python -m eventapi.deploy"


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--stage", required=True, help="stage name in cdk.json (e.g. dev)")
    common.add_argument("--project-root", type=Path, default=Path(), help="folder holding cdk.json (default: .)")
    common.add_argument("--profile", help="AWS profile (default: the standard credential chain)")
    common.add_argument("--region", help="AWS region (default: the stage's region, then AWS_REGION)")
    common.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    dry = argparse.ArgumentParser(add_help=False)
    dry.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    kms = argparse.ArgumentParser(add_help=False)
    kms.add_argument("--kms-key-id", help="KMS key for the API key SecureString (default: the stage's ssm.kmsKeyId)")

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Post-deploy step for AppSync Event APIs: stack outputs "
        "and the API key to SSM Parameter Store, key renewal and rotation.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("publish", parents=[common, dry, kms], help="write endpoints, auth modes and the key to SSM")
    p.add_argument("--stack", help="stack name (default: the stage's, e.g. Social-dev)")
    p.add_argument("--outputs-file", type=Path, help="read outputs from `cdk deploy --outputs-file` JSON")
    p.add_argument("--prune", action="store_true", help="also delete parameters it tagged but no longer writes")
    sub.add_parser("show", parents=[common], help="what a client reads (the key masked)")
    p = sub.add_parser("renew-key", parents=[common, dry, kms], help="push the API key's expiry forward")
    p.add_argument("--days", type=int, help="new validity in days from now (default: the stage's expiry scheme)")
    p = sub.add_parser("rotate-key", parents=[common, dry, kms], help="create a new key; --finish deletes the old")
    p.add_argument(
        "--grace-hours",
        type=int,
        default=DEFAULT_GRACE_HOURS,
        help=f"how long the old key stays valid (default: {DEFAULT_GRACE_HOURS})",
    )
    p.add_argument("--finish", action="store_true", help="delete the key the last rotation retired")
    p.add_argument("--force", action="store_true", help="with --finish: before the grace period ends")
    p = sub.add_parser("unpublish", parents=[common, dry], help="delete the parameters this tool owns")
    p.add_argument("--prune", action="store_true", help="also delete tagged strays under the prefix")
    p = sub.add_parser("policy", parents=[common], help="print the IAM policy this tool needs for the stage")
    p.add_argument("--account", help="AWS account id (default: the stage's account, else *)")
    p = sub.add_parser("export", parents=[common], help="write a client config file (holds the key; mode 0600)")
    p.add_argument("--format", choices=("env", "json", "amplify"), default="json", help="file format (default: json)")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        help="file to write, or - for stdout (default: eventapi.env, eventapi-config.json or amplify_outputs.json)",
    )
    p = sub.add_parser(
        "preflight",
        parents=[common],
        help="before cdk deploy/diff/destroy: credentials, account, bootstrap (make runs it first)",
    )
    p.add_argument(
        "--for", dest="target", choices=preflight.TARGETS, default="deploy", help="the cdk command to check for"
    )
    return parser


def run(args: argparse.Namespace, redactor: Redactor) -> Report | dict[str, Any]:
    stage = load_stage(args.stage, args.project_root)
    if args.command == "policy":
        if args.account is not None and not ACCOUNT_RE.fullmatch(args.account):
            raise ConfigError("--account", f"{args.account!r} is not allowed; expected a 12-digit AWS account id")
        return deploy_policy(stage, region=args.region, account=args.account)
    if args.command == "preflight":  # makes its own session: it must not call AWS without credentials
        ready = preflight.check(stage, target=args.target, profile=args.profile, region=args.region)
        return PreflightReport(stage=stage.name, prefix=stage.ssm.prefix, target=args.target, ready=ready)
    session = make_session(args.profile)
    common: dict[str, Any] = {"region": args.region, "redactor": redactor}
    if args.command == "publish":
        outputs_file = args.outputs_file
        if outputs_file is not None and not outputs_file.is_absolute():
            outputs_file = args.project_root / outputs_file if not outputs_file.exists() else outputs_file
        return publish(
            session,
            stage,
            stack_name=args.stack,
            outputs_file=outputs_file,
            kms_key_id=args.kms_key_id,
            dry_run=args.dry_run,
            prune=args.prune,
            **common,
        )
    if args.command == "show":
        return show(session, stage, **common)
    if args.command == "renew-key":
        return renew_key(session, stage, days=args.days, kms_key_id=args.kms_key_id, dry_run=args.dry_run, **common)
    if args.command == "rotate-key":
        if args.finish:
            return finish_rotation(session, stage, force=args.force, dry_run=args.dry_run, **common)
        if args.force:
            raise DeployError(ExitCode.USAGE, "--force only goes with --finish")
        return rotate_key(
            session, stage, grace_hours=args.grace_hours, kms_key_id=args.kms_key_id, dry_run=args.dry_run, **common
        )
    if args.command == "unpublish":
        return unpublish(session, stage, prune=args.prune, dry_run=args.dry_run, **common)
    if args.output == Path(STDOUT):
        return export(session, stage, args.format, stream=sys.stdout, **common)
    return export(session, stage, args.format, args.output, **common)


def make_session(profile: str | None) -> Any:
    import boto3  # noqa: PLC0415 - `policy` and `--help` need no AWS SDK
    from botocore.exceptions import ProfileNotFound  # noqa: PLC0415

    try:
        # AWS_REGION first, as the AWS CLI does (botocore itself reads only AWS_DEFAULT_REGION and the profile).
        return boto3.Session(profile_name=profile, region_name=os.environ.get("AWS_REGION") or None)
    except ProfileNotFound:
        raise DeployError(
            ExitCode.UNAUTHORIZED, f"AWS profile {profile!r} not found; check --profile / AWS_PROFILE"
        ) from None


def render(result: Report | dict[str, Any], as_json: bool, out: TextIO) -> None:
    if isinstance(result, dict):  # the IAM policy
        out.write(json.dumps(result, indent=2) + "\n")
        return
    if isinstance(result, ExportReport) and result.path is None:
        return  # `export -o -`: stdout holds the file itself, nothing else
    if as_json:
        out.write(json.dumps(result.to_json(), indent=2) + "\n")
        return
    if isinstance(result, ShowReport):
        _table(out, ("PARAMETER", "TYPE", "VALUE"), [(p.name, p.type, p.value) for p in result.parameters])
        return
    if isinstance(result, PreflightReport):
        out.write(result.summary() + "\n")
        return
    if isinstance(result, ExportReport):
        out.write(f"wrote {result.path} ({result.format}, mode 0600) from {result.prefix}\n")
        return
    rows = [(c.name, c.type, c.action + (f" ({c.note})" if c.note else "")) for c in result.changes]
    _table(out, ("PARAMETER", "TYPE", "ACTION"), rows)
    counts = {
        a: sum(1 for c in result.changes if c.action == a) for a in ("created", "updated", "unchanged", "deleted")
    }
    summary = ", ".join(f"{n} {a}" for a, n in counts.items() if n) or "nothing to do"
    suffix = " (dry run: nothing changed)" if result.dry_run else ""
    out.write(f"{result.command} {result.stage} under {result.prefix}: {summary}{suffix}\n")
    for note in result.notes:
        out.write(f"note: {note}\n")


def _table(out: TextIO, head: tuple[str, str, str], rows: Sequence[tuple[str, str, str]]) -> None:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(2)]
    for row in [head, *rows]:
        out.write(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}\n")


class _Redacting:
    """A text stream that masks secrets in everything written to it."""

    def __init__(self, stream: TextIO, redactor: Redactor) -> None:
        self.stream = stream
        self.redactor = redactor

    def write(self, text: str) -> int:
        return self.stream.write(self.redactor(text))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (`ExitCode`)."""
    args = build_parser().parse_args(argv)
    redactor = Redactor()
    try:
        with redacted_logs(redactor):
            result = run(args, redactor)
        render(result, args.json, _Redacting(sys.stdout, redactor))  # type: ignore[arg-type]
    except Exception as err:  # one line, no traceback (it could quote a key)
        return report_failure(err, redactor, args.command)
    if isinstance(result, Report):
        for warning in result.warnings:
            print(redactor(warning), file=sys.stderr)
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
