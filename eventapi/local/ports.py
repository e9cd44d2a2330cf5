"""Whether a fixed port is free, asked before anything starts (a taken port fails in a second, not after synth)."""

from __future__ import annotations

import errno

from eventapi.local.control_plane import PortInUseError
from eventapi.local.server import bind_socket


def check_port_free(host: str, port: int | None, what: str, option: str) -> None:
    """Fail with a one-line `PortInUseError` when a fixed port is taken (0 and None are always fine)."""
    if not port:
        return
    try:
        bind_socket(host, port).close()  # as the servers bind
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            raise PortInUseError(what, host, port, option) from None
        raise
