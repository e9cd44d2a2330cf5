"""A template review that knows Event APIs: what a change means for clients and for security.

    python -m eventapi.review OLD NEW [--accept ID ...]

OLD and NEW are cloud assemblies (`cdk.out`) or directories of `*.template.json` (`make review` compares the
committed snapshots with a fresh synth). Prints Markdown, one section per stack; exits non-zero on a dangerous
finding (the Event API or a namespace replaced or deleted, auth broadened) unless each is accepted by id.
"""

from eventapi.review.findings import Finding, Severity, review_stack
from eventapi.review.report import Review, review

__all__ = ["Finding", "Review", "Severity", "review", "review_stack"]
