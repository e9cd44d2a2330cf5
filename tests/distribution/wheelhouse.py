"""A wheelhouse made offline from what is installed: each distribution of this environment zipped back into a wheel.

Offline there is no index to download from and pip keeps no wheel of what it installed, but every installed
distribution lists its files in RECORD and its tags in WHEEL; zipped again (with a fresh RECORD) they make a wheel
that `pip install --no-index --find-links` installs like the original. Scripts and data outside site-packages are
left out: pip writes console scripts anew from entry_points.txt.
"""

from __future__ import annotations

import base64
import hashlib
import re
import zipfile
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

# What pip writes at install time (or this module writes anew): never copied into a wheel.
INSTALL_RECORDS = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})


def _dist_info(dist: metadata.Distribution) -> str:
    """The distribution's `<name>-<version>.dist-info` directory, as its RECORD names it."""
    for file in dist.files or ():
        if len(file.parts) == 2 and file.parts[0].endswith(".dist-info") and file.parts[1] == "METADATA":
            return file.parts[0]
    raise LookupError(f"{dist.metadata['Name']} has no RECORD naming its METADATA: installed without pip?")


def _wheel_tag(wheel_file: str) -> str:
    """The compressed tag set of a WHEEL file (`cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64`)."""
    tags = [line.split(":", 1)[1].strip().split("-") for line in wheel_file.splitlines() if line.startswith("Tag:")]
    if not tags:
        raise LookupError("WHEEL names no Tag")
    return "-".join(".".join(sorted({tag[i] for tag in tags})) for i in range(3))


def rewheel(dist: metadata.Distribution, out: Path) -> Path:
    """Zip an installed distribution into `out` as the wheel it was installed from (contents, metadata, tags)."""
    info = _dist_info(dist)
    tag = _wheel_tag(dist.read_text("WHEEL") or "")
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"]).lower()
    wheel = out / f"{name}-{dist.version}-{tag}.whl"
    record: list[str] = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_STORED) as zf:  # stored: speed matters more than size here
        for file in dist.files or ():
            path = Path(str(dist.locate_file(file)))
            outside = file.parts[0] == ".."
            if outside or "__pycache__" in file.parts or (file.parts[0] == info and file.name in INSTALL_RECORDS):
                continue
            if not path.is_file():
                continue  # RECORD may list a file a post-install step removed
            data = path.read_bytes()
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            zf.writestr(file.as_posix(), data)
            record.append(f"{file.as_posix()},sha256={digest},{len(data)}")
        record.append(f"{info}/RECORD,,")
        zf.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return wheel


def installed_closure(requirements: Iterable[Requirement]) -> dict[str, metadata.Distribution]:
    """The installed distributions that `requirements` need, transitively (markers evaluated here, extras followed)."""
    found: dict[str, metadata.Distribution] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = list(requirements)
    while todo:
        req = todo.pop()
        key = (canonicalize_name(req.name), frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        dist = found.setdefault(key[0], metadata.distribution(req.name))
        for line in dist.requires or ():
            sub = Requirement(line)
            if sub.marker is None or any(_applies(sub.marker, extra) for extra in ("", *req.extras)):
                todo.append(sub)
    return found


def _applies(marker: Marker, extra: str) -> bool:
    return marker.evaluate({"extra": extra})


def extra_requirements(metadata_text: str, extra: str) -> list[Requirement]:
    """The Requires-Dist lines of a METADATA file that installing `[extra]` brings (the base ones too)."""
    lines = [line.split(":", 1)[1].strip() for line in metadata_text.splitlines() if line.startswith("Requires-Dist:")]
    reqs = [Requirement(line) for line in lines]
    return [req for req in reqs if req.marker is None or _applies(req.marker, extra)]
