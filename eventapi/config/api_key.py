"""The API key's lifetime: its expiry as a function of the synth date, how long an assembly stays deployable,
and the stage as the scheduled renewer reads it.

The stack's key expires at a date computed from the calendar date alone, so every synth within a period gives the
same template and every deploy moves the expiry forward; see the README (Operating the API key).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from eventapi.config.fields import CONTEXT_KEY, ConfigError
from eventapi.config.model import StageConfig

LONG_KEY_DAYS = 62  # from here on, a key expires on the first of a month (api_key_expiry)
DEPLOY_MARGIN = timedelta(hours=1)  # between `cdk deploy` starting and CloudFormation creating the key
DEPLOYABLE_WARN_DAYS = 7  # synth warns when an assembly's key would expire for AppSync sooner than this


def api_key_expiry(valid_days: int, today: date) -> datetime:
    """When the stage's API key expires, as a function of the calendar date only.

    Keys valid 62 days or more expire at 00:00 UTC on the first day of the month `valid_days // 31` months
    ahead (at most 11): every synth within one calendar month gives the same template, and a deploy in a later
    month moves the expiry forward. Shorter keys expire at 00:00 UTC `valid_days + 2` days after today: the same
    all day, and more than `valid_days + 1` days after any instant of today, so even a one-day key synthesized a
    minute before midnight keeps AppSync's one-day minimum when CloudFormation creates it.
    """
    if valid_days >= LONG_KEY_DAYS:
        months = min(valid_days // 31, 11)
        year, month = divmod(today.month - 1 + months, 12)
        return datetime(today.year + year, month + 1, 1, tzinfo=UTC)
    start = datetime(today.year, today.month, today.day, tzinfo=UTC)
    return start + timedelta(days=valid_days + 2)


def api_key_deployable_days(valid_days: int) -> int:
    """Whole days after synth during which an assembly's key expiry is still accepted, whatever the synth instant.

    AppSync refuses a key with a day or less left; `DEPLOY_MARGIN` more covers the time CloudFormation takes to
    reach the key. The worst synth instant is the last moment of a day (short keys) or of a month (long keys).
    """
    if valid_days < LONG_KEY_DAYS:
        closest = timedelta(days=valid_days + 1)
    else:
        # From the last moment of a month, the expiry is `months - 1` whole months away: the shortest such run
        # over a leap-year cycle (2000 is a leap year).
        months = min(valid_days // 31, 11)
        firsts = [date(2000 + m // 12, m % 12 + 1, 1) for m in range(48 + months)]
        closest = timedelta(days=min((firsts[m + months - 1] - firsts[m]).days for m in range(1, 49)))
    return (closest - timedelta(days=1) - DEPLOY_MARGIN).days


def renewal_context(stage: StageConfig) -> dict[str, Any]:
    """The stage reduced to what key renewal reads, spelled as cdk.json spells it: the scheduled renewer gets this
    (no cdk.json, no handlers in a Lambda) and reads it back with `parse_config`, the one parser."""
    key = stage.auth.api_key
    if key is None:
        raise ConfigError(f"{CONTEXT_KEY}.stages.{stage.name}.auth.providers.apiKey", "missing; nothing to renew")
    raw: dict[str, Any] = {
        "auth": {
            "providers": {
                "apiKey": {"validDays": key.valid_days, "description": key.description, "generation": key.generation}
            }
        },
        "namespaces": {"default": {}},
        "ssm": {"prefix": stage.ssm.prefix, "kmsKeyId": stage.ssm.kms_key_id},
        "tags": dict(stage.tags),
    }
    raw.update({k: v for k, v in (("account", stage.account), ("region", stage.region)) if v})
    return {"app": stage.app, "stages": {stage.name: raw}}
