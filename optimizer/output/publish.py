"""Files people share, by their extension: the glue between `plan` commands and the writers
(result JSON, workbook, HTML report). Keeps cli.py's command functions short."""

from __future__ import annotations

from pathlib import Path

from models.result import Result
from optimizer.output.files import write_atomic

RESULT_SUFFIXES = (".json", ".xlsx")


def output_problem(path: Path | None, option: str, suffixes: tuple[str, ...]) -> str | None:
    """A message when `path` cannot be written as asked (wrong suffix, missing folder), else None."""
    if path is None:
        return None
    if path.suffix.lower() not in suffixes:
        return f"{option} {path}: expected a {' or '.join(suffixes)} file"
    if str(path.parent) and not path.parent.exists():
        return f"{option} {path}: folder {path.parent} does not exist"
    return None


def check_outputs(*asks: tuple[Path | None, str, tuple[str, ...]]) -> None:
    """Every output path that cannot be written as asked, at once: InputError (exit 2)."""
    from models.errors import InputError

    problems = [p for p in (output_problem(*ask) for ask in asks) if p]
    if problems:
        raise InputError(problems)


def report_inputs(result_file: Path, output: Path | None, suffix: str):
    """(result, explanation) for `plan report` and `plan workbook`; InputError when -o is missing
    or wrong, or the file is not a result."""
    from models.errors import InputError
    from optimizer.output.plan_data import load_report_input

    if output is None or output_problem(output, "-o", (suffix,)):
        raise InputError([output_problem(output, "-o", (suffix,)) or f"-o: give the file to write, e.g. -o plan{suffix}"])
    return load_report_input(result_file)


def write_result(path: Path, result: Result, instance=None) -> None:
    """`plan solve -o`: the result JSON, or the plan as a workbook for .xlsx."""
    if path.suffix.lower() == ".xlsx":
        from optimizer.output.workbook import plan_workbook

        write_atomic(path, plan_workbook(result, instance))
    else:
        write_atomic(path, result.model_dump_json(indent=2) + "\n")


def write_report(path: Path, result: Result, instance=None, explanation=None) -> None:
    from optimizer.output.html import plan_report

    write_atomic(path, plan_report(result, instance, explanation))
