"""Atomic writes: every file `plan` writes appears whole or not at all."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: str | Path, data: str | bytes | Callable[[str], None]) -> None:
    """Write text, bytes, or whatever `data(tmp_path)` writes, via a temp file and a rename.

    The temp file lives in the target's folder so the rename stays on one file system; on any
    error (or Ctrl-C) it is removed and the target is left as it was.
    """
    from models.errors import InputError

    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InputError([f"{path}: is a folder; give a file name"])
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise InputError([f"{path}: cannot write there ({exc.strerror})"]) from None
    try:
        if callable(data):
            os.close(fd)
            data(tmp)
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data.encode("utf-8") if isinstance(data, str) else data)
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 would outlive the rename
        os.replace(tmp, path)
    except OSError as exc:  # a full disk, a read-only target: say where, leave nothing behind
        Path(tmp).unlink(missing_ok=True)
        raise InputError([f"{path}: cannot write it ({exc.strerror or exc})"]) from None
    except BaseException:  # Ctrl-C, SIGTERM (main turns it into SystemExit), a writer's error
        Path(tmp).unlink(missing_ok=True)
        raise
