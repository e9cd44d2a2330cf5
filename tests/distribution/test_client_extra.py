"""`pip install "eventapi[client]"` in a clean venv, offline: the client and the post-deploy CLIs run, and nothing of
the CDK, moto or the local CA's cryptography comes with them.

The wheel is built from a copy of the sources with the pinned setuptools (no build isolation: nothing to download).
The venv is made without pip and without system site-packages, so what is in it is exactly what pip installed. The
wheelhouse holds the installed closure of the wheel's own Requires-Dist for [client], zipped back from this
environment (tests/distribution/wheelhouse.py); pip resolves against it with --no-index and no configuration, so a
requirement the metadata does not declare fails the install, and one it declares is installed and seen below.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from tests.distribution.wheelhouse import extra_requirements, installed_closure, rewheel

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# Distributions a service that publishes and subscribes must never get with [client] (the CDK, moto, the local CA).
NOT_FOR_CLIENTS = (
    "aws-cdk-lib",
    "constructs",
    "cdk-nag",
    "jsii",
    "moto",
    "cryptography",
    "joserfc",
    "aws-lambda-powertools",
)
NOT_IMPORTABLE = ("aws_cdk", "moto", "cryptography", "joserfc", "aws_lambda_powertools", "pytest")
CLIENT_TOP_LEVEL = {"aiohttp", "boto3", "botocore"}
# Every module of the client, the post-deploy step and the protocol imports (a heavy import at the top of any fails).
IMPORT_ALL = """
import importlib, pkgutil, eventapi.client, eventapi.deploy, eventapi.protocol
print(eventapi.client.__file__)
for pkg in (eventapi.client, eventapi.deploy, eventapi.protocol):
    for module in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        print(importlib.import_module(module.name).__name__)
"""


def run(*argv: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    argv_ = [str(a) for a in argv]
    done = subprocess.run(argv_, capture_output=True, text=True, timeout=300, check=False, env=env, cwd=cwd)
    assert done.returncode == 0, f"{' '.join(map(str, argv))}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def offline_pip_env() -> dict[str, str]:
    """pip with no configuration at all (no index, find-links or extra index from this machine's files or PIP_*), and
    no PYTHONPATH (the checkout on it would look installed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") and k != "PYTHONPATH"}
    return {**env, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}


def build_wheel(tmp_path: Path) -> Path:
    """The project's wheel, built from a copy of what the build reads (the checkout gets no build/ or egg-info)."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", *(p.name for p in ROOT.glob("requirements*.txt"))):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "eventapi", src / "eventapi", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "dist"
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "--no-cache-dir"]
    run(*pip, "-w", out, src, env=offline_pip_env())
    (wheel,) = out.glob("eventapi-*.whl")
    return wheel


def test_client_extra_installs_the_client_and_nothing_of_cdk_or_moto(tmp_path: Path) -> None:
    # Given the wheel and a wheelhouse of what its [client] requirements need
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as zf:
        (meta,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        client_reqs = extra_requirements(zf.read(meta).decode(), "client")
    assert {req.name for req in client_reqs} == CLIENT_TOP_LEVEL
    closure = installed_closure(client_reqs)
    house = tmp_path / "wheelhouse"
    house.mkdir()
    for dist in closure.values():
        rewheel(dist, house)
    # When it is installed into a venv of its own, offline
    # (its processes run outside the checkout, without PYTHONPATH: `-m` would import the checkout's eventapi)
    venv, outside = tmp_path / "venv", tmp_path
    venv_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")} | {"COLUMNS": "100"}
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", python, "install", "--no-index", "--no-cache-dir"]
    run(*pip, "--find-links", house, f"{wheel}[client]", env=offline_pip_env())
    # Then the venv holds the client's closure and eventapi, nothing else
    names = "import importlib.metadata as m; print('\\n'.join(d.metadata['Name'] for d in m.distributions()))"
    listed = run(python, "-c", names, env=venv_env, cwd=outside)
    installed = {canonicalize_name(name) for name in listed.split()}
    assert installed == {"eventapi", *closure}
    assert not installed & set(NOT_FOR_CLIENTS)
    importable = f"import importlib.util as u; print([n for n in {NOT_IMPORTABLE!r} if u.find_spec(n)])"
    found = run(python, "-c", importable, env=venv_env, cwd=outside)
    assert found.strip() == "[]"
    # And the client and the post-deploy step import and run from it
    imported = run(python, "-c", IMPORT_ALL, env=venv_env, cwd=outside).splitlines()
    assert imported[0].startswith(str(venv / "lib")), imported
    assert {"eventapi.client.smoke", "eventapi.deploy.__main__", "eventapi.protocol.auth"} <= set(imported[1:])
    for module, script in (("eventapi.client", "eventapi-client"), ("eventapi.deploy", "eventapi-deploy")):
        here = run(sys.executable, "-m", module, "--help", env={**venv_env, "PYTHONPATH": str(ROOT)})  # the dev env
        assert here.startswith(f"usage: python -m {module} ")
        assert run(python, "-m", module, "--help", env=venv_env, cwd=outside) == here
        assert run(venv / "bin" / script, "--help", env=venv_env, cwd=outside) == here
