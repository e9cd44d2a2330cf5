"""Stack outputs: from CloudFormation `DescribeStacks`, or from the file `cdk deploy --outputs-file` writes.

Output names come from `eventapi.outputs.Output` only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from eventapi.deploy.aws import Aws, AwsError
from eventapi.deploy.errors import DeployError
from eventapi.exits import ExitCode
from eventapi.outputs import Output

REQUIRED: Final = (
    Output.API_ID,
    Output.HTTP_ENDPOINT,
    Output.REALTIME_ENDPOINT,
    Output.HTTP_HOST,
    Output.REALTIME_HOST,
    Output.REGION,
)
# Stable states whose outputs describe what is deployed (a rolled-back update keeps the previous, working stack).
COMPLETE_STATES: Final = frozenset(
    {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE"}
)


@dataclass(frozen=True)
class StackOutputs:
    """What the post-deploy step reads from a deployed stage."""

    stack_name: str
    api_id: str
    http_endpoint: str
    realtime_endpoint: str
    http_host: str
    realtime_host: str
    region: str
    user_pool_id: str | None = None
    user_pool_client_id: str | None = None

    @classmethod
    def from_mapping(cls, stack_name: str, outputs: Mapping[str, Any], source: str) -> StackOutputs:
        values = {key: value for key, value in outputs.items() if isinstance(value, str) and value}
        missing = [out.value for out in REQUIRED if out.value not in values]
        if missing:
            raise DeployError(
                ExitCode.OUTPUT_MISSING,
                f"stack {stack_name} has no output {', '.join(missing)} ({source}); deploy the current version of "
                "the stack (make deploy STAGE=<stage>) and run again",
            )
        return cls(
            stack_name=stack_name,
            api_id=values[Output.API_ID.value],
            http_endpoint=values[Output.HTTP_ENDPOINT.value],
            realtime_endpoint=values[Output.REALTIME_ENDPOINT.value],
            http_host=values[Output.HTTP_HOST.value],
            realtime_host=values[Output.REALTIME_HOST.value],
            region=values[Output.REGION.value],
            user_pool_id=values.get(Output.USER_POOL_ID.value),
            user_pool_client_id=values.get(Output.USER_POOL_CLIENT_ID.value),
        )


def describe_stack(aws: Aws, stack_name: str) -> StackOutputs:
    """The outputs of a stack in a complete state (`DescribeStacks`)."""
    where = f"stack {stack_name} in {aws.region}"
    try:
        response = aws.call("cloudformation", "DescribeStacks", where, StackName=stack_name)
    except AwsError as err:
        if err.aws_code == "ValidationError" and "does not exist" in err.message:
            raise DeployError(
                ExitCode.STACK,
                f"stack {stack_name} does not exist in {aws.region}; deploy it first "
                "(make deploy STAGE=<stage>), or pass --region or --outputs-file",
            ) from None
        raise
    stacks = response.get("Stacks", [])
    if not stacks:
        raise DeployError(ExitCode.STACK, f"stack {stack_name} does not exist in {aws.region}; deploy it first")
    stack = stacks[0]
    status = str(stack.get("StackStatus", "UNKNOWN"))
    if status not in COMPLETE_STATES:
        raise DeployError(
            ExitCode.STACK,
            f"stack {stack_name} is {status}, not in a complete state; wait for the deployment to finish "
            "(or fix it) and run again",
        )
    outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs", [])}
    return StackOutputs.from_mapping(stack_name, outputs, f"DescribeStacks in {aws.region}")


def read_outputs_file(path: Path, stack_name: str) -> StackOutputs:
    """The stack's entry of a `cdk deploy --outputs-file` JSON file (`{"<stack>": {"<output>": "value"}}`)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise DeployError(ExitCode.FILE, f"cannot read outputs file {path}: {err.strerror or err}") from None
    except ValueError as err:
        raise DeployError(ExitCode.FILE, f"outputs file {path} is not valid JSON: {err}") from None
    if not isinstance(raw, dict):
        raise DeployError(ExitCode.FILE, f"outputs file {path} is not a JSON object of stack name -> outputs")
    entry = raw.get(stack_name)
    if entry is not None and not isinstance(entry, dict):
        raise DeployError(
            ExitCode.FILE,
            f"outputs file {path}: {stack_name} is not an object of output name -> value; write it with "
            "cdk deploy --outputs-file",
        )
    if not isinstance(entry, dict):
        stacks = ", ".join(sorted(str(k) for k in raw)) or "none"
        raise DeployError(
            ExitCode.OUTPUT_MISSING,
            f"outputs file {path} has no stack {stack_name} (it has: {stacks}); deploy with "
            f"cdk deploy {stack_name} --outputs-file {path}, or pass --stack",
        )
    return StackOutputs.from_mapping(stack_name, entry, f"outputs file {path}")
