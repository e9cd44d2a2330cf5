"""The child side of a local Lambda worker: `python -m eventapi.local.lambda_runtime <dir> <module.function>`.

Imports the function once (its init code runs once, as in a warm Lambda execution environment), then answers
JSON lines on stdin (`{"id", "event", "timeoutMs"}`) with JSON lines (`{"id", "result"}` or `{"id", "error":
{"errorType", "errorMessage"}}`), one invocation at a time. The function's own prints and logs go to stderr (the
parent logs them); the protocol has the original stdout to itself. Standard library only besides the function.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
import uuid
from typing import Any


class LambdaContext:
    """The attributes of the Lambda context object that handlers (and Powertools) read."""

    def __init__(self, timeout_ms: int) -> None:
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")
        self.function_version = "$LATEST"
        self.invoked_function_arn = os.environ.get("EVENTAPI_FUNCTION_ARN", "")
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main(argv: list[str]) -> int:
    directory, entry = argv[1], argv[2]
    module_name, _, function_name = entry.rpartition(".")
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # the function's prints (and Powertools' JSON logs) go to stderr
    sys.stdout = sys.stderr
    sys.path.insert(0, directory)
    handler = getattr(importlib.import_module(module_name), function_name)
    for line in sys.stdin:
        request = json.loads(line)
        reply: dict[str, Any] = {"id": request["id"]}
        try:
            reply["result"] = handler(request["event"], LambdaContext(int(request.get("timeoutMs", 3000))))
            text = json.dumps(reply, default=str)
        except Exception as err:  # the Lambda runtime reports any exception as the invocation's error
            traceback.print_exc()
            text = json.dumps({**reply, "error": {"errorType": type(err).__name__, "errorMessage": str(err)}})
        protocol.write(text + "\n")
        protocol.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
