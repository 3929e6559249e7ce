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

InstanceArg = Annotated[Path, typer.Argument(metavar="INSTANCE", help="Instance file (YAML or JSON).", show_default=False)]
SetOpt = Annotated[
    Optional[list[str]],
    typer.Option("--set", help="Override a field for this run: PATH=VALUE, e.g. offers.A800-server.unit_price=1.1e6."),
]
GapOpt = Annotated[float, typer.Option("--gap", min=0, help="Relative MIP gap; 0 proves optimality.")]
TimeOpt = Annotated[Optional[float], typer.Option("--time-limit", min=0, help="Seconds for the solve.")]
ThreadsOpt = Annotated[int, typer.Option("--threads", min=1, help="HiGHS threads (1 is deterministic).")]


def _console(stderr: bool = False):
    from rich.console import Console

    class PipeConsole(Console):
        def on_broken_pipe(self) -> None:
            # `plan solve ... | head -1`: the reader stopped reading; nothing failed (rich exits 1)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise SystemExit(0)

    return PipeConsole(stderr=stderr, highlight=False)


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


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


StrictOpt = Annotated[bool, typer.Option("--strict", help="Warnings (probable unit mistakes, stale prices) are errors: exit 2.")]


def print_warnings(path: Path, inst, strict: bool = False) -> None:
    """`warning: place: message` lines on stderr (models/warnings.py); the exit code is unchanged,
    unless `strict`: then they are input errors (exit 2)."""
    from models.errors import InputError
    from models.loading import read_data
    from models.warnings import instance_warnings

    try:
        raw = read_data(path)
    except InputError:
        raw = None
    found = instance_warnings(inst, raw)
    if strict and found:
        fail_input(found, str(path))
    for message in found:
        _console(stderr=True).print(f"warning: {message}", markup=False, soft_wrap=True)


def terminal_progress():
    """A progress line on stderr while HiGHS runs, when stderr is a terminal; None otherwise."""
    if not sys.stderr.isatty():
        return None
    from optimizer.output.report import money

    def show(info: dict) -> None:
        if "phase" in info:
            sys.stderr.write(f"\r  {info['phase']}\x1b[K")
            sys.stderr.flush()
            return
        best = "-" if info.get("incumbent") is None else f"{money(info['incumbent'])} {info.get('currency', '')}"
        gap = "-" if info.get("gap") is None else f"{info['gap']:.2%}"
        sys.stderr.write(f"\r  HiGHS {info['elapsed']:6.1f} s   best plan {best}   gap {gap}   \x1b[K")
        sys.stderr.flush()

    return show


def write_atomic(path: Path, data) -> None:
    """Write text or bytes atomically (optimizer.output.files.write_atomic): never a half-written file."""
    from optimizer.output.files import write_atomic as write

    write(path, data)


# --------------------------------------------------------------------------- solve


@app.command()
def solve(
    instance: InstanceArg,
    json_out: Annotated[bool, typer.Option("--json", help="Print the result object as JSON to stdout.")] = False,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write the result to FILE.json, or the plan"
                                                   " as a workbook to FILE.xlsx.")] = None,
    report: Annotated[Optional[Path], typer.Option("--report", help="Also write the HTML report of the plan here.")] = None,
    set_: SetOpt = None,
    gap: GapOpt = 0.0,  # proven optimal by default; 1e-4 is faster on large instances
    time_limit: TimeOpt = None,
    threads: ThreadsOpt = 1,
    scenario: Annotated[Optional[str], typer.Option("--scenario", help="Also show this scenario's own plan.")] = None,
    diagnose_depth: Annotated[str, typer.Option("--diagnose", help="Without a plan: quick (causes from the data and one"
                                                " relaxation, <= 2 s), full (also lowered requirements and the conflicting"
                                                " rules) or none.")] = "quick",
    strict: StrictOpt = False,
) -> None:
    """Find the cheapest buy-and-lease plan (or the largest capacity) for an instance."""
    inst = load_or_exit(instance, set_)
    print_warnings(instance, inst, strict)
    if diagnose_depth not in ("quick", "full", "none"):
        fail_input([f"--diagnose: expected quick, full or none, got {diagnose_depth!r}"])
    if scenario is not None and scenario not in [s.name for s in inst.scenarios]:
        fail_input([f"--scenario: no scenario {scenario!r} (known: {', '.join(s.name for s in inst.scenarios) or 'none'})"])
    from optimizer.planning.solve import SolveOptions, solve_instance

    from optimizer.output.publish import output_problem, write_report, write_result

    problems = [output_problem(output, "-o", (".json", ".xlsx")), output_problem(report, "--report", (".html",))]
    if any(problems):
        fail_input([p for p in problems if p])
    progress = terminal_progress()
    result = solve_instance(inst, SolveOptions(gap=gap, time_limit=time_limit, threads=threads, progress=progress))
    if progress is not None:
        sys.stderr.write("\r\x1b[K")  # the progress line goes before the report
    if result.status == "infeasible" and diagnose_depth != "none":  # why, and what it would take
        from optimizer.analysis.diagnose import diagnose

        left = None if time_limit is None else max(0.0, time_limit - (result.solver.wall_time_s or 0.0))
        result.diagnosis = diagnose(inst, SolveOptions(gap=gap, threads=threads), left, depth=diagnose_depth)
    text = result.model_dump_json(indent=2)
    if output is not None:
        write_result(output, result, inst)
    if report is not None:
        write_report(report, result, inst)
    if json_out:
        sys.stdout.write(text + "\n")
    else:
        from optimizer.output.report import print_report

        print_report(result, _console(), scenario)
        if result.diagnosis:
            from optimizer.analysis.diagnose import print_diagnosis

            print_diagnosis(result.diagnosis, _console())
        for written in (output, report):
            if written is not None:
                _console().print(f"written: {written}")
    raise typer.Exit(EXIT_OK if result.has_plan else EXIT_NO_PLAN)


# --------------------------------------------------------------------------- validate, schema


@app.command()
def validate(instance: InstanceArg, set_: SetOpt = None, strict: StrictOpt = False) -> None:
    """Check an instance file; report every error at once with its place."""
    inst = load_or_exit(instance, set_)
    print_warnings(instance, inst, strict)
    _console().print(
        f"{instance}: valid ({plural(len(inst.chips), 'chip')}, {plural(len(inst.offers), 'offer')}, "
        f"{plural(len(inst.requirements), 'requirement')}, {plural(inst.T, 'period')})"
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

            table = Table(title=f"{report.summary()}: {plan_file}", title_justify="left")
            for col in ("rule", "place", "size", "message"):
                table.add_column(col, justify="right" if col == "size" else "left")
            for v in report.lead():
                table.add_row(escape(v.rule), escape(v.place), f"{v.size:,.6g}", escape(v.message))
            console.print(table)
            if report.roots() and report.consequences():
                console.print(f"[dim]{len(report.consequences())} reported figures that follow: --json lists them[/]")
    raise typer.Exit(EXIT_OK if report.ok else EXIT_NO_PLAN)


# --------------------------------------------------------------------------- chips


@app.command("chips")
def chips_command(
    catalog: Annotated[
        str,
        typer.Argument(help="Catalog or instance file, or a built-in catalog name (catalog, catalog/chips)."),
    ] = "catalog/chips",
    regime: Annotated[
        Optional[str],
        typer.Option("--regime", help="Export-control regime, or 'all' for every one side by side;"
                     " default: the instance's, else the latest regime in force."),
    ] = None,
    country: Annotated[
        Optional[str],
        typer.Option("--country", help="Buyer country (ISO 3166 alpha-2); default: the instance's buyer, else CN."),
    ] = None,
    date: Annotated[
        Optional[str],
        typer.Option("--date", help="A month YYYY-MM: the regime in force then (the newest in force on any"
                     " day of that month), instead of --regime."),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the table as JSON.")] = False,
) -> None:
    """Every chip with its TPP, performance density, interconnect, FP64 and export-control status."""
    import re

    from models.errors import InputError
    from optimizer.compliance import (
        chip_decision, chip_tpp, known_regimes, latest_regime, performance_density, regime_summary,
    )

    try:
        chips, defaults = _read_chips(catalog)
    except InputError as exc:
        fail_input(exc.messages, exc.source)
    known = known_regimes()
    if regime is not None and regime not in (*known, "all"):
        fail_input([f"--regime: unknown regime {regime!r} (known: {', '.join(known)}, or all)"])
    if date is not None:
        from models.regimes import parse_month, regime_in_month

        if regime is not None:
            fail_input(["--date and --regime: give one of them"])
        month = parse_month(date)
        if month is None:
            fail_input([f"--date: expected a month as YYYY-MM, got {date!r}"])
        regime = regime_in_month(*month)
    regime = regime or defaults.get("regime") or latest_regime()
    regimes = [r for r in known if r != "none"] if regime == "all" else [regime]
    country = (country or defaults.get("country") or "CN").strip()
    if not re.fullmatch(r"[A-Za-z]{2}", country):
        fail_input([f"--country: {country!r} is not an ISO 3166 alpha-2 code such as CN or US"])
    country = country.upper()

    rows = []
    for chip in chips:
        rows.append({
            "id": chip.id, "vendor": chip.vendor, "origin": chip.origin,
            "tpp": chip_tpp(chip), "tpp_given": chip.tpp is not None,
            "die_area_mm2": chip.die_area_mm2 or None, "performance_density": performance_density(chip),
            "interconnect_gbps": chip.interconnect_gbps, "fp64_tflops": chip.fp64_tflops,
            "bf16_tflops": chip.bf16_tflops, "export_control": chip.export_control, "source": chip.source,
            "status": {r: vars(chip_decision(chip, r, country)) for r in regimes},
        })
    if json_out:
        payload = {"country": country, "offer_kind": "buy", "regimes": [regime_summary(r) for r in regimes],
                   "chips": rows}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        raise typer.Exit(EXIT_OK)

    from rich import box
    from rich.markup import escape
    from rich.table import Table

    def num(x: float | None, fmt: str = "{:,.0f}") -> str:
        return "?" if x is None else fmt.format(x)

    def name(r: str, sep: str = " ") -> str:
        ended = regime_summary(r)["ended"]
        return r + (f"{sep}until {ended}" if ended else "")

    def short(reason: str, r: str) -> str:  # the title names the regime already
        return reason.replace(f"below {r}: ", "below the thresholds: ").replace(f"{r} ", "")

    where = f"bought for delivery to {country}"
    title = f"Chips under {name(regimes[0])}, {where}" if len(regimes) == 1 else f"Chips {where}"
    if date is not None:
        title += f", in {date}"
    table = Table(title=title, box=box.SIMPLE_HEAD, collapse_padding=True, pad_edge=False, caption=(
        "TPP* derived from the peaks (MODEL.md section 4); PD = TPP per mm^2 of die; link = chip-to-chip GB/s;"
        " ? = not published (counts as controlled where a rule needs it). A lease running outside the"
        " restricted destinations is never blocked."))
    table.add_column("chip", no_wrap=True)
    if len(regimes) == 1:
        for col in ("origin", "TPP", "PD", "link", "FP64"):
            table.add_column(col, justify="left" if col == "origin" else "right", no_wrap=True)
        table.add_column("decision", ratio=1)
    else:
        table.add_column("TPP", justify="right", no_wrap=True)
        for r in regimes:  # the caption names each regime in full
            table.add_column(r.removeprefix("us-20"), no_wrap=True)
        table.caption += " Columns (US rules by month in force): " + "; ".join(
            f"{r} from {regime_summary(r)['in_force']}" + (f" to {regime_summary(r)['ended']}" if regime_summary(r)["ended"] else "")
            for r in regimes) + ". no a = blocked by 3A090.a; named = blocked by name (a letter);"
        " lic. = allowed with a licence reviewed case by case."
    for row in rows:
        tpp = num(row["tpp"], "{:,.6g}") + ("" if row["tpp_given"] else "*")
        if len(regimes) == 1:
            d = row["status"][regimes[0]]
            colour = "red" if d["blocked"] else "green"
            table.add_row(escape(row["id"]), row["origin"] or "?", tpp, num(row["performance_density"], "{:.2f}"),
                          num(row["interconnect_gbps"]), num(row["fp64_tflops"], "{:,.6g}"),
                          f"[{colour}]{escape(short(d['reason'], regimes[0]))}[/]")
        else:
            cells = []
            for r in regimes:
                d = row["status"][r]
                rule = (d["rule"] or "").removeprefix(r).strip()  # the column already names the regime
                licence = "case by case" in d["reason"]
                named = "named in" in d["reason"]
                cells.append(("[red]named[/]" if named else f"[red]no {escape(rule.removeprefix('3A090').lstrip('.'))}[/]")
                             if d["blocked"] else "[yellow]lic.[/]" if licence else "[green]yes[/]")
            table.add_row(escape(row["id"]), tpp, *cells)
    _console().print(table)
    raise typer.Exit(EXIT_OK)


def _read_chips(catalog: str):
    """Chips of a built-in catalog, a catalog file or an instance file, and the instance's defaults."""
    from pydantic import ValidationError

    from models.catalog import BUILTIN, merge_includes
    from models.errors import InputError, messages
    from models.instance import Chip
    from models.loading import read_data

    if catalog in BUILTIN:
        data, source = merge_includes({"include": [catalog]}, Path.cwd() / "<command line>"), catalog
    else:
        source = catalog
        data = read_data(catalog)
        if not isinstance(data, dict):
            raise InputError(["expected a mapping with `chips` (a catalog or an instance)"], source)
        if "include" in data:
            data = merge_includes(data, Path(catalog))
    defaults = {}
    if isinstance(data.get("compliance"), dict):
        defaults["regime"] = data["compliance"].get("regime")
    if isinstance(data.get("buyer"), dict) and isinstance(data["buyer"].get("country"), str):
        defaults["country"] = data["buyer"]["country"]
    items = data.get("chips")
    if not isinstance(items, list) or not items:
        raise InputError(["chips: no chips here (expected a list under `chips`)"], source)
    chips, errors = [], []
    for i, item in enumerate(items):
        try:
            chips.append(Chip.model_validate(item))
        except ValidationError as exc:
            errors += [f"chips[{i}].{m}" for m in messages(exc)]
    if errors:
        raise InputError(errors, source)
    if defaults.get("regime") is not None:
        from optimizer.compliance import known_regimes

        if not isinstance(defaults["regime"], str) or defaults["regime"] == "by-date":
            defaults.pop("regime")  # a schedule has no one regime: the latest (or --date) is shown
        elif defaults["regime"] not in known_regimes():
            raise InputError([f"compliance.regime: unknown regime {defaults['regime']!r}"], source)
    return chips, defaults


# --------------------------------------------------------------------------- offers


@app.command("offers")
def offers_command(
    catalog: Annotated[str, typer.Argument(help="Catalog or instance file, or a built-in catalog name.")] = "catalog/offers",
    json_out: Annotated[bool, typer.Option("--json", help="Print the offers as JSON.")] = False,
) -> None:
    """Catalog offers: vendor, chip, kind, price (own currency and converted), lead time, caps, as_of, source."""
    from models.errors import InputError
    from optimizer.output.offers_view import offer_rows, print_offers

    try:
        rows, currency = offer_rows(catalog)
    except InputError as exc:
        fail_input(exc.messages, exc.source)
    if json_out:
        sys.stdout.write(json.dumps({"currency": currency, "offers": rows}, indent=2) + "\n")
    else:
        print_offers(rows, currency, _console())


# --------------------------------------------------------------------------- quote


@app.command("quote")
def quote_command(
    plan_file: Annotated[Path, typer.Argument(help="Result JSON of `plan solve --json` (or -o).", show_default=False)],
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv, xlsx or json; default from -o's suffix, else csv.")] = "",
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write to this file (needed for xlsx).")] = None,
    instance: Annotated[Optional[Path], typer.Option("--instance", help="The instance solved: itemises fixed costs by"
                                                     " offer and fills vendors missing from older results.")] = None,
    set_: SetOpt = None,
) -> None:
    """Turn a plan into quote lines (vendor, chip, quantity, unit and extended price, months, term) with totals."""
    from models.errors import InputError
    from optimizer.output.quote import build_quote, load_result, render

    suffix = output.suffix.lstrip(".").lower() if output is not None else ""
    fmt = (fmt or (suffix if suffix in ("csv", "xlsx", "json") else "csv")).lower()
    if fmt not in ("csv", "xlsx", "json"):
        fail_input([f"--format: expected csv, xlsx or json, got {fmt!r}"])
    if fmt == "xlsx" and output is None:
        fail_input(["--format xlsx writes a workbook: give -o FILE.xlsx"])
    if set_ and instance is None:
        fail_input(["--set changes the instance: give --instance too"])
    if output is not None and str(output.parent) and not output.parent.exists():
        fail_input([f"-o {output}: folder {output.parent} does not exist"])
    try:
        text = plan_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail_input([f"cannot read the plan: {getattr(exc, 'strerror', None) or exc}"], str(plan_file))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        fail_input([f"not JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}"], str(plan_file))
    inst = load_or_exit(instance, set_) if instance is not None else None
    try:
        quote = build_quote(load_result(data), inst)
    except InputError as exc:
        fail_input(exc.messages, str(plan_file))
    except ValueError as exc:  # a result without a plan
        _console(stderr=True).print(f"[bold red]{plan_file}[/]: {exc}", soft_wrap=True)
        raise typer.Exit(EXIT_NO_PLAN)
    body = render(quote, fmt)
    if output is None:
        sys.stdout.write(body)
    else:
        if isinstance(body, bytes):
            write_atomic(output, body)
        else:
            write_atomic(output, body)
        _console(stderr=True).print(
            f"{len(quote.lines)} quote lines, total {quote.totals.total:,.2f} {quote.currency}: written to {output}")


# --------------------------------------------------------------------------- report, workbook, diff

ResultArg = Annotated[Path, typer.Argument(metavar="RESULT", help="Result JSON of `plan solve` (or `plan explain --json`).",
                                           show_default=False)]
ReportInstanceOpt = Annotated[Optional[Path], typer.Option(
    "--instance", help="The instance solved: capacity split by chip, months and the instance's hash.")]


def _read_result(path: Path):
    """(Result, Explanation | None), or exit 2 naming what is wrong with the file."""
    from models.errors import InputError
    from optimizer.output.plan_data import load_report_input

    try:
        return load_report_input(path)
    except InputError as exc:
        fail_input(exc.messages, exc.source)


def _need_output(output: Optional[Path], suffix: str) -> None:
    from optimizer.output.publish import output_problem

    if output is None:
        fail_input([f"-o: give the file to write, e.g. -o plan{suffix}"])
    if output_problem(output, "-o", (suffix,)):
        fail_input([output_problem(output, "-o", (suffix,))])


@app.command("report")
def report_command(
    result_file: ResultArg,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="The HTML file to write.")] = None,
    instance: ReportInstanceOpt = None,
    set_: SetOpt = None,
) -> None:
    """One self-contained HTML page of a plan: charts of capacity, cash, orders and leases, scenarios."""
    _need_output(output, ".html")
    result, explanation = _read_result(result_file)
    inst = load_or_exit(instance, set_) if instance is not None else None
    from optimizer.output.publish import write_report

    write_report(output, result, inst, explanation)
    _console(stderr=True).print(f"written: {output}")


@app.command("workbook")
def workbook_command(
    result_file: ResultArg,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="The .xlsx file to write.")] = None,
    instance: ReportInstanceOpt = None,
    set_: SetOpt = None,
) -> None:
    """The plan as an Excel workbook: Summary (live formulas), Orders, Leases, Capacity, Cash, Excluded, Scenarios."""
    _need_output(output, ".xlsx")
    result, _ = _read_result(result_file)
    inst = load_or_exit(instance, set_) if instance is not None else None
    from optimizer.output.publish import write_result

    write_result(output, result, inst)
    _console(stderr=True).print(f"written: {output}")


@app.command("diff")
def diff_command(
    plan_a: Annotated[Path, typer.Argument(metavar="A", help="Result JSON of the first plan.", show_default=False)],
    plan_b: Annotated[Path, typer.Argument(metavar="B", help="Result JSON of the second plan.", show_default=False)],
    json_out: Annotated[bool, typer.Option("--json", help="Print the differences as JSON.")] = False,
    report: Annotated[Optional[Path], typer.Option("--report", help="Also write an HTML page (cost waterfall) here.")] = None,
) -> None:
    """What changed between two plans: orders and leases, cost by component and by offer, capacity."""
    from optimizer.analysis.diff import diff_results
    from optimizer.output.publish import output_problem

    if output_problem(report, "--report", (".html",)):
        fail_input([output_problem(report, "--report", (".html",))])
    d = diff_results(_read_result(plan_a)[0], _read_result(plan_b)[0], str(plan_a), str(plan_b))
    if report is not None:
        from optimizer.output.diff_view import diff_report

        write_atomic(report, diff_report(d))
    if json_out:
        sys.stdout.write(d.model_dump_json(indent=2) + "\n")
    else:
        from optimizer.output.diff_view import print_diff

        print_diff(d, _console())


# --------------------------------------------------------------------------- serve


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option("--host", help="Address to listen on; loopback unless you mean otherwise.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8000,
    db: Annotated[Optional[Path], typer.Option("--db", help="SQLite file for results and jobs (PLAN_DB).")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", min=1, help="Solver processes.")] = None,
    queue: Annotated[Optional[int], typer.Option("--queue", min=0, help="Solves waiting beyond busy workers before 503.")] = None,
    solver_threads: Annotated[Optional[int], typer.Option("--solver-threads", min=1, help="HiGHS threads per solve.")] = None,
    max_time_limit: Annotated[Optional[float], typer.Option("--max-time-limit", min=0.001, help="Cap (and default) of a solve's time limit, s.")] = None,
    max_body_bytes: Annotated[Optional[int], typer.Option("--max-body-bytes", min=1, help="Largest request body.")] = None,
    max_offer_periods: Annotated[Optional[int], typer.Option("--max-offer-periods", min=1, help="Largest instance, offers x periods.")] = None,
    max_sweep_points: Annotated[Optional[int], typer.Option("--max-sweep-points", min=1, help="Most points in one sweep.")] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "info",
) -> None:
    """Run the HTTP service (FastAPI on uvicorn): /v1/solve, /v1/sweeps, /v1/jobs, /v1/schema, /healthz.

    Set PLAN_API_TOKEN to require `Authorization: Bearer <token>` on every endpoint but /healthz.
    """
    from models.errors import InputError

    try:
        import uvicorn

        from optimizer.service.app import TOKEN_ENV, Settings, create_app
    except ImportError as exc:
        fail_input([f"plan serve needs fastapi and uvicorn ({exc.name} is missing): pip install fastapi uvicorn"])
    try:
        settings = Settings.from_env(
            db=str(db) if db is not None else None, workers=workers, queue=queue, solver_threads=solver_threads,
            max_time_limit=max_time_limit, max_body_bytes=max_body_bytes, max_offer_periods=max_offer_periods,
            max_sweep_points=max_sweep_points,
        )
    except InputError as exc:
        fail_input(exc.messages)
    if log_level.lower() not in ("critical", "error", "warning", "info", "debug", "trace"):
        fail_input([f"--log-level: expected critical, error, warning, info, debug or trace, got {log_level!r}"])
    if not Path(settings.db).resolve().parent.exists():
        fail_input([f"--db {settings.db}: folder {Path(settings.db).parent} does not exist"])
    if host not in ("127.0.0.1", "localhost", "::1") and not settings.token:
        _console(stderr=True).print(f"[bold yellow]warning[/]: listening on {host} without {TOKEN_ENV}: anyone who"
                                    " can reach it can run solves")
    _console(stderr=True).print(
        f"plan serve: http://{host}:{port}  {settings.workers} workers x {settings.solver_threads} thread(s),"
        f" queue {settings.queue}, time limit <= {settings.max_time_limit:g} s, db {settings.db},"
        f" token {'required' if settings.token else 'not set'}", markup=False, soft_wrap=True)
    # on SIGTERM, requests still waiting for a solve get 10 s; a sweep in progress resumes at the next start
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level.lower(),
                timeout_graceful_shutdown=10)


# --------------------------------------------------------------------------- explain


@app.command("explain")
def explain_command(
    instance: InstanceArg,
    json_out: Annotated[bool, typer.Option("--json", help="Print the explanation as JSON to stdout.")] = False,
    set_: SetOpt = None,
    gap: GapOpt = 0.0,
    time_limit: TimeOpt = None,
    threads: ThreadsOpt = 1,
    tol: Annotated[float, typer.Option("--tol", min=1e-9, max=0.5, help="Relative precision of max_capacity break-even prices (min_cost ones are exact).")] = 1e-4,
    no_break_even: Annotated[bool, typer.Option("--no-break-even", help="Skip the break-even prices (one solve per step).")] = False,
) -> None:
    """Why this plan: binding rules, marginal values and break-even prices (or why there is no plan).

    Exit 0 with a plan, 3 without one (the diagnosis says why), 2 on bad input. --time-limit
    bounds the whole command; break-even prices not reached in time are marked as such.
    """
    inst = load_or_exit(instance, set_)
    from optimizer.analysis.explain import explain, print_explanation
    from optimizer.planning.solve import SolveOptions

    progress = terminal_progress()
    ex = explain(inst, SolveOptions(gap=gap, time_limit=time_limit, threads=threads, progress=progress),
                 break_even=not no_break_even, rel_tol=tol)
    if progress is not None:
        sys.stderr.write("\r\x1b[K")
    if json_out:
        sys.stdout.write(ex.model_dump_json(indent=2) + "\n")
    else:
        print_explanation(ex, _console())
    raise typer.Exit(EXIT_OK if ex.result.has_plan else EXIT_NO_PLAN)


# --------------------------------------------------------------------------- sweep, tornado


from typer.core import TyperCommand  # noqa: E402 - only for _RawArgsCommand below


class _RawArgsCommand(TyperCommand):
    """Keeps the raw arguments: `plan sweep` pairs each --param with the value option after it,
    an order that click does not keep across different options."""

    def parse_args(self, ctx, args):
        ctx.meta["raw_args"] = list(args)
        return super().parse_args(ctx, args)


WorkersOpt = Annotated[int, typer.Option("--workers", min=1, help="Local worker processes (1: this process).")]
SchedulerOpt = Annotated[
    Optional[str],
    typer.Option("--scheduler", help="Run the points on a Dask cluster: tcp://HOST:PORT of its scheduler."),
]
StoreOpt = Annotated[
    Optional[Path],
    typer.Option("--store", help="SQLite file of finished points; a rerun skips them. Default: next to --out."),
]
PlotOpt = Annotated[Optional[Path], typer.Option("--plot", help="Write a PNG chart here.")]


def _pair_axes(raw: list[str], params: list[str], specs: dict[str, list[str]]) -> list[tuple[str, str, str]]:
    """(path, kind, spec): the i-th --param takes the i-th of --values/--range/--scale, in the
    order they appear on the command line."""
    seen_params: list[str] = []
    seen_specs: list[tuple[str, str]] = []
    i = 0
    while i < len(raw) and raw[i] != "--":
        name, eq, inline = raw[i].partition("=")
        if name in ("--param", "--values", "--range", "--scale"):
            value = inline if eq else (raw[i + 1] if i + 1 < len(raw) else "")
            i += 1 if eq else 2
            if name == "--param":
                seen_params.append(value)
            else:
                seen_specs.append((name[2:], value))
            continue
        i += 1
    parsed_specs = sorted((k, v) for k, vs in specs.items() for v in vs)
    if seen_params != params or sorted(seen_specs) != parsed_specs:
        fail_input(["--param: could not tell which values go with which --param; write each "
                    "--param PATH directly followed by one of --values, --range, --scale"])
    if not params:
        fail_input(["--param: give at least one, e.g. --param offers.A800-server.unit_price --scale 0.5:1.5:5"])
    if len(seen_specs) != len(seen_params):
        fail_input([f"--param: {len(seen_params)} --param but {len(seen_specs)} of --values/--range/--scale; "
                    "each --param takes exactly one"])
    return [(p, kind, spec) for p, (kind, spec) in zip(seen_params, seen_specs)]


def _open_store(store: Optional[Path], out: Optional[Path]):
    from optimizer.analysis.sweep_store import Store, StoreError

    path = store if store is not None else (out.with_suffix(".sqlite") if out is not None else None)
    if path is None:
        return None
    if not (path.parent.exists() if str(path.parent) else True):
        fail_input([f"--store {path}: folder {path.parent} does not exist"])
    try:
        return Store(path)
    except StoreError as exc:
        fail_input([str(exc)])


def _check_outputs(out: Optional[Path], plot: Optional[Path], kinds=(".csv", ".parquet")) -> None:
    for option, path, allowed in (("--out", out, kinds), ("--plot", plot, (".png",))):
        if path is None:
            continue
        if path.suffix.lower() not in allowed:
            fail_input([f"{option} {path}: expected a {' or '.join(allowed)} file"])
        if str(path.parent) and not path.parent.exists():
            fail_input([f"{option} {path}: folder {path.parent} does not exist"])
    if out is not None and out.suffix.lower() == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            fail_input([f"--out {out}: Parquet needs pyarrow (pip install 'plan[parquet]'); or write .csv"])
    if plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            fail_input([f"--plot {plot}: charts need matplotlib (pip install matplotlib)"])


def _write_table(path: Path, records: list[dict]) -> None:
    """CSV or Parquet, atomically."""
    import pandas as pd

    frame = pd.DataFrame.from_records(records)
    if path.suffix.lower() == ".csv":
        write_atomic(path, frame.to_csv(index=False))
        return
    write_atomic(path, lambda tmp: frame.to_parquet(tmp, index=False))


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.0f}" if 1e3 <= abs(v) < 1e15 else f"{v:,.6g}"
    return str(v)


def _row_cells(row: dict, paths: list[str]) -> list[str]:
    from rich.markup import escape

    mix = row.get("mix") or {}
    lead = max(sorted(mix), key=lambda c: mix[c]) if mix and max(mix.values()) > 0 else None
    used = sorted(((u["bought"] + u["leased"], c, u) for c, u in (row.get("units") or {}).items()
                   if u["bought"] or u["leased"]), key=lambda x: (-x[0], x[1]))
    units = ", ".join(f"{c} {u['bought']}b/{u['leased']}l" for _, c, u in used[:3])
    units += f", +{len(used) - 3} more" if len(used) > 3 else ""
    status = row["status"] if row["status"] in ("optimal", "feasible") else f"[red]{row['status']}[/]"
    return ([escape(_fmt(row["params"].get(p))) for p in paths]
            + [status, _fmt(row["objective"]), escape(f"{lead} {mix[lead]:.0%}") if lead else "-",
               escape(units or "-"), "stored" if row.get("from_store") else f"{row.get('time_s', 0):.2f}s"])


def _rows_table(rows: list[dict], paths: list[str], title: str | None = None):
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for p in paths:
        table.add_column(escape(".".join(p.split(".")[-2:])), justify="right")
    table.add_column("status")
    table.add_column("objective", justify="right")
    table.add_column("largest share")
    table.add_column("units bought/leased per chip")
    table.add_column("time", justify="right")
    for row in rows:
        table.add_row(*_row_cells(row, paths))
    return table


class _SweepDisplay:
    """A progress bar with ETA and the latest rows while a sweep runs (stderr with --json)."""

    def __init__(self, console, paths: list[str], label: str):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
            TimeRemainingColumn

        self.console, self.paths = console, paths
        self.recent: list[dict] = []
        self.progress = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 TextColumn("ETA"), TimeRemainingColumn(), console=console)
        self.task = self.progress.add_task(label, total=None)
        self.live = None

    def __enter__(self):
        from rich.live import Live

        self.live = Live(self._render(), console=self.console, refresh_per_second=4, transient=True)
        self.live.__enter__()
        return self

    def __exit__(self, *exc):
        self.live.__exit__(*exc)

    def _render(self):
        from rich.console import Group

        return Group(_rows_table(self.recent[-8:], self.paths), self.progress) if self.recent else self.progress

    def on_row(self, row, done: int, total: int) -> None:
        if row is None:  # the start: stored points count as done, and the ETA covers the rest
            self.progress.reset(self.task, total=total, completed=done)
        else:
            self.recent.append(row)
            self.progress.update(self.task, completed=done)
        self.live.update(self._render())


def _run_points(console, paths, label, base, set_, points, options, workers, scheduler, store, warm_start):
    """run_sweep with the display, and the exits of an interrupt or a broken worker pool."""
    from models.errors import InputError
    from optimizer.analysis.sweep import WorkerFailure, run_sweep

    where = f" in {store.path}" if store is not None else ""
    try:
        with _SweepDisplay(console, paths, label) as display:
            outcome = run_sweep(base, set_ or [], points, options, workers=workers, scheduler=scheduler,
                                store=store, warm_start=warm_start, on_row=display.on_row)
    except KeyboardInterrupt:
        kept = f"{store.count()} points stored{where}; rerun the same command to resume" if store is not None \
            else "nothing stored (no --store or --out)"
        sys.stderr.write(f"interrupted: {kept}\n")
        raise typer.Exit(130)
    except WorkerFailure as exc:
        sys.stderr.write(f"plan: {exc}{where}; rerun the same command to resume\n")
        raise typer.Exit(EXIT_ERROR)
    except ConnectionError as exc:
        sys.stderr.write(f"plan: {exc}\n")
        raise typer.Exit(EXIT_ERROR)
    except InputError as exc:
        fail_input(exc.messages, exc.source)
    return outcome


@app.command("sweep", cls=_RawArgsCommand)
def sweep_command(
    ctx: typer.Context,
    instance: InstanceArg,
    param: Annotated[Optional[list[str]], typer.Option(
        "--param", help="A number to sweep, by the path syntax of --set; each takes one of the next three.")] = None,
    values: Annotated[Optional[list[str]], typer.Option("--values", help="Values a,b,c (read as --set reads them).")] = None,
    range_: Annotated[Optional[list[str]], typer.Option("--range", help="start:stop:n, evenly spaced, ends included.")] = None,
    scale: Annotated[Optional[list[str]], typer.Option("--scale", help="lo:hi:n multiples of the instance's value.")] = None,
    samples: Annotated[Optional[int], typer.Option(
        "--samples", min=1, help="Draw N random scenarios within each parameter's values instead of the grid.")] = None,
    dist: Annotated[str, typer.Option("--dist", help="Distribution of --samples: uniform | triangular "
                                      "(mode at the instance's value).")] = "uniform",
    seed: Annotated[int, typer.Option("--seed", help="Seed of --samples.")] = 0,
    set_: SetOpt = None,
    gap: GapOpt = 0.0,  # as plan solve
    time_limit: TimeOpt = None,
    threads: ThreadsOpt = 1,
    workers: WorkersOpt = 1,
    scheduler: SchedulerOpt = None,
    store: StoreOpt = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the rows to FILE.csv or FILE.parquet.")] = None,
    plot: PlotOpt = None,
    report: Annotated[Optional[Path], typer.Option("--report", help="Write an HTML report (objective and mix"
                                                   " against the parameters) here.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print {rows: [...]} as JSON to stdout.")] = False,
    warm_start: Annotated[bool, typer.Option("--warm-start/--no-warm-start",
                                             help="Start HiGHS from the previous point's plan.")] = True,
) -> None:
    """Solve the instance at many values of some of its numbers: what if prices move?

    Exit 0: every point solved, at least one with a plan. 3: no point has a plan.
    1: points failed or a worker died (finished points are stored: rerun to resume). 130: Ctrl-C.
    """
    from models.errors import InputError
    from models.loading import apply_overrides, read_data, resolve_includes
    from optimizer.planning.solve import SolveOptions
    from optimizer.analysis.sweep import flat_rows, grid, make_axis, resolve_points, sample

    inst = load_or_exit(instance, set_)  # the base must be valid before any point is
    axes_spec = _pair_axes(ctx.meta.get("raw_args", []), param or [],
                           {"values": values or [], "range": range_ or [], "scale": scale or []})
    _check_outputs(out, plot)
    from optimizer.output.publish import output_problem

    if output_problem(report, "--report", (".html",)):
        fail_input([output_problem(report, "--report", (".html",))])
    options = SolveOptions(gap=gap, time_limit=time_limit, threads=threads)
    try:
        base = resolve_includes(read_data(instance), instance)
        with_sets = apply_overrides(base, set_ or [])
        axes = [make_axis(path, kind, spec, with_sets) for path, kind, spec in axes_spec]
        if len({a.path for a in axes}) != len(axes):
            raise InputError(["--param: each path may be swept once"])
        param_sets = sample(axes, samples, dist, seed, with_sets) if samples else grid(axes)
        points = resolve_points(base, set_ or [], param_sets, options, str(instance))
    except InputError as exc:
        fail_input([m.replace("--set ", "--param ", 1) if m.startswith("--set ") else m for m in exc.messages],
                   exc.source)
    db = _open_store(store, out)
    console = _console(stderr=json_out)
    paths = [a.path for a in axes]
    try:
        outcome = _run_points(console, paths, "sweep", base, set_, points, options, workers, scheduler, db,
                                 warm_start)
    finally:
        if db is not None:
            db.close()
    rows = outcome.rows
    if out is not None:
        _write_table(out, flat_rows(rows, paths))
    if plot is not None:
        from optimizer.output.plots import plot_sweep

        plot_sweep(rows, paths, plot, f"{inst.name}: {len(rows)} points", currency=inst.currency,
                   sampled=bool(samples))
    if report is not None:
        from optimizer.output.html import sweep_report

        write_atomic(report, sweep_report(rows, paths, inst.name, inst.currency, sampled=bool(samples)))
    if json_out:
        payload = {
            "instance": str(instance), "params": paths, "mode": "samples" if samples else "grid",
            "options": {"gap": gap, "time_limit": time_limit, "threads": threads},
            "store": str(db.path) if db is not None else None,
            "solved": outcome.solved, "from_store": outcome.from_store,
            "failed": [{"params": p, "error": e} for p, e in outcome.failed],
            "rows": rows,
        }
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        shown = rows if len(rows) <= 40 else rows[:20]
        console.print(_rows_table(shown, paths, title=f"{len(rows)} points"))
        if len(rows) > len(shown):
            console.print(f"... {len(rows) - len(shown)} more rows" + (f" in {out}" if out else " (--out FILE.csv for all)"))
        note = f"; store {db.path}" if db is not None else "; not stored (add --store FILE to resume after a stop)"
        console.print(f"{outcome.solved} solved now, {outcome.from_store} from the store{note}", soft_wrap=True)
        for written in (out, plot, report):
            if written is not None:
                console.print(f"written: {written}")
    for params, error in outcome.failed:
        sys.stderr.write(f"plan: point {params} failed: {error}\n")
    if outcome.failed:
        raise typer.Exit(EXIT_ERROR)
    raise typer.Exit(EXIT_OK if any(r["objective"] is not None for r in rows) else EXIT_NO_PLAN)


@app.command("tornado")
def tornado_command(
    instance: InstanceArg,
    swing: Annotated[str, typer.Option("--swing", help="How far each price moves down and up: 20% or 0.2.")] = "20%",
    set_: SetOpt = None,
    gap: GapOpt = 0.0,  # as plan solve
    time_limit: TimeOpt = None,
    threads: ThreadsOpt = 1,
    workers: WorkersOpt = 1,
    scheduler: SchedulerOpt = None,
    store: StoreOpt = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the bars to FILE.csv or FILE.parquet.")] = None,
    plot: PlotOpt = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Bars in the chart (the table shows all).")] = 25,
    json_out: Annotated[bool, typer.Option("--json", help="Print {base, bars: [...]} as JSON to stdout.")] = False,
) -> None:
    """Swing every price of the instance down and up, one at a time; rank by impact on the objective.

    Prices: each offer's unit_price, price breaks and fixed cost, the energy price, fx rates.
    Exit 0 with a base plan, 3 without one, 1 when points failed.
    """
    from models.errors import InputError
    from models.loading import read_data, resolve_includes
    from optimizer.planning.prepare import prepare
    from optimizer.planning.solve import SolveOptions
    from optimizer.analysis.sweep import instance_prices, parse_swing, resolve_points, tornado_bars, tornado_points

    inst = load_or_exit(instance, set_)
    _check_outputs(out, plot)
    options = SolveOptions(gap=gap, time_limit=time_limit, threads=threads)
    try:
        share = parse_swing(swing)
        base = resolve_includes(read_data(instance), instance)
        prices, skipped = instance_prices(inst, prepare(inst))
        points = resolve_points(base, set_ or [], tornado_points(prices, share), options, str(instance))
    except InputError as exc:
        fail_input(exc.messages, exc.source)
    db = _open_store(store, out)
    console = _console(stderr=json_out)
    try:
        outcome = _run_points(console, [], f"tornado +-{share:.0%}", base, set_, points, options, workers,
                                 scheduler, db, True)
    finally:
        if db is not None:
            db.close()
    by_params = {tuple(sorted(r["params"].items())): r for r in outcome.rows}
    base_row, bars = tornado_bars(prices, lambda p: by_params.get(tuple(sorted(p.items()))), share)
    base_obj = base_row["objective"] if base_row is not None else None
    if out is not None:
        _write_table(out, bars)
    if plot is not None:
        from optimizer.output.plots import plot_tornado

        unit = inst.currency if inst.objective.sense == "min_cost" else inst.objective.metric
        plot_tornado(bars, base_obj, plot, f"{inst.name}: each price -{share:.0%} / +{share:.0%}",
                     currency=unit, swing=share, top=top)
    if json_out:
        payload = {"instance": str(instance), "swing": share, "base": base_row, "bars": bars,
                   "skipped": skipped, "failed": [{"params": p, "error": e} for p, e in outcome.failed]}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        from rich.markup import escape
        from rich.table import Table

        base_text = "no plan" if base_obj is None else f"{base_obj:,.0f}" if abs(base_obj) >= 100 else _fmt(base_obj)
        table = Table(title=f"{inst.name}: objective {base_text} {inst.currency if inst.objective.sense == 'min_cost' else ''}"
                      f"; change when one price moves -{share:.0%} / +{share:.0%}, largest first", title_justify="left")
        for col in ("#", "price", "value", f"change at -{share:.0%}", f"change at +{share:.0%}"):
            table.add_column(col, justify="left" if col == "price" else "right")

        def change(bar, s):
            if bar[f"{s}_delta"] is None:
                return f"[red]{bar[f'{s}_status'].replace('_', ' ')}[/]"
            return f"{bar[f'{s}_delta']:+,.0f}" if abs(bar[f"{s}_delta"]) >= 100 else f"{bar[f'{s}_delta']:+,.6g}"

        for i, b in enumerate(bars, 1):
            table.add_row(str(i), escape(b["label"]), _fmt(b["value"]), change(b, "low"), change(b, "high"))
        console.print(table)
        for note in skipped:
            console.print(f"not swung: {note}", markup=False)
        if plot is not None:
            console.print(f"written: {plot}")
    for params, error in outcome.failed:
        sys.stderr.write(f"plan: point {params} failed: {error}\n")
    if outcome.failed:
        raise typer.Exit(EXIT_ERROR)
    raise typer.Exit(EXIT_OK if base_obj is not None else EXIT_NO_PLAN)


# --------------------------------------------------------------------------- hedge


@app.command("hedge")
def hedge_command(
    instance: InstanceArg,
    json_out: Annotated[bool, typer.Option("--json", help="Print the numbers as JSON to stdout.")] = False,
    plan_for: Annotated[Optional[str], typer.Option("--plan-for", help="Scenario of the naive plan; default the most probable.")] = None,
    set_: SetOpt = None,
    gap: GapOpt = 0.0,
    time_limit: TimeOpt = None,
    threads: ThreadsOpt = 1,
) -> None:
    """What the hedge is worth: the scenario plan (RP), wait-and-see and EVPI, the naive plan and VSS."""
    from models.errors import InputError
    from optimizer.analysis.hedge import hedge
    from optimizer.output.hedge_view import print_hedge
    from optimizer.planning.solve import SolveOptions

    inst = load_or_exit(instance, set_)
    try:
        h = hedge(inst, SolveOptions(gap=gap, time_limit=time_limit, threads=threads), plan_for)
    except InputError as exc:
        fail_input(exc.messages, exc.source)
    if json_out:
        sys.stdout.write(h.model_dump_json(indent=2) + "\n")
    else:
        print_hedge(h, _console())
    raise typer.Exit(EXIT_OK if h.rp is not None else EXIT_NO_PLAN)


# --------------------------------------------------------------------------- entry point


def main() -> None:
    """Console entry point. Click handles usage errors (exit 2) and exits with each command's
    code; anything unexpected exits 1 with one line instead of a traceback."""
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except BrokenPipeError:  # `plan solve ... | head -1`: the reader stopped reading, nothing failed
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's flush at exit must not raise again
        sys.exit(0)
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if os.environ.get("PLAN_DEBUG"):
            raise
        sys.stderr.write(f"plan: internal error: {type(exc).__name__}: {exc}\n(set PLAN_DEBUG=1 for a traceback)\n")
        sys.exit(EXIT_ERROR)


if __name__ == "__main__":
    main()
