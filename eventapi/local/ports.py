"""Whether a fixed port is free, asked before anything starts (a taken port fails in a second, not after synth)."""

from __future__ import annotations

import errno
import socket

from eventapi.local.control_plane import PortInUseError


def check_port_free(host: str, port: int | None, what: str, option: str) -> None:
    """Fail with a one-line `PortInUseError` when a fixed port is taken (0 and None are always fine)."""
    if not port:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
        try:
            probe.bind((host, port))
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise PortInUseError(what, host, port, option) from None
            raise
