"""The SSM parameters this tool owns: read (SecureStrings masked), plan, write (KMS key on SecureStrings only),
tag, delete in batches, and ownership by tag; against moto, and stubbed answers for failures."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from eventapi.contract import SsmParam
from eventapi.deploy import DeployError, publish, unpublish
from eventapi.deploy.aws import Aws
from eventapi.deploy.params import (
    Change,
    Param,
    apply,
    delete_params,
    layout_names,
    owned,
    plan,
    read_params,
    tags_for,
)
from tests.deploy.conftest import REGION, Deployed, StubbedSession, ssm_values, tags_of

pytestmark = pytest.mark.clock

PREFIX = "/social/dev/events"
OWNER = {"Key": "eventapi:managed-by", "Value": "eventapi-deploy"}


def put(session: Any, name: str, value: str, kind: str = "String", tags: list[dict[str, str]] | None = None) -> None:
    extra = {"Tags": tags} if tags else {}
    session.client("ssm").put_parameter(Name=name, Value=value, Type=kind, **extra)


def sent_calls(session: Any, operation: str) -> list[dict[str, Any]]:
    """The parameters of every `operation` call made by clients `session` makes from now on."""
    sent: list[dict[str, Any]] = []
    session.events.register(f"provide-client-params.ssm.{operation}", lambda params, **_: sent.append(dict(params)))
    return sent


def test_layout_names_every_parameter_under_the_prefix() -> None:
    """The layout is one name per SsmParam under the prefix (a trailing '/' ignored)."""
    names = layout_names(PREFIX + "/")
    assert names[f"{PREFIX}/api-key"] is SsmParam.API_KEY
    assert set(names.values()) == set(SsmParam)


def test_read_params_reads_the_prefix_and_optionally_below(session: Any) -> None:
    """Parameters directly under the prefix; with recursive, those deeper too; a trailing '/' changes nothing."""
    put(session, f"{PREFIX}/region", "eu-west-1")
    put(session, f"{PREFIX}/v0/endpoint", "old")
    aws = Aws(session)

    flat = read_params(aws, PREFIX + "/")
    deep = read_params(aws, PREFIX, recursive=True)

    assert flat == {f"{PREFIX}/region": Param(f"{PREFIX}/region", "String", "eu-west-1")}
    assert set(deep) == {f"{PREFIX}/region", f"{PREFIX}/v0/endpoint"}
    assert "eu-west-1" not in repr(flat[f"{PREFIX}/region"])


def test_security_secure_string_values_read_back_are_masked(session: Any) -> None:
    """Security check: a SecureString value read back decrypted is registered with the redactor, so no message or
    log can show it; plain String values are not secrets; undecrypted reads register nothing."""
    put(session, f"{PREFIX}/api-key", "s3cret-value-0042", "SecureString")
    put(session, f"{PREFIX}/region", "eu-west-1")
    aws = Aws(session)

    params = read_params(aws, PREFIX)

    assert params[f"{PREFIX}/api-key"] == Param(f"{PREFIX}/api-key", "SecureString", "s3cret-value-0042")
    assert aws.redact.secrets == {"s3cret-value-0042"}
    assert "s3cret-value-0042" not in aws.redact("failed near s3cret-value-0042 in eu-west-1")
    plain = Aws(session)
    read_params(plain, PREFIX, decrypt=False)
    assert plain.redact.secrets == frozenset()


def test_plan_compares_type_and_value() -> None:
    """created / updated (value or type differs) / unchanged; a name to delete only when stored and not wanted."""
    current = {
        "/p/a": Param("/p/a", "String", "1"),
        "/p/b": Param("/p/b", "String", "2"),
        "/p/c": Param("/p/c", "String", "3"),
        "/p/old": Param("/p/old", "SecureString", "x"),
    }
    desired = [
        Param("/p/a", "String", "1"),
        Param("/p/b", "String", "changed"),
        Param("/p/c", "SecureString", "3"),
        Param("/p/new", "String", "n"),
    ]
    changes = plan(desired, current, delete=["/p/old", "/p/a", "/p/absent"])
    assert [(c.name, c.type, c.action) for c in changes] == [
        ("/p/a", "String", "unchanged"),
        ("/p/b", "String", "updated"),
        ("/p/c", "SecureString", "updated"),
        ("/p/new", "String", "created"),
        ("/p/old", "SecureString", "deleted"),
    ]


def test_change_json_names_its_note_only_when_there_is_one() -> None:
    assert Change("/p/a", "String", "kept", "why").to_json() == {
        "name": "/p/a",
        "type": "String",
        "action": "kept",
        "note": "why",
    }
    assert Change("/p/a", "String", "created").to_json() == {"name": "/p/a", "type": "String", "action": "created"}


def test_owner_and_stage_tags_win_over_extra_tags() -> None:
    """The owner and stage tags are always set (a stage tag of the same key cannot override them), sorted."""
    assert tags_for("dev", [("team", "rt"), ("eventapi:managed-by", "someone")]) == [
        {"Key": "eventapi:managed-by", "Value": "eventapi-deploy"},
        {"Key": "eventapi:stage", "Value": "dev"},
        {"Key": "team", "Value": "rt"},
    ]


def test_apply_creates_updates_and_deletes(session: Any) -> None:
    """Created parameters carry the tags; an update overwrites and re-tags; deletes go; unchanged: no call."""
    put(session, f"{PREFIX}/a", "old")
    put(session, f"{PREFIX}/gone", "x")
    put(session, f"{PREFIX}/same", "s")
    puts = sent_calls(session, "PutParameter")  # before the tool makes its client, which copies the hooks
    aws = Aws(session)
    current = read_params(aws, PREFIX)
    desired = [
        Param(f"{PREFIX}/a", "String", "new"),
        Param(f"{PREFIX}/b", "String", "b"),
        Param(f"{PREFIX}/same", "String", "s"),
    ]
    tags = tags_for("dev")

    apply(aws, plan(desired, current, [f"{PREFIX}/gone"]), desired, current, tags=tags, kms_key_id="alias/aws/ssm")

    assert ssm_values(session, PREFIX) == {
        f"{PREFIX}/a": ("String", "new"),
        f"{PREFIX}/b": ("String", "b"),
        f"{PREFIX}/same": ("String", "s"),
    }
    assert (
        tags_of(session, f"{PREFIX}/a")
        == tags_of(session, f"{PREFIX}/b")
        == {
            "eventapi:managed-by": "eventapi-deploy",
            "eventapi:stage": "dev",
        }
    )
    assert [(p["Name"], p.get("Overwrite", False), "Tags" in p, p["Tier"]) for p in puts] == [
        (f"{PREFIX}/a", True, False, "Intelligent-Tiering"),
        (f"{PREFIX}/b", False, True, "Intelligent-Tiering"),
    ]


def test_security_string_replaced_by_secure_string_is_encrypted(session: Any) -> None:
    """Security check: a parameter stored as a String that must become a SecureString (the key) is deleted and
    written again as a SecureString with the stage's KMS key and the tags: never left readable in plain text."""
    put(session, f"{PREFIX}/api-key", "da2-plaintext0001")
    puts = sent_calls(session, "PutParameter")
    aws = Aws(session)
    current = read_params(aws, PREFIX)
    desired = [Param(f"{PREFIX}/api-key", "SecureString", "da2-plaintext0001")]

    apply(aws, plan(desired, current), desired, current, tags=tags_for("dev"), kms_key_id="alias/social-dev")

    assert ssm_values(session, PREFIX) == {f"{PREFIX}/api-key": ("SecureString", "da2-plaintext0001")}
    assert [(p["Type"], p.get("KeyId"), p.get("Overwrite", False)) for p in puts] == [
        ("SecureString", "alias/social-dev", False)
    ]
    assert tags_of(session, f"{PREFIX}/api-key")["eventapi:managed-by"] == "eventapi-deploy"


def test_security_kms_key_id_goes_only_on_secure_strings(session: Any) -> None:
    """Security check: the stage's KMS key is named on SecureStrings only (a String cannot take a KeyId), and the
    AWS managed key is never named (SSM uses it when none is given)."""
    puts = sent_calls(session, "PutParameter")
    aws = Aws(session)
    desired = [Param(f"{PREFIX}/region", "String", "eu-west-1"), Param(f"{PREFIX}/api-key", "SecureString", "v")]

    apply(aws, plan(desired, {}), desired, {}, tags=tags_for("dev"), kms_key_id="alias/social-dev")
    again = [Param(p.name, p.type, p.value + "2") for p in desired]
    current = read_params(aws, PREFIX)
    apply(aws, plan(again, current), again, current, tags=tags_for("dev"), kms_key_id="alias/aws/ssm")

    assert [(p["Type"], p.get("KeyId")) for p in puts] == [
        ("String", None),
        ("SecureString", "alias/social-dev"),
        ("String", None),
        ("SecureString", None),
    ]


@pytest.mark.parametrize(("count", "batches"), [(0, []), (10, [10]), (11, [10, 1]), (21, [10, 10, 1])])
def test_deletes_go_in_batches_of_ten(session: Any, count: int, batches: list[int]) -> None:
    """DeleteParameters takes at most 10 names: 10 is one call, 11 two; every name is deleted."""
    names = [f"{PREFIX}/p{n:02}" for n in range(count)]
    for name in names:
        put(session, name, "x")
    deletes = sent_calls(session, "DeleteParameters")

    delete_params(Aws(session), names)

    assert [len(call["Names"]) for call in deletes] == batches
    assert [name for call in deletes for name in call["Names"]] == names
    assert ssm_values(session, PREFIX) == {}


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ([OWNER], True),
        ([OWNER, {"Key": "team", "Value": "rt"}], True),
        ([{"Key": "eventapi:managed-by", "Value": "someone-else"}], False),
        ([{"Key": "owner", "Value": "eventapi-deploy"}], False),
        (None, False),
    ],
)
def test_security_only_the_owner_tag_with_its_value_makes_a_parameter_owned(
    session: Any, tags: list[dict[str, str]] | None, expected: bool
) -> None:
    """Security check: a parameter is this tool's (so unpublish may delete it) only when it carries the owner tag
    key WITH the owner value; the key alone, or the value under another key, is someone else's parameter."""
    put(session, f"{PREFIX}/p", "x", tags=tags)
    assert owned(Aws(session), f"{PREFIX}/p") is expected


def test_unpublish_deletes_more_than_ten_parameters(session: Any, deployed: Deployed) -> None:
    """unpublish --prune with more than 10 owned parameters deletes every one (several DeleteParameters calls) and
    keeps the ones it does not own."""
    publish(session, deployed.stage)
    for n in range(5):
        put(session, f"{PREFIX}/old/p{n}", "x", tags=[OWNER])
    put(session, f"{PREFIX}/old/theirs", "y")
    deletes = sent_calls(session, "DeleteParameters")

    report = unpublish(session, deployed.stage, prune=True)

    assert ssm_values(session, PREFIX) == {f"{PREFIX}/old/theirs": ("String", "y")}
    assert sum(1 for c in report.changes if c.action == "deleted") == 16  # the 11 of the layout, 5 strays
    assert [len(call["Names"]) for call in deletes] == [10, 6]


def stubbed_ssm(setup: Any) -> Aws:
    """The tool's AWS access, its SSM client answering from a Stubber (needs the aws_env fixture)."""
    return Aws(StubbedSession(boto3.Session(region_name=REGION), {"ssm": setup}))


@pytest.mark.parametrize(("prefix", "path"), [("/social/dev/X/", "/social/dev/X"), ("/", "/"), ("/a", "/a")])
def test_read_params_asks_for_the_prefix_without_its_trailing_slash(aws_env: None, prefix: str, path: str) -> None:
    """GetParametersByPath gets the prefix without a trailing '/' (the root stays '/'), and the flags asked for."""
    expected = {"Path": path, "Recursive": True, "WithDecryption": False}
    aws = stubbed_ssm(lambda s: s.add_response("get_parameters_by_path", {"Parameters": []}, expected))
    assert read_params(aws, prefix, recursive=True, decrypt=False) == {}


def test_minimal_ssm_answers(aws_env: None) -> None:
    """A parameter listed without type or value reads as an empty String; no tag list means not owned."""

    def answers(stubber: Any) -> None:
        stubber.add_response("get_parameters_by_path", {"Parameters": [{"Name": "/p/a"}]})
        stubber.add_response("list_tags_for_resource", {})

    aws = stubbed_ssm(answers)
    assert read_params(aws, "/p") == {"/p/a": Param("/p/a", "String", "")}
    assert owned(aws, "/p/a") is False


def _fail(operation: str, *before: str) -> Any:
    def setup(stubber: Any) -> None:
        for ok in before:
            stubber.add_response(ok, {})
        stubber.add_client_error(operation, "ValidationException", "no", 400)

    return setup


WANT = [Param("/p/a", "String", "1")]
HAVE = {"/p/a": Param("/p/a", "String", "0")}
TAGS = [OWNER]


@pytest.mark.parametrize(
    ("setup", "act", "message"),
    [
        (
            _fail("get_parameters_by_path"),
            lambda aws: read_params(aws, "/p"),
            "ssm:GetParametersByPath on parameters under /p failed: ValidationException: no",
        ),
        (
            _fail("put_parameter"),
            lambda aws: apply(aws, plan(WANT, {}), WANT, {}, tags=TAGS, kms_key_id="k"),
            "ssm:PutParameter on parameter /p/a failed: ValidationException: no",
        ),
        (
            _fail("add_tags_to_resource", "put_parameter"),
            lambda aws: apply(aws, plan(WANT, HAVE), WANT, HAVE, tags=TAGS, kms_key_id="k"),
            "ssm:AddTagsToResource on parameter /p/a failed: ValidationException: no",
        ),
        (
            _fail("delete_parameters"),
            lambda aws: delete_params(aws, ["/p/a", "/p/b"]),
            "ssm:DeleteParameters on parameter /p/a failed: ValidationException: no",
        ),
        (
            _fail("list_tags_for_resource"),
            lambda aws: owned(aws, "/p/a"),
            "ssm:ListTagsForResource on parameter /p/a failed: ValidationException: no",
        ),
    ],
)
def test_a_failed_ssm_call_names_its_parameter(aws_env: None, setup: Any, act: Any, message: str) -> None:
    """Every SSM call that fails says which call and which parameter (or prefix) it was for."""
    aws = stubbed_ssm(setup)
    with pytest.raises(DeployError) as err:
        act(aws)
    assert err.value.message == message
