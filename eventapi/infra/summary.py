"""A short human summary of what `cdk synth` wrote: stacks, namespaces, auth modes per operation, key expiry.

Reads the synthesized templates (not the config), so it shows what will actually be deployed.

    python -m eventapi.infra.summary [cdk.out]
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eventapi.exits import ExitCode, unexpected_line
from eventapi.protocol.auth import mask_credentials


def _modes(entries: list[dict[str, Any]] | None) -> str:
    return ", ".join(entry["AuthType"] for entry in entries or []) or "-"


def summarize_template(stack: str, template: dict[str, Any]) -> list[str]:
    resources = template.get("Resources", {}).values()
    by_type: dict[str, list[dict[str, Any]]] = {}
    for resource in resources:
        by_type.setdefault(resource["Type"], []).append(resource.get("Properties", {}))
    lines = []
    for api in by_type.get("AWS::AppSync::Api", []):
        config = api.get("EventConfig", {})
        lines.append(f"{stack}: Event API '{api.get('Name')}'")
        lines.append(f"  auth providers : {_modes(config.get('AuthProviders'))}")
        lines.append(f"  connect        : {_modes(config.get('ConnectionAuthModes'))}")
        lines.append(f"  publish        : {_modes(config.get('DefaultPublishAuthModes'))}  (default)")
        lines.append(f"  subscribe      : {_modes(config.get('DefaultSubscribeAuthModes'))}  (default)")
        log = config.get("LogConfig")
        groups = by_type.get("AWS::Logs::LogGroup", [])
        retention = groups[0].get("RetentionInDays") if groups else None
        lines.append(f"  logging        : {log['LogLevel'] if log else 'off'}, kept {retention or '-'} days")
    for ns in by_type.get("AWS::AppSync::ChannelNamespace", []):
        publish = _modes(ns.get("PublishAuthModes")) if ns.get("PublishAuthModes") else "default"
        subscribe = _modes(ns.get("SubscribeAuthModes")) if ns.get("SubscribeAuthModes") else "default"
        handler = "  handler: yes" if ns.get("CodeHandlers") else ""
        lines.append(f"  namespace /{ns['Name']:<12} publish: {publish}; subscribe: {subscribe}{handler}")
    for key in by_type.get("AWS::AppSync::ApiKey", []):
        expires = datetime.fromtimestamp(key["Expires"], UTC).strftime("%Y-%m-%d %H:%M UTC")
        lines.append(f"  API key        : expires {expires} (value never in the template; see docs/deploy.md)")
    if by_type.get("AWS::Cognito::UserPool"):
        lines.append("  Cognito        : new user pool + web app client")
    alarms = by_type.get("AWS::CloudWatch::Alarm", [])
    if alarms:
        notified = sum(1 for alarm in alarms if alarm.get("AlarmActions"))
        dashboards = len(by_type.get("AWS::CloudWatch::Dashboard", []))
        lines.append(f"  monitoring     : {len(alarms)} alarms ({notified} notify), {dashboards} dashboard(s)")
    for acl in by_type.get("AWS::WAFv2::WebACL", []):
        lines.append(
            f"  WAF            : web ACL {acl.get('Name')} ({', '.join(r['Name'] for r in acl.get('Rules', []))})"
        )
    if by_type.get("AWS::WAFv2::WebACLAssociation") and not by_type.get("AWS::WAFv2::WebACL"):
        lines.append("  WAF            : an existing web ACL")
    for domain in by_type.get("AWS::AppSync::DomainName", []):
        lines.append(
            f"  custom domain  : https://{domain.get('DomainName')}/event, wss://{domain.get('DomainName')}/event/realtime"
        )
    if not lines:  # not an Event API stack (the CI stack): say what it is
        lines.append(f"{stack}: {template.get('Description', 'no description')}")
    roles = [name for name in template.get("Outputs", {}) if name.endswith("RoleArn")]
    if roles:
        lines.append(f"  IAM roles      : {', '.join(roles)}")
    return lines


def summarize(outdir: Path) -> list[str]:
    manifest = json.loads((outdir / "manifest.json").read_text(encoding="utf-8"))
    lines = []
    for name, artifact in sorted(manifest["artifacts"].items()):
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        template_file = outdir / artifact["properties"]["templateFile"]
        lines += summarize_template(name, json.loads(template_file.read_text(encoding="utf-8")))
        lines.append(f"  template       : {template_file}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Exit codes (`eventapi.exits`): 0 printed, 14 no cloud assembly in the folder, 1 anything unexpected."""
    args = sys.argv[1:] if argv is None else argv
    outdir = Path(args[0] if args else "cdk.out")
    if not (outdir / "manifest.json").is_file():
        print(f"error: no synthesized app in {outdir}; run `make synth` first", file=sys.stderr)
        return ExitCode.FILE
    try:
        lines = summarize(outdir)
    except Exception as err:  # one line, no traceback
        print(unexpected_line("error: summary", err, mask_credentials), file=sys.stderr)
        return ExitCode.UNEXPECTED
    print("\n".join(lines))
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
