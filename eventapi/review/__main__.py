"""`python -m eventapi.review OLD NEW [--accept ID ...] [--accept-file FILE]`: a Markdown review per stack.

Exit codes: 0 nothing dangerous left unaccepted, 2 usage or unreadable input, 3 dangerous findings.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from eventapi.review.report import review
from eventapi.review.templates import ReviewInputError, load_side

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_DANGEROUS = 3


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
    parser.add_argument("--accept", action="append", default=[], metavar="ID",
                        help="a dangerous finding's id, accepted after review (repeat for several)")  # fmt: skip
    parser.add_argument("--accept-file", type=Path, metavar="FILE",
                        help="accepted ids, one per line ('#' starts a comment: say why)")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        accepted = [*args.accept, *(read_accept_file(args.accept_file) if args.accept_file else [])]
        result = review(load_side(args.old), load_side(args.new), accepted=accepted)
    except ReviewInputError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    print(result.markdown(str(args.old), str(args.new)), end="")
    for fid in result.unknown_accepts:
        print(f"warning: --accept {fid} matches no finding (a typo, or the change is gone)", file=sys.stderr)
    if result.blocking:
        ids = " ".join(f.id for f in result.blocking)
        print(f"error: {len(result.blocking)} dangerous finding(s): {ids}; review them, then --accept each id",
              file=sys.stderr)  # fmt: skip
        return EXIT_DANGEROUS
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
