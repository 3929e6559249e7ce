"""Worker processes that do not outlive their parent: on Linux the kernel sends them SIGKILL when
the process that started them dies (`prctl(PR_SET_PDEATHSIG)`), so a `kill -9` of `plan serve` or
of `plan sweep --workers N` leaves no solver behind holding gigabytes."""

from __future__ import annotations

import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Call first thing in a worker process. A no-op where prctl does not exist."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before the call: follow it now
        os._exit(1)
