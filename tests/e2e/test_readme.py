"""The README's "Using the client" example, run verbatim against `make local` after exactly the exports it prints."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, UpProcess, offline_env, read_api_key

pytestmark = pytest.mark.clock  # a local deploy: moto, the local CA and the API key expiry read the wall clock


def readme_client_example() -> str:
    """The first ```python block of the README's "Using the client" section, as written."""
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("\n## Using the client\n", 1)[1]
    block = re.search(r"^```python\n(.*?)^```$", section.split("\n## ", 1)[0], re.S | re.M)
    assert block is not None, "README: no ```python block under '## Using the client'"
    return block.group(1)


def run_after(lines: list[str], example: Path, state_dir: Path) -> subprocess.CompletedProcess[str]:
    """`lines` then `python <example>` in a fresh bash, in the project root, on a machine without AWS settings."""
    script = "\n".join([*lines, f"{shlex.quote(sys.executable)} {shlex.quote(str(example))}"])
    return subprocess.run(
        ["bash", "-c", script],
        cwd=ROOT,
        env=offline_env(state_dir),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_readme_client_example_runs_verbatim_after_the_printed_exports(
    local_up: UpProcess, state_dir: Path, tmp_path: Path
) -> None:
    """After the `export` lines `up` prints, the README's example subscribes, publishes and prints the event."""
    out, _ = local_up.output()
    exports = [line.strip() for line in out.splitlines() if line.strip().startswith("export ")]
    assert any("EVENTAPI_EXTRA_CA_CERTS=" in line for line in exports)
    example = tmp_path / "example.py"
    example.write_text(readme_client_example(), encoding="utf-8")
    done = run_after(exports, example, state_dir)
    assert (done.returncode, done.stdout) == (0, "{'author': 'jo', 'content': 'hi'}\n"), done.stderr
    assert read_api_key(local_up.ready) not in done.stdout + done.stderr
    # Without the CA line the same example cannot verify the local certificate (what the export line is for)
    without_ca = [line for line in exports if "EXTRA_CA_CERTS" not in line]
    refused = run_after(without_ca, example, state_dir)
    assert refused.returncode == 1
    assert "CERTIFICATE_VERIFY_FAILED" in refused.stderr
