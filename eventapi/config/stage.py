"""One stage of `stages`: its account and region, then each section (auth, logging, tags, SSM, data sources,
namespaces, production settings) parsed by the module that owns it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from eventapi.config.auth import AUTH_SETTINGS, parse_auth
from eventapi.config.data_sources import parse_data_sources
from eventapi.config.fields import CONTEXT_KEY, ConfigError, Obj, did_you_mean, show
from eventapi.config.model import (
    DEFAULT_SSM_KMS_KEY,
    DomainConfig,
    LoggingConfig,
    SsmConfig,
    StageConfig,
    is_production,
)
from eventapi.config.namespaces import parse_namespaces
from eventapi.config.production import (
    CERTIFICATE_REGION,
    DOMAIN_SETTINGS,
    MONITORING_SETTINGS,
    PRODUCTION_SETTINGS,
    WAF_SETTINGS,
    parse_domain,
    parse_monitoring,
    parse_rules,
    parse_waf,
)

STAGE_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
REGION_RE = re.compile(
    r"^[a-z]{2}(-gov|-iso[a-z]?)?-(central|north|south|east|west|northeast|northwest|southeast|southwest)-[1-9]$"
)
ACCOUNT_RE = re.compile(r"^\d{12}$")
SSM_PREFIX_RE = re.compile(r"^(/[A-Za-z0-9_.-]+){1,14}$")
TAG_KEY_RE = re.compile(r"^[\w .:/=+@-]{1,128}$")
LOG_LEVELS = ("NONE", "ERROR", "INFO", "DEBUG", "ALL")
# CloudWatch Logs retention values (days) that CloudFormation accepts.
RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


STAGE_SETTINGS = (
    "account",
    "region",
    "auth",
    "namespaces",
    "logging",
    "ssm",
    "tags",
    "dataSources",
    *PRODUCTION_SETTINGS,
)
LOGGING_SETTINGS = ("level", "retentionDays", "retain")
SSM_SETTINGS = ("prefix", "kmsKeyId")


def parse_stage(app: str, name: str, raw: Any, root: Path) -> StageConfig:
    """One stage of `stages`, section by section; `root` is where `handlers/` and `functions/` live.

    The order of the steps is the order in which a stage's errors are found: the first one is reported."""
    path = f"{CONTEXT_KEY}.stages.{name}"
    node = _stage_node(path, name, raw)
    account = node.string("account", None, ACCOUNT_RE, "a 12-digit AWS account id")
    region = node.string("region", None, REGION_RE, "an AWS region name like 'eu-west-1'")
    auth = parse_auth(node.obj("auth", AUTH_SETTINGS), region)
    log = node.obj("logging", LOGGING_SETTINGS)
    level, retention = _log_level(log), _retention_days(log)
    tags = _parse_tags(path, node.get("tags", dict, {}, "an object of tag name -> string value"))
    # Production stages keep their logs by default (is_production reads the tags).
    logging = LoggingConfig(level, retention, log.get("retain", bool, is_production(name, tags), "true or false"))
    ssm = _parse_ssm(node.obj("ssm", SSM_SETTINGS), app, name)
    sources = parse_data_sources(node, app, name, root)
    domain = _domain(node, region)
    return StageConfig(
        app=app,
        name=name,
        account=account,
        region=region,
        auth=auth,
        namespaces=parse_namespaces(node, auth, root, sources),
        logging=logging,
        ssm=ssm,
        tags=tuple(sorted(tags.items())),
        data_sources=sources,
        monitoring=parse_monitoring(node.obj("monitoring", MONITORING_SETTINGS)) if node.has("monitoring") else None,
        domain=domain,
        waf=parse_waf(node.obj("waf", WAF_SETTINGS), region) if node.has("waf") else None,
        rules=parse_rules(node.obj("rules", ("acknowledge",))),
    )


def _stage_node(path: str, name: str, raw: Any) -> Obj:
    """The stage's object, once its name is valid and it holds at least one setting."""
    if not STAGE_NAME_RE.fullmatch(name):
        raise ConfigError(
            path,
            f"{name!r} is not a valid stage name; expected 1-20 lowercase letters, digits and "
            "'-', starting with a letter",
        )
    node = Obj(path, raw, STAGE_SETTINGS)
    if not node.value:
        raise ConfigError(
            path, 'the stage is empty; give at least its namespaces, e.g. {"namespaces": {"default": {}}}'
        )
    return node


def _log_level(log: Obj) -> str:
    level = log.get("level", str, "ERROR", f"one of {', '.join(LOG_LEVELS)}")
    if level not in LOG_LEVELS:
        raise ConfigError(
            log.at("level"),
            f"{show(level)} is not allowed; expected one of {', '.join(LOG_LEVELS)}{did_you_mean(level, LOG_LEVELS)}",
        )
    return level


def _retention_days(log: Obj) -> int:
    retention = log.get("retentionDays", int, 30, "a number of days")
    if retention not in RETENTION_DAYS:
        raise ConfigError(
            log.at("retentionDays"),
            f"{show(retention)} is not allowed; expected one of {', '.join(map(str, RETENTION_DAYS))}",
        )
    return retention


def _parse_tags(path: str, tags: dict[str, Any]) -> dict[str, str]:
    for key, value in tags.items():
        if not TAG_KEY_RE.fullmatch(key) or key.lower().startswith("aws:"):
            raise ConfigError(f"{path}.tags.{key}", "is not a valid tag name; 1-128 characters, not starting 'aws:'")
        if not isinstance(value, str) or len(value) > 256:
            raise ConfigError(
                f"{path}.tags.{key}", f"{show(value)} is not allowed; expected a string of at most 256 characters"
            )
    return tags


def _parse_ssm(ssm: Obj, app: str, name: str) -> SsmConfig:
    """Where the post-deploy step writes the stage's parameters (default `/<app>/<stage>/events`), and their key."""
    prefix = ssm.string(
        "prefix",
        f"/{app}/{name}/events",
        SSM_PREFIX_RE,
        "an SSM path like '/social/prod/events': '/'-separated segments of letters, digits, '_', "
        "'.', '-', at most 14 levels, no trailing '/'",
    )
    if prefix.lower().split("/")[1].startswith(("aws", "ssm")):
        raise ConfigError(
            ssm.at("prefix"), f"{prefix!r} is not allowed; names starting with 'aws' or 'ssm' are reserved by AWS"
        )
    kms = ssm.string(
        "kmsKeyId",
        DEFAULT_SSM_KMS_KEY,
        re.compile(r"^(alias/[\w/.-]+|[0-9a-f-]{36}|arn:aws[a-z-]*:kms:\S+)$"),
        "a KMS key id, key ARN or alias like 'alias/aws/ssm'",
    )
    return SsmConfig(prefix=prefix, kms_key_id=kms)


def _domain(node: Obj, region: str | None) -> DomainConfig | None:
    """The stage's custom domain, if any; a certificate the stack makes needs the stage's region."""
    if not node.has("domain"):
        return None
    domain = parse_domain(node.obj("domain", DOMAIN_SETTINGS))
    if domain.certificate_arn is None and region is None:
        raise ConfigError(
            node.at("domain.hostedZone"),
            f"making the certificate in {CERTIFICATE_REGION} needs the stage's region (cross-region reference): "
            "set region, or give certificateArn",
        )
    return domain
