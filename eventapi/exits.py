"""The exit codes of every command of the project, one table: each number means one thing in every command.

    python app.py (cdk synth)      python -m eventapi.deploy        python -m eventapi.deploy.renewer
    python -m eventapi.client      python -m eventapi.local ...     python -m eventapi.demo
    python -m eventapi.review      python -m eventapi.infra.summary

0 is success, 1 an error the command did not expect (one line on stderr, never a traceback), 2 a bad command line
(argparse's own code), 3 bad configuration; every other failure has its own number. The codes of the post-deploy
step (4 to 15) came first and pipelines read them (`make deploy` runs its preflight); the others follow.
The README's table of exit codes is `markdown_table()`, checked by tests/unit/test_exits.py.

Pure: the standard library only, so every room (the renewer's Lambda bundle too) can import it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum, unique
from typing import Final


@unique
class ExitCode(IntEnum):
    """What a command's exit status means; `MEANINGS` says it in words, with the commands that return it."""

    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    CONFIG = 3
    UNAUTHORIZED = 4
    STACK = 5
    OUTPUT_MISSING = 6
    NO_API_KEY = 7
    ACCESS_DENIED = 8
    KMS = 9
    THROTTLED = 10
    NOT_PUBLISHED = 11
    ROTATION = 12
    AWS = 13
    FILE = 14
    NOT_BOOTSTRAPPED = 15
    REFUSED = 16
    FAILED_EVENTS = 17
    CONNECTION = 18
    UNEXPECTED_ANSWER = 19
    SMOKE_FAILED = 20
    NOT_REFUSED = 21
    PORT_IN_USE = 22
    POST_DEPLOY = 23
    SCENARIO = 24
    DANGEROUS = 25
    BELOW_THRESHOLD = 26
    INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a process Ctrl-C ended


# The commands, as the table names them.
APP: Final = "app.py"
DEPLOY: Final = "deploy"
RENEWER: Final = "renewer"
CLIENT: Final = "client"
LOCAL: Final = "local"
DEMO: Final = "demo"
REVIEW: Final = "review"
SUMMARY: Final = "summary"
MUTATION: Final = "mutation"
COMMANDS: Final = (APP, DEPLOY, RENEWER, CLIENT, LOCAL, DEMO, REVIEW, SUMMARY, MUTATION)
_AWS_STEPS: Final = (DEPLOY, RENEWER, LOCAL)  # `eventapi.local renew` exits with the renewer's code


@dataclass(frozen=True)
class Meaning:
    """One row of the table: what the code means, and which commands return it."""

    text: str
    commands: tuple[str, ...]


_EXCEPT_APP_SUMMARY: Final = tuple(c for c in COMMANDS if c not in (APP, SUMMARY))  # they take no options

MEANINGS: Final[Mapping[ExitCode, Meaning]] = {
    ExitCode.OK: Meaning("done (`local up` and `web`: stopped by Ctrl-C or SIGTERM)", COMMANDS),
    ExitCode.UNEXPECTED: Meaning(
        "an error the command did not expect: one line on stderr naming it, never a traceback", COMMANDS
    ),
    ExitCode.USAGE: Meaning(
        "bad command line: an unknown or missing option, a bad option value, a channel that breaks the rules, an "
        "event that is not JSON",
        _EXCEPT_APP_SUMMARY,
    ),
    ExitCode.CONFIG: Meaning(
        "bad configuration: `cdk.json` or a stage, a template or its synth, the client's config (file, SSM, "
        "`$EVENTAPI_AUTH_TOKEN`, `--ca-file`), no region; (mutation) a target naming no file, an equivalent without "
        "its reason",
        (APP, DEPLOY, RENEWER, CLIENT, LOCAL, DEMO, MUTATION),
    ),
    ExitCode.UNAUTHORIZED: Meaning(
        "no credentials, or they were refused: none found, rejected by AWS, or (`preflight`) for another account "
        "than the stage's; the Event API or a namespace handler answered Unauthorized; (`smoke`) no credentials "
        "for any auth mode",
        (DEPLOY, RENEWER, CLIENT, LOCAL),
    ),
    ExitCode.STACK: Meaning("the stack does not exist, or is not in a complete state", (DEPLOY,)),
    ExitCode.OUTPUT_MISSING: Meaning("a stack output is missing (or the outputs file lacks the stack)", (DEPLOY,)),
    ExitCode.NO_API_KEY: Meaning("no valid API key (or the published key no longer exists)", _AWS_STEPS),
    ExitCode.ACCESS_DENIED: Meaning(
        "AWS denied access: the message names the IAM action and resource the policy lacks", _AWS_STEPS
    ),
    ExitCode.KMS: Meaning("KMS refused to encrypt or decrypt the key", _AWS_STEPS),
    ExitCode.THROTTLED: Meaning("throttled by AWS after botocore's adaptive retries (8 attempts)", _AWS_STEPS),
    ExitCode.NOT_PUBLISHED: Meaning(
        "nothing published yet for the stage (`show`, `export`, `renew-key`, `rotate-key`, the renewer)", _AWS_STEPS
    ),
    ExitCode.ROTATION: Meaning(
        "rotation state: one already under way, none under way, or the grace period is not over", _AWS_STEPS
    ),
    ExitCode.AWS: Meaning("any other AWS error, or AWS unreachable", _AWS_STEPS),
    ExitCode.FILE: Meaning(
        "a file could not be read or written: the outputs file, `export -o` naming a symlink, FIFO, device or "
        "folder, the templates or accept file to review, no cloud assembly to summarize",
        (DEPLOY, REVIEW, SUMMARY),
    ),
    ExitCode.NOT_BOOTSTRAPPED: Meaning(
        "(`preflight`) the stage's account and region are not bootstrapped for the CDK: no `CDKToolkit` stack",
        (DEPLOY,),
    ),
    ExitCode.REFUSED: Meaning(
        "the Event API or a namespace handler refused the request: a bad channel, too many events, a handler's error",
        (CLIENT, LOCAL),
    ),
    ExitCode.FAILED_EVENTS: Meaning("`publish` was answered, but some events are in `failed[]`", (CLIENT,)),
    ExitCode.CONNECTION: Meaning("network: cannot connect, the socket was lost, or no answer in time", (CLIENT,)),
    ExitCode.UNEXPECTED_ANSWER: Meaning(
        "not an Event API's answer: a redirect, a status without an Event API error, a 2xx without the publish result",
        (CLIENT,),
    ),
    ExitCode.SMOKE_FAILED: Meaning("(`smoke`) something the stage should allow failed", (CLIENT,)),
    ExitCode.NOT_REFUSED: Meaning(
        "(`smoke`) something the stage should refuse was accepted: a security failure", (CLIENT,)
    ),
    ExitCode.PORT_IN_USE: Meaning("a port to listen on is taken (or cannot be listened on)", (LOCAL, DEMO)),
    ExitCode.POST_DEPLOY: Meaning(
        "the post-deploy step, run against the local stand-in, failed (its last error line is shown)", (LOCAL, DEMO)
    ),
    ExitCode.SCENARIO: Meaning("the demo's scenario failed: nothing received, a timeout or a client error", (DEMO,)),
    ExitCode.DANGEROUS: Meaning("dangerous findings left unaccepted", (REVIEW,)),
    ExitCode.BELOW_THRESHOLD: Meaning(
        "a module's mutation score is below 95%, or `mutation/equivalents.txt` lists a mutant that is gone or killed",
        (MUTATION,),
    ),
    ExitCode.INTERRUPTED: Meaning("interrupted by Ctrl-C", (CLIENT, DEMO)),
}

MAX_LINE: Final = 500  # an error line's length at most: its message may quote a server or anything, keep it readable


def unexpected_line(prefix: str, err: BaseException, redact: Callable[[str], str]) -> str:
    """The one line a command prints on stderr for an exception it did not expect (then exits `UNEXPECTED`):
    `<prefix>: unexpected <type>: <message>`, the message on one line and passed through `redact` (the caller's
    masking of credentials), at most `MAX_LINE` characters."""
    message = redact(" ".join(str(err).split()))
    line = f"{prefix}: unexpected {type(err).__name__}" + (f": {message}" if message else "")
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…"


def markdown_table() -> str:
    """The README's table of exit codes (between `<!-- exit-codes:start -->` and `<!-- exit-codes:end -->`)."""
    rows = ["| code | name | meaning | returned by |", "|---|---|---|---|"]
    for code in ExitCode:
        meaning = MEANINGS[code]
        commands = "all" if meaning.commands == COMMANDS else ", ".join(meaning.commands)
        rows.append(f"| {code.value} | `{code.name}` | {meaning.text} | {commands} |")
    return "\n".join(rows) + "\n"
