"""Which certificate authorities a client trusts: the default store, plus extra CA files, never instead of it.

`EVENTAPI_EXTRA_CA_CERTS` names one PEM file (e.g. the local Event API's `ca.pem`) that the Python client trusts in
addition to the system's CAs, as Node does with `NODE_EXTRA_CA_CERTS`. Unlike `SSL_CERT_FILE`, which replaces the
trust store of everything in the shell, it leaves AWS endpoints verified as usual. `python -m eventapi.local up`
prints it among its `export` lines. Defined here, outside the client and the local server, so both name it once.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Final

EXTRA_CA_CERTS_ENV: Final = "EVENTAPI_EXTRA_CA_CERTS"


class TrustError(ValueError):
    """A CA file that cannot be loaded: `where` names it, `problem` says why and what to do (one line each)."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")


def extra_ca_file(environ: Mapping[str, str] | None = None) -> str | None:
    """The file `EVENTAPI_EXTRA_CA_CERTS` names (None when unset or empty)."""
    value = (os.environ if environ is None else environ).get(EXTRA_CA_CERTS_ENV, "").strip()
    return value or None


def trust_context(*ca_files: str | Path | None, environ: Mapping[str, str] | None = None) -> ssl.SSLContext | None:
    """A verifying client context: the default CAs plus `ca_files` and `$EVENTAPI_EXTRA_CA_CERTS`.

    None when there is nothing to add (the default verification applies as is).
    """
    extra: list[tuple[str, str | None]] = [(str(f), None) for f in ca_files if f is not None]
    if (env_file := extra_ca_file(environ)) is not None:
        extra.append((env_file, EXTRA_CA_CERTS_ENV))
    if not extra:
        return None
    context = ssl.create_default_context()  # loads the default store; load_verify_locations adds to it
    for path, variable in extra:
        try:
            context.load_verify_locations(cafile=path)
        except (OSError, ssl.SSLError) as err:
            origin = f"{variable}={path}" if variable else f"CA file {path}"
            reason = getattr(err, "strerror", None) or getattr(err, "reason", None) or str(err)
            fix = f"point it at a PEM CA certificate or unset {variable}" if variable else "pass a PEM CA certificate"
            raise TrustError(origin, f"cannot load it as a PEM CA certificate ({reason}); {fix}") from None
    return context
