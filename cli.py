"""`plan`: the command line.

Exit codes of every command (MODEL.md section 6): 0 a plan was found or the command
succeeded; 2 invalid input or usage; 3 no plan (infeasible, unbounded, time limit);
1 anything else. Heavy libraries (pandas, Pyomo, HiGHS) load only inside the commands that
need them, so `plan validate` starts fast.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(
    name="plan",
    help="Procurement planner for AI compute: which accelerators to buy or lease, when, and from whom.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

EXIT_OK, EXIT_ERROR, EXIT_INPUT, EXIT_NO_PLAN = 0, 1, 2, 3

InstanceArg = Annotated[Path, typer.Argument(help="Instance file (YAML or JSON).", show_default=False)]
SetOpt = Annotated[
    Optional[list[str]],
    typer.Option("--set", help="Override a field for this run: PATH=VALUE, e.g. offers.A800-server.unit_price=1.1e6."),
]
GapOpt = Annotated[float, typer.Option("--gap", min=0, help="Relative MIP gap; 0 proves optimality.")]
TimeOpt = Annotated[Optional[float], typer.Option("--time-limit", min=0, help="Seconds for the solve.")]
ThreadsOpt = Annotated[int, typer.Option("--threads", min=1, help="HiGHS threads (1 is deterministic).")]


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def fail_input(messages: list[str], source: str | None = None) -> None:
    """Print located input errors to stderr and exit 2."""
    err = _console(stderr=True)
    head = f"{source}: " if source else ""
    noun = "error" if len(messages) == 1 else "errors"
    err.print(f"[bold red]invalid input[/] {head}{len(messages)} {noun}", soft_wrap=True)
    for msg in messages:
        err.print(f"  - {msg}", markup=False, soft_wrap=True)
    raise typer.Exit(EXIT_INPUT)


def load_or_exit(path: Path, overrides: list[str] | None):
    from models.errors import InputError
    from models.loading import load_instance

    try:
        return load_instance(path, overrides)
    except InputError as exc:
        fail_input(exc.messages, exc.source)


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` via a temp file in the same folder and a rename: never half-written."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- solve


@app.command()
def solve(
    instance: InstanceArg,
    json_out: Annotated[bool, typer.Option("--json", help="Print the result object as JSON to stdout.")] = False,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write the result JSON to this file.")] = None,
    set_: SetOpt = None,
    gap: GapOpt = 1e-6,
    time_limit: TimeOpt = None,
    threads: ThreadsOpt = 1,
) -> None:
    """Find the cheapest buy-and-lease plan (or the largest capacity) for an instance."""
    inst = load_or_exit(instance, set_)
    from optimizer.solve import SolveOptions, solve_instance

    if output is not None and not (output.parent.exists() if str(output.parent) else True):
        fail_input([f"-o {output}: folder {output.parent} does not exist"])
    result = solve_instance(inst, SolveOptions(gap=gap, time_limit=time_limit, threads=threads))
    text = result.model_dump_json(indent=2)
    if output is not None:
        write_atomic(output, text + "\n")
    if json_out:
        sys.stdout.write(text + "\n")
    else:
        from optimizer.report import print_report

        print_report(result, _console())
        if output is not None:
            _console().print(f"result written to {output}")
    raise typer.Exit(EXIT_OK if result.has_plan else EXIT_NO_PLAN)


# --------------------------------------------------------------------------- validate, schema


@app.command()
def validate(instance: InstanceArg, set_: SetOpt = None) -> None:
    """Check an instance file; report every error at once with its place."""
    inst = load_or_exit(instance, set_)
    _console().print(
        f"{instance}: valid ({len(inst.chips)} chips, {len(inst.offers)} offers, "
        f"{len(inst.requirements)} requirements, {inst.T} periods)"
    )


@app.command()
def schema(
    which: Annotated[str, typer.Argument(help="instance or result")],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write to this file.")] = None,
) -> None:
    """Print the JSON Schema of the instance or result format (generated from the models)."""
    from models.schema import json_schema

    if which not in ("instance", "result"):
        fail_input([f"schema: expected 'instance' or 'result', got {which!r}"])
    text = json.dumps(json_schema(which), indent=2) + "\n"
    if output is not None:
        write_atomic(output, text)
    else:
        sys.stdout.write(text)


# --------------------------------------------------------------------------- check


@app.command("check")
def check_command(
    instance: InstanceArg,
    plan_file: Annotated[Path, typer.Argument(help="Result JSON of `plan solve --json` (or -o).", show_default=False)],
    json_out: Annotated[bool, typer.Option("--json", help="Print the check report as JSON.")] = False,
    set_: SetOpt = None,
    tol: Annotated[float, typer.Option("--tol", min=0, help="Relative tolerance (absolute below 1).")] = 1e-6,
) -> None:
    """Check a plan without the solver: every constraint and cost of MODEL.md, from the plan alone.

    Exit 0 when the plan is valid and its reported costs match, 3 otherwise, 2 on bad input.
    """
    inst = load_or_exit(instance, set_)
    from models.errors import InputError
    from optimizer.check import check_plan

    try:
        text = plan_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail_input([f"cannot read the plan: {getattr(exc, 'strerror', None) or exc}"], str(plan_file))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        fail_input([f"not JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}"], str(plan_file))
    try:
        report = check_plan(inst, data, tol=tol)
    except InputError as exc:
        fail_input(["not a result of `plan solve`: " + m for m in exc.messages], str(plan_file))
    if json_out:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        console = _console()
        if report.ok:
            console.print(f"[green]{report.describe()}[/]")
        else:
            from rich.markup import escape
            from rich.table import Table

            table = Table(title=f"{len(report.violations)} violation(s) in {plan_file}")
            for col in ("rule", "place", "size", "message"):
                table.add_column(col, justify="right" if col == "size" else "left")
            for v in report.violations:
                table.add_row(escape(v.rule), escape(v.place), f"{v.size:,.6g}", escape(v.message))
            console.print(table)
    raise typer.Exit(EXIT_OK if report.ok else EXIT_NO_PLAN)


# --------------------------------------------------------------------------- entry point


def main() -> None:
    """Console entry point: usage errors exit 2, unexpected errors exit 1 with one line."""
    try:
        code = app(standalone_mode=False)  # click returns the exit code of typer.Exit here
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(EXIT_INPUT if isinstance(exc, click.exceptions.UsageError) else exc.exit_code)
        if os.environ.get("PLAN_DEBUG"):
            raise
        sys.stderr.write(f"plan: internal error: {type(exc).__name__}: {exc}\n(set PLAN_DEBUG=1 for a traceback)\n")
        sys.exit(EXIT_ERROR)
    sys.exit(code if isinstance(code, int) else EXIT_OK)


if __name__ == "__main__":
    main()
