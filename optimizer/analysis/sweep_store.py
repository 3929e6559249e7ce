"""The sweep store: finished points in SQLite, so a sweep can stop anywhere and resume.

One row per point, keyed by the point's content (`sweep.point_key`: a hash of the fully
resolved instance and the solve options), holding the row JSON exactly as the sweep produced
it. Each row is committed on its own as soon as it arrives, in WAL mode: a Ctrl-C or a killed
process loses at most the points still being solved, never a stored one. A rerun of the same
sweep reads the stored rows and solves only the others; several sweeps may share one store,
and rows of the same point are shared between them.

`synchronous=NORMAL` in WAL mode survives the death of the process (what an interrupt is);
only a power cut may lose the last commits, and never corrupts the file.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

FORMAT = 1  # bumped when the table changes; an older store is refused with a message


class StoreError(Exception):
    """The store file cannot be used (not SQLite, another format, unwritable)."""


class Store:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            # isolation_level=None: autocommit; every put() is its own transaction
            self.db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS points ("
                " key TEXT PRIMARY KEY,"
                " row TEXT NOT NULL,"  # the row JSON, as produced
                " stored_at REAL NOT NULL)"
            )
            found = self.db.execute("SELECT value FROM meta WHERE name = 'format'").fetchone()
            if found is None:
                self.db.execute("INSERT OR IGNORE INTO meta VALUES ('format', ?)", (str(FORMAT),))
            elif found[0] != str(FORMAT):
                raise StoreError(f"{self.path}: a sweep store of format {found[0]}, this plan reads {FORMAT}")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a sweep store ({exc})") from None

    def get_many(self, keys: list[str]) -> dict[str, dict]:
        """Stored rows of these keys (the others are absent)."""
        out: dict[str, dict] = {}
        keys = list(dict.fromkeys(keys))
        for i in range(0, len(keys), 500):  # SQLite limits the number of bound values
            chunk = keys[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for key, row in self.db.execute(f"SELECT key, row FROM points WHERE key IN ({marks})", chunk):
                out[key] = json.loads(row)
        return out

    def put(self, key: str, row: dict) -> None:
        """Commit one finished point; the first row stored for a key is kept."""
        self.db.execute("INSERT OR IGNORE INTO points VALUES (?, ?, ?)", (key, json.dumps(row), time.time()))

    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM points").fetchone()[0]

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_store(store, out):
    """The store of a sweep: --store, else next to --out (FILE.sqlite), else none."""
    from pathlib import Path

    from models.errors import InputError

    path = store if store is not None else (Path(out).with_suffix(".sqlite") if out is not None else None)
    if path is None:
        return None
    path = Path(path)
    if str(path.parent) and not path.parent.exists():
        raise InputError([f"--store {path}: folder {path.parent} does not exist"])
    try:
        return Store(path)
    except StoreError as exc:
        raise InputError([str(exc)]) from None
