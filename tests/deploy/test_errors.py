"""Failures: one line on stderr, a distinct exit code, no key anywhere (stdout, stderr, logs, exception text)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

import eventapi.deploy.params as params_module
from eventapi.contract import SsmParam, ssm_name
from eventapi.deploy import DeployError, ExitCode, publish
from eventapi.deploy.__main__ import main
from eventapi.deploy.renewer import main as renewer_main
from tests.deploy.conftest import Deployed, StubbedSession, ssm_values

pytestmark = pytest.mark.clock

PREFIX = "/social/dev/events"
DENIED = (
    "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ssm:PutParameter on resource: "
    "arn:aws:ssm:eu-west-1:123456789012:parameter/social/dev/events/http-endpoint because no identity-based "
    "policy allows the ssm:PutParameter action"
)


def empty_prefix(stubber: Any) -> None:
    stubber.add_response("get_parameters_by_path", {"Parameters": []})


def run_cli(monkeypatch: pytest.MonkeyPatch, session: Any, argv: list[str]) -> int:
    monkeypatch.setattr("eventapi.deploy.__main__.make_session", lambda profile: session)
    return main(argv)


def test_access_denied_names_action_and_resource(
    session: Any, deployed: Deployed, project: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """AccessDenied on PutParameter exits 8 with the action and resource the policy lacks."""

    def stubs(stubber: Any) -> None:
        empty_prefix(stubber)
        stubber.add_client_error("put_parameter", "AccessDeniedException", DENIED, 400)

    code = run_cli(
        monkeypatch,
        StubbedSession(session, {"ssm": stubs}),
        ["publish", "--stage", "dev", "--project-root", str(project)],
    )

    assert code == ExitCode.ACCESS_DENIED == 8
    assert capsys.readouterr().err == (
        "error: access denied: the credentials' IAM policy lacks ssm:PutParameter on "
        "arn:aws:ssm:eu-west-1:123456789012:parameter/social/dev/events/http-endpoint; add it "
        "(python -m eventapi.deploy policy --stage dev prints the policy this tool needs)\n"
    )


def test_access_denied_without_details_names_the_call(session: Any, deployed: Deployed) -> None:
    """When AWS's message names no resource, the error names the call's own action and resource."""

    def stubs(stubber: Any) -> None:
        stubber.add_client_error("describe_stacks", "AccessDenied", "not allowed", 403)

    with pytest.raises(DeployError) as err:
        publish(StubbedSession(session, {"cloudformation": stubs}), deployed.stage)

    assert err.value.code == ExitCode.ACCESS_DENIED
    assert err.value.message == (
        "access denied: the credentials' IAM policy lacks cloudformation:DescribeStacks on stack Social-dev in "
        "eu-west-1; add it (python -m eventapi.deploy policy --stage dev prints the policy this tool needs)"
    )


def test_throttling_after_retries_is_its_own_error(session: Any, deployed: Deployed) -> None:
    """Throttling that outlasts the adaptive retries exits 10 with advice to wait."""

    def stubs(stubber: Any) -> None:
        stubber.add_client_error("get_parameters_by_path", "ThrottlingException", "Rate exceeded", 400)

    with pytest.raises(DeployError) as err:
        publish(StubbedSession(session, {"ssm": stubs}), deployed.stage)

    assert err.value.code == ExitCode.THROTTLED == 10
    assert err.value.message == (
        "AWS throttled ssm:GetParametersByPath on parameters under /social/dev/events (ThrottlingException) after "
        "8 attempts with adaptive retries; wait a minute and run the command again"
    )


def test_clients_use_adaptive_retries(session: Any, deployed: Deployed) -> None:
    """Every client the tool makes retries in botocore's adaptive mode."""
    made: list[Any] = []

    class Recording(StubbedSession):
        def client(self, service: str, **kwargs: Any) -> Any:
            made.append(kwargs["config"].retries)
            return super().client(service, **kwargs)

    publish(Recording(session, {}), deployed.stage)

    assert made == [{"mode": "adaptive", "total_max_attempts": 9}] * 3  # botocore counts the first try too


def test_kms_failure_is_its_own_error_and_hides_the_key(session: Any, deployed: Deployed) -> None:
    """A KMS refusal writing the key exits 9, and its text never holds the key."""

    def stubs(stubber: Any) -> None:
        empty_prefix(stubber)
        for _ in range(8):
            stubber.add_response("put_parameter", {"Version": 1, "Tier": "Standard"})
        stubber.add_client_error("put_parameter", "InvalidKeyId", f"Invalid keyId for value {deployed.key}", 400)

    with pytest.raises(DeployError) as err:
        publish(StubbedSession(session, {"ssm": stubs}), deployed.stage)

    assert err.value.code == ExitCode.KMS == 9
    assert err.value.message == (
        f"KMS refused ssm:PutParameter on parameter /social/dev/events/api-key (InvalidKeyId: Invalid keyId for "
        f"value ****{deployed.key[-4:]}); check that the KMS key of the stage (ssm.kmsKeyId, or --kms-key-id) "
        "exists, is enabled, and that these credentials may use it"
    )
    assert deployed.key not in str(err.value)


def test_a_rerun_repairs_an_interrupted_publish(
    session: Any, deployed: Deployed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A publish that died after 4 writes leaves nothing a rerun does not complete."""
    real_put = params_module._put
    calls: list[str] = []

    def failing_put(aws: Any, param: Any, kms: str, **kwargs: Any) -> None:
        if len(calls) == 4:
            raise DeployError(ExitCode.AWS, "connection lost")
        calls.append(param.name)
        real_put(aws, param, kms, **kwargs)

    monkeypatch.setattr(params_module, "_put", failing_put)
    with pytest.raises(DeployError):
        publish(session, deployed.stage)
    monkeypatch.setattr(params_module, "_put", real_put)

    report = publish(session, deployed.stage)

    assert [c.action for c in report.changes] == ["unchanged"] * 4 + ["created"] * 7
    assert len(ssm_values(session, PREFIX)) == 11


def test_no_credentials(project: Path, aws_env: None, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    """Without credentials the CLI exits 4 with one line saying how to provide them."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in (
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)

    code = main(["publish", "--stage", "dev", "--project-root", str(project)])

    assert code == ExitCode.UNAUTHORIZED == 4
    assert capsys.readouterr().err == (
        "error: no AWS credentials found; set AWS_PROFILE (or pass --profile), or AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY, and run again\n"
    )


def test_bad_stage_is_a_config_error(project: Path, capsys: Any) -> None:
    """An unknown stage exits 3 with the config model's one-line message."""
    code = main(["show", "--stage", "dve", "--project-root", str(project)])

    assert code == ExitCode.CONFIG == 3
    assert capsys.readouterr().err == (
        "error: stage: 'dve' is not a stage in cdk.json (did you mean 'dev'?); choose one of dev, prod, iam\n"
    )


def test_the_key_never_leaves_the_tool(  # noqa: PLR0917 - pytest fixtures
    session: Any,
    deployed: Deployed,
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Across every command, tables, --json, warnings, errors and DEBUG logs hold no key, old or new."""
    caplog.set_level(logging.DEBUG)
    root = ["--stage", "dev", "--project-root", str(project)]
    runs = [
        ["publish", *root],
        ["publish", *root, "--json"],
        ["show", *root],
        ["show", *root, "--json"],
        ["renew-key", *root, "--json"],
        ["rotate-key", *root, "--grace-hours", "1"],
        ["rotate-key", *root, "--finish", "--force", "--json"],
        ["export", *root, "--format", "json", "-o", str(tmp_path / "c.json")],
        ["rotate-key", *root, "--finish"],  # an error: no rotation under way
        ["unpublish", *root, "--json"],
    ]
    codes = [run_cli(monkeypatch, session, argv) for argv in runs]

    assert codes == [0, 0, 0, 0, 0, 0, 0, 0, ExitCode.ROTATION, 0]
    new_key = json.loads((tmp_path / "c.json").read_text())["apiKey"]
    assert new_key != deployed.key
    captured = capsys.readouterr()
    texts = {"stdout": captured.out, "stderr": captured.err, "logs": caplog.text}
    for where, text in texts.items():
        for key in (deployed.key, new_key):
            assert key not in text, where
    assert "****" + new_key[-4:] in captured.out
    assert "botocore" in caplog.text  # the SDK did log at DEBUG: the test saw its records


def test_key_in_an_aws_error_message_is_masked(
    session: Any, deployed: Deployed, project: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """An AWS error quoting the key (in a resource ARN) is printed with the key masked."""
    publish(session, deployed.stage)
    arn = f"arn:aws:appsync:eu-west-1:123456789012:apis/{deployed.api_id}/apikeys/{deployed.key}"

    def stubs(stubber: Any) -> None:
        expires = int(deployed.key_expires.timestamp())
        stubber.add_response("list_api_keys", {"apiKeys": [{"id": deployed.key, "expires": expires}]})
        stubber.add_client_error(
            "update_api_key",
            "AccessDeniedException",
            f"not authorized to perform: appsync:UpdateApiKey on resource: {arn}",
            403,
        )

    code = run_cli(
        monkeypatch,
        StubbedSession(session, {"appsync": stubs}),
        ["renew-key", "--stage", "dev", "--project-root", str(project)],
    )

    assert code == ExitCode.ACCESS_DENIED
    masked = arn.replace(deployed.key, "****" + deployed.key[-4:])
    assert capsys.readouterr().err == (
        f"error: access denied: the credentials' IAM policy lacks appsync:UpdateApiKey on {masked}; add it "
        "(python -m eventapi.deploy policy --stage dev prints the policy this tool needs)\n"
    )
    assert ssm_values(session, PREFIX)[ssm_name(PREFIX, SsmParam.API_KEY)][1] == deployed.key


@pytest.mark.parametrize("renewer", [False, True])
def test_both_clis_end_a_failed_renewal_the_same_way(
    renewer: bool, project: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """`python -m eventapi.deploy renew-key` and the renewer's CLI (the same renewal) print the same one line, the
    key masked, and exit with the failure's code."""

    def fail(*_: Any, **__: Any) -> None:
        raise DeployError(ExitCode.NOT_PUBLISHED, "nothing for da2-abcdefghijklmnopqrstuvwxyz")

    monkeypatch.setattr("boto3.Session", lambda **_: None)
    monkeypatch.setattr(f"eventapi.deploy.{'renewer' if renewer else '__main__'}.renew_key", fail)
    args = ["--stage", "dev", "--project-root", str(project)]
    code = renewer_main(args) if renewer else main(["renew-key", *args])

    assert (code, capsys.readouterr().err) == (ExitCode.NOT_PUBLISHED, "error: nothing for ****wxyz\n")


def test_unexpected_error_is_one_line_without_the_key(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """An exception the CLI does not expect: one line naming the command and the error, the key masked, exit 1."""
    key = "da2-" + "abcdefghijklmnopqrstuvwxyz"

    def broken(args: Any, redactor: Any) -> None:
        raise RuntimeError(f"boom with {key}\n  and a second line")

    monkeypatch.setattr("eventapi.deploy.__main__.run", broken)
    code = main(["show", "--stage", "dev", "--project-root", str(project)])

    assert code == ExitCode.UNEXPECTED == 1
    assert capsys.readouterr().err == "error: show: unexpected RuntimeError: boom with ****wxyz and a second line\n"
