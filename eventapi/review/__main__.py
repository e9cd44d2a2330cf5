"""`python -m eventapi.review OLD NEW [--accept ID ...] [--accept-file FILE]`: a Markdown review per stack.

Exit codes (`eventapi.exits`): 0 nothing dangerous left unaccepted, 2 usage, 14 unreadable input, 25 dangerous
findings, 1 anything unexpected (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from eventapi.exits import ExitCode, unexpected_line
from eventapi.protocol.auth import mask_credentials
from eventapi.review.report import review
from eventapi.review.templates import ReviewInputError, load_side


def read_accept_file(path: Path) -> list[str]:
    """The ids in an accept file: one per line, '#' comments and blank lines ignored."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise ReviewInputError(f"{path}: cannot read the accept file ({err.strerror})") from None
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eventapi.review", description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path, help="the cloud assembly or template directory before the change")
    parser.add_argument("new", type=Path, help="the cloud assembly or template directory after the change")
    parser.add_argument(
        "--accept",
        action="append",
        default=[],
        metavar="ID",
        help="a dangerous finding's id, accepted after review (repeat for several)",
    )
    parser.add_argument(
        "--accept-file", type=Path, metavar="FILE", help="accepted ids, one per line ('#' starts a comment: say why)"
    )
    args = parser.parse_args(argv)
    try:
        accepted = [*args.accept, *(read_accept_file(args.accept_file) if args.accept_file else [])]
        result = review(load_side(args.old), load_side(args.new), accepted=accepted)
        markdown = result.markdown(str(args.old), str(args.new))
    except ReviewInputError as err:
        print(f"error: {err}", file=sys.stderr)
        return ExitCode.FILE
    except Exception as err:  # one line, no traceback
        print(unexpected_line("error: review", err, mask_credentials), file=sys.stderr)
        return ExitCode.UNEXPECTED
    print(markdown, end="")
    for fid in result.unknown_accepts:
        print(f"warning: --accept {fid} matches no finding (a typo, or the change is gone)", file=sys.stderr)
    if result.blocking:
        ids = " ".join(f.id for f in result.blocking)
        print(
            f"error: {len(result.blocking)} dangerous finding(s): {ids}; review them, then --accept each id",
            file=sys.stderr,
        )
        return ExitCode.DANGEROUS
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
