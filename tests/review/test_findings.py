"""One test per finding of the review, each on a pair of templates synthesized from config variations."""

from __future__ import annotations

import copy
import json
from typing import Any

from eventapi.review import Finding, Severity, review_stack

REGION = "eu-west-1"


def findings(variants: dict[str, dict[str, Any]], old: str, new: str) -> dict[str, Finding]:
    return {f.id: f for f in review_stack("Social", REGION, variants[old], variants[new])}


def test_same_template_has_no_finding(variants: dict[str, dict[str, Any]]) -> None:
    """A template reviewed against itself yields nothing."""
    assert findings(variants, "base", "base") == {}


def test_namespace_rename_replaces_it_and_breaks_subscribers(variants: dict[str, dict[str, Any]]) -> None:
    """Renaming a namespace: its logical id changes, so it is replaced; dangerous, naming old and new paths."""
    found = findings(variants, "base", "rename")
    (replaced,) = [f for f in found.values() if f.id.startswith("Social:replace:EventApiNscomments")]
    assert replaced.severity is Severity.DANGER
    assert "namespace /comments is renamed /chat: subscribers of /comments are cut off" in replaced.summary
    assert found["Social:namespace:+/chat"].severity is Severity.INFO


def test_create_only_property_change_replaces_the_namespace(variants: dict[str, dict[str, Any]]) -> None:
    """A Name change under the same logical id is a replacement decided by the schema's createOnlyProperties."""
    new = copy.deepcopy(variants["base"])
    new["Resources"]["EventApiNscomments17C9BF4B"]["Properties"]["Name"] = "chat"
    found = {f.id: f for f in review_stack("Social", REGION, variants["base"], new)}
    replaced = found["Social:replace:EventApiNscomments17C9BF4B"]
    assert replaced.severity is Severity.DANGER
    assert replaced.summary.startswith(
        "`EventApiNscomments17C9BF4B` (AWS::AppSync::ChannelNamespace) is replaced (Name comments -> chat)"
    )


def test_event_api_replaced_means_new_endpoints(variants: dict[str, dict[str, Any]]) -> None:
    """The Event API under a new logical id (a construct refactor): dangerous, every client must re-read SSM."""
    new = json.loads(json.dumps(variants["base"]).replace("EventApiC062CAD3", "EventApiRefactored"))
    found = {f.id: f for f in review_stack("Social", REGION, variants["base"], new)}
    replaced = found["Social:replace:EventApiC062CAD3"]
    assert replaced.severity is Severity.DANGER
    assert "new endpoints" in replaced.summary and "every client must re-read its config from SSM" in replaced.summary


def test_new_key_generation_makes_a_new_key(variants: dict[str, dict[str, Any]]) -> None:
    """apiKey.generation bumped: the key is replaced; a warning that says to publish (and rotate) it."""
    found = findings(variants, "base", "keygen")
    replaced = found["Social:replace:EventApiKeyGen1"]
    assert replaced.severity is Severity.WARN
    assert "`EventApiKeyGen1` -> `EventApiKeyGen2`" in replaced.summary
    assert "run `eventapi.deploy publish`" in replaced.summary and "rotate-key" in replaced.summary
    assert not [f for f in found.values() if f.severity is Severity.DANGER]


def test_api_key_added_to_publish_is_broadening(variants: dict[str, dict[str, Any]]) -> None:
    """API_KEY added to publish: a dangerous finding per namespace that inherits the default."""
    found = findings(variants, "base", "broaden")
    for ns in ("default", "comments"):
        finding = found[f"Social:auth:/{ns}:publish:+API_KEY"]
        assert finding.severity is Severity.DANGER
        assert finding.summary == f"auth broadened: API_KEY may now publish on /{ns} (was AWS_IAM)"


def test_mode_removed_is_a_warning(variants: dict[str, dict[str, Any]]) -> None:
    """API_KEY removed from subscribe: clients using it are refused (a warning, not a block)."""
    found = findings(variants, "base", "narrow")
    finding = found["Social:auth:/default:subscribe:-API_KEY"]
    assert finding.severity is Severity.WARN
    assert finding.summary == "API_KEY may no longer subscribe on /default: clients using it are refused (now AWS_IAM)"


def test_new_provider_is_broadening(variants: dict[str, dict[str, Any]]) -> None:
    """A new OIDC provider, allowed to connect: both dangerous."""
    found = findings(variants, "base", "oidc")
    provider = found["Social:auth-provider:+OPENID_CONNECT"]
    assert provider.severity is Severity.DANGER and "https://issuer.example.com" in provider.summary
    assert found["Social:auth:connect:+OPENID_CONNECT"].severity is Severity.DANGER


def test_namespace_losing_its_handler_is_broadening(variants: dict[str, dict[str, Any]]) -> None:
    """A namespace that loses its handler: dangerous, with the removed code shown."""
    found = findings(variants, "base", "nohandler")
    finding = found["Social:handler:/comments"]
    assert finding.severity is Severity.DANGER
    assert "loses its handler" in finding.summary
    assert finding.detail.startswith("```diff\n--- old\n+++ new\n") and "-var onPublish = {" in finding.detail


def test_handler_code_diff(variants: dict[str, dict[str, Any]]) -> None:
    """Changed handler code: a warning with a unified diff of the code."""
    new = copy.deepcopy(variants["base"])
    props = new["Resources"]["EventApiNscomments17C9BF4B"]["Properties"]
    props["CodeHandlers"] = props["CodeHandlers"].replace("var onPublish = {", "var onPublish  = {")
    finding = {f.id: f for f in review_stack("Social", REGION, variants["base"], new)}["Social:handler:/comments"]
    assert finding.severity is Severity.WARN
    assert "\n-var onPublish = {" in finding.detail and "\n+var onPublish  = {" in finding.detail


def test_log_level_and_retention(variants: dict[str, dict[str, Any]]) -> None:
    """ERROR -> ALL logs payloads (a warning); 14 -> 7 days deletes older logs (a warning)."""
    found = findings(variants, "base", "logs")
    level = found["Social:log-level"]
    assert (level.severity, level.summary) == (
        Severity.WARN,
        "log level ERROR -> ALL: event payloads and handler details go to CloudWatch Logs",
    )
    (retention,) = [f for f in found.values() if f.id.startswith("Social:log-retention:")]
    assert (retention.severity, retention.summary) == (
        Severity.WARN,
        "log retention 14 -> 7 days: older logs are deleted",
    )


def test_iam_grants_and_trust(variants: dict[str, dict[str, Any]]) -> None:
    """A publisher principal and a new IAM namespace: the publisher's trust and its grants change."""
    found = findings(variants, "base", "iam")
    trust = found["Social:trust:RolesPublisherCEA108E1"]
    assert trust.severity is Severity.WARN
    assert '- added: `Allow sts:AssumeRole by {"AWS":"arn:aws:iam::123456789012:role/backend"}`' in trust.detail
    grants = found["Social:iam:RolesPublisherCEA108E1"]
    assert grants.severity is Severity.WARN and "channelNamespace/alerts" in grants.detail
    assert found["Social:namespace:+/alerts"].severity is Severity.INFO


def test_key_expiry_move_is_a_note(variants: dict[str, dict[str, Any]]) -> None:
    """A different key expiry is renewed in place: a note with both dates."""
    found = findings(variants, "base", "shortkey")
    finding = found["Social:key-expiry:EventApiKeyGen1"]
    assert finding.severity is Severity.INFO
    assert finding.summary == "the API key's expiry moves 2027-10-01 -> 2026-12-17 (the deploy renews the key in place)"


def test_namespace_removed_is_dangerous(variants: dict[str, dict[str, Any]]) -> None:
    """A namespace deleted (and nothing of its type added): dangerous, its subscribers are cut off."""
    found = findings(variants, "iam", "base")
    (removed,) = [f for f in found.values() if f.id.startswith("Social:remove:EventApiNsalerts")]
    assert removed.severity is Severity.DANGER
    assert "namespace /alerts is deleted" in removed.summary
