"""The terminal of the command line: a console that takes a closed pipe calmly, and the progress
line shown on stderr while HiGHS runs (only when stderr is a terminal)."""

from __future__ import annotations

import os
import sys


def console(stderr: bool = False):
    from rich.console import Console

    class PipeConsole(Console):
        def on_broken_pipe(self) -> None:
            # `plan solve ... | head -1`: the reader stopped reading; nothing failed (rich exits 1)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise SystemExit(0)

    return PipeConsole(stderr=stderr, highlight=False)


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def terminal_progress():
    """A progress callback writing one line on stderr, when stderr is a terminal; None otherwise."""
    if not sys.stderr.isatty():
        return None
    from optimizer.output.report import money

    def show(info: dict) -> None:
        if "phase" in info:
            sys.stderr.write(f"\r  {info['phase']}\x1b[K")
        else:
            best = "-" if info.get("incumbent") is None else f"{money(info['incumbent'])} {info.get('currency', '')}"
            gap = "-" if info.get("gap") is None else f"{info['gap']:.2%}"
            sys.stderr.write(f"\r  HiGHS {info['elapsed']:6.1f} s   best plan {best}   gap {gap}   \x1b[K")
        sys.stderr.flush()

    return show


def clear_progress(progress) -> None:
    if progress is not None:
        sys.stderr.write("\r\x1b[K")  # the progress line goes before the report
