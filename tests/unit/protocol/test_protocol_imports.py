"""The protocol core stays free of I/O libraries: importing it loads neither aiohttp, boto3 nor botocore."""

from __future__ import annotations

import subprocess
import sys


def test_protocol_imports_no_io_libraries() -> None:
    """`import eventapi.protocol` pulls in no aiohttp, boto3 or botocore (botocore is imported lazily for IAM)."""
    code = (
        "import sys, eventapi.protocol; print(sorted(m for m in ('aiohttp', 'boto3', 'botocore') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
