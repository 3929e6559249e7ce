"""`plan`: the command line. Argument parsing and exit codes only: each command calls one
function of the package and one renderer (optimizer/output/).

Exit codes of every command (MODEL.md section 6): 0 a plan was found or the command
succeeded; 2 invalid input or usage; 3 no plan (infeasible, unbounded, time limit);
1 anything else. Heavy libraries (pandas, Pyomo, HiGHS) load only inside the commands that
need them, so `plan validate` starts fast.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperCommand

app = typer.Typer(
    name="plan",
    help="Procurement planner for AI compute: which accelerators to buy or lease, when, and from whom.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

EXIT_OK, EXIT_ERROR, EXIT_INPUT, EXIT_NO_PLAN = 0, 1, 2, 3


def _opt(*names, **kw):
    return typer.Option(*names, **kw)


InstanceArg = Annotated[Path, typer.Argument(metavar="INSTANCE", help="Instance file (YAML or JSON).", show_default=False)]
ResultArg = Annotated[Path, typer.Argument(help="Result JSON of `plan solve --json` (or -o).", show_default=False)]
SetOpt = Annotated[Optional[list[str]], _opt("--set", help="Override a field for this run: PATH=VALUE, e.g. "
                                              "offers.A800-server-CN.unit_price=1.1e6.")]
GapOpt = Annotated[float, _opt("--gap", min=0, max=1, help="Relative MIP gap in [0, 1]; 0 proves optimality.")]
TimeOpt = Annotated[Optional[float], _opt("--time-limit", min=0, help="Seconds for the solve.")]
ThreadsOpt = Annotated[int, _opt("--threads", min=1, help="HiGHS threads (1 is deterministic).")]
JsonOpt = Annotated[bool, _opt("--json", help="Print JSON to stdout.")]
StrictOpt = Annotated[bool, _opt("--strict", help="Warnings (probable unit mistakes, stale prices) are errors: exit 2.")]
WorkersOpt = Annotated[int, _opt("--workers", min=1, help="Local worker processes (1: this process).")]
SchedulerOpt = Annotated[Optional[str], _opt("--scheduler", help="A Dask cluster's scheduler, tcp://HOST:PORT.")]
StoreOpt = Annotated[Optional[Path], _opt("--store", help="SQLite file of finished points; a rerun skips them. "
                                               "Default: next to --out.")]
PlotOpt = Annotated[Optional[Path], _opt("--plot", help="Write a PNG chart here.")]
OutOpt = Annotated[Optional[Path], _opt("--out", help="Write the rows to FILE.csv or FILE.parquet.")]


def _console(stderr: bool = False):
    from optimizer.output.terminal import console

    return console(stderr)


def fail_input(messages: list[str], source: str | None = None) -> None:
    """Print located input errors to stderr and exit 2."""
    err = _console(stderr=True)
    noun = "error" if len(messages) == 1 else "errors"
    err.print(f"[bold red]invalid input[/] {f'{source}: ' if source else ''}{len(messages)} {noun}", soft_wrap=True)
    for msg in messages:
        err.print(f"  - {msg}", markup=False, soft_wrap=True)
    raise typer.Exit(EXIT_INPUT)


@contextlib.contextmanager
def input_errors(source: str | None = None, prefix: str = ""):
    """InputError inside -> the located messages on stderr, exit 2."""
    from models.errors import InputError

    try:
        yield
    except InputError as exc:
        fail_input([prefix + m for m in exc.messages], exc.source or source)


def load_or_exit(path: Path, overrides: list[str] | None, strict: bool | None = None):
    """The validated instance; with `strict` not None its warnings go to stderr (errors if strict)."""
    from models.loading import load_instance
    from models.warnings import file_warnings

    with input_errors():
        inst = load_instance(path, overrides)
    found = file_warnings(path, inst) if strict is not None else []
    if strict and found:
        fail_input(found, str(path))
    for message in found:
        _console(stderr=True).print(f"warning: {message}", markup=False, soft_wrap=True)
    return inst


def write_atomic(path: Path, data) -> None:
    from optimizer.output.files import write_atomic as write

    write(path, data)


def emit(payload) -> None:
    """JSON to stdout: a pydantic model or plain data."""
    text = payload.model_dump_json(indent=2) if hasattr(payload, "model_dump_json") else json.dumps(payload, indent=2)
    sys.stdout.write(text + "\n")


def options(gap: float, time_limit: float | None, threads: int, progress=None):
    from optimizer.planning.solve import SolveOptions

    return SolveOptions(gap=gap, time_limit=time_limit, threads=threads, progress=progress)


# --------------------------------------------------------------------------- solve, validate, schema, check


@app.command()
def solve(
    instance: InstanceArg,
    json_out: JsonOpt = False,
    output: Annotated[Optional[Path], _opt("-o", "--output", help="Write the result to FILE.json, or the plan as a"
                                           " workbook to FILE.xlsx.")] = None,
    report: Annotated[Optional[Path], _opt("--report", help="Also write the HTML report of the plan here.")] = None,
    set_: SetOpt = None, gap: GapOpt = 0.0, time_limit: TimeOpt = None, threads: ThreadsOpt = 1,
    scenario: Annotated[Optional[str], _opt("--scenario", help="Also show this scenario's own plan.")] = None,
    diagnose_depth: Annotated[str, _opt("--diagnose", help="Without a plan: quick (causes from the data, one relaxation,"
                                        " <= 2 s), full (also lowered requirements, conflicting rules) or none.")] = "quick",
    strict: StrictOpt = False,
    engine: Annotated[str, _opt("--engine", help="Scenarios: ef (extensive form, in-process) or ph (progressive"
                                " hedging over MPI, the mpi extra).")] = "ef",
    ranks: Annotated[int, _opt("--ranks", min=1, help="--engine ph: MPI processes, a multiple of 3 (hub, outer- and inner-bound spokes) or of 2 (hub, inner-bound spoke).")] = 3,
) -> None:
    """Find the cheapest buy-and-lease plan (or the largest capacity) for an instance."""
    inst = load_or_exit(instance, set_, strict)
    if engine not in ("ef", "ph"):
        fail_input([f"--engine: expected ef or ph, got {engine!r}"])
    if diagnose_depth not in ("quick", "full", "none"):
        fail_input([f"--diagnose: expected quick, full or none, got {diagnose_depth!r}"])
    if scenario is not None and scenario not in [s.name for s in inst.scenarios]:
        fail_input([f"--scenario: no scenario {scenario!r} (known: {', '.join(s.name for s in inst.scenarios) or 'none'})"])
    from optimizer.output.publish import check_outputs, write_report, write_result
    from optimizer.output.terminal import clear_progress, terminal_progress

    with input_errors():
        check_outputs((output, "-o", (".json", ".xlsx")), (report, "--report", (".html",)))
    from optimizer.analysis.diagnose import add_diagnosis
    from optimizer.output.explain_view import print_diagnosis
    from optimizer.output.report import print_report
    from optimizer.planning.solve import solve_instance

    if engine == "ph":
        result = _solve_ph(inst, instance, set_, ranks, options(gap, time_limit, threads))
    else:
        progress = terminal_progress()
        result = solve_instance(inst, options(gap, time_limit, threads, progress))
        clear_progress(progress)
    add_diagnosis(inst, result, options(gap, time_limit, threads), diagnose_depth)  # why, and what it would take
    if output is not None:
        write_result(output, result, inst)
    if report is not None:
        write_report(report, result, inst)
    if json_out:
        emit(result)
    else:
        print_report(result, _console(), scenario)
        print_diagnosis(result.diagnosis, _console())
        for written in (w for w in (output, report) if w is not None):
            _console().print(f"written: {written}")
    raise typer.Exit(EXIT_OK if result.has_plan else EXIT_NO_PLAN)


def _solve_ph(inst, path: Path, set_, ranks: int, opts):
    from optimizer.scale.engine import solve_ph

    with input_errors():
        return solve_ph(inst, path, set_, ranks, opts)


@app.command()
def validate(instance: InstanceArg, set_: SetOpt = None, strict: StrictOpt = False) -> None:
    """Check an instance file; report every error at once with its place."""
    from optimizer.output.terminal import plural

    inst = load_or_exit(instance, set_, strict)
    _console().print(f"{instance}: valid ({plural(len(inst.chips), 'chip')}, {plural(len(inst.offers), 'offer')}, "
                     f"{plural(len(inst.requirements), 'requirement')}, {plural(inst.T, 'period')})")


@app.command("scenarios")
def scenarios_command(
    instance: InstanceArg,
    set_: SetOpt = None,
    output: Annotated[Optional[Path], _opt("-o", "--output", help="Write to FILE (.json: JSON, else YAML).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The instance's scenarios as planned for: a `sample` expanded (same seed, same list)."""
    import yaml

    from models.scenarios import scenario_instances

    inst = load_or_exit(instance, set_)
    with input_errors():
        scenario_instances(inst)  # each scenario's overrides validated, errors placed
    listed = [s.model_dump(exclude_none=True) for s in inst.scenarios]
    payload = {"scenarios": listed}
    if output is not None:
        text = json.dumps(payload, indent=2) + "\n" if output.suffix == ".json" else yaml.safe_dump(payload, sort_keys=False)
        write_atomic(output, text)
        _console(stderr=as_json).print(f"written: {output} ({len(listed)} scenarios)")
    if as_json:
        emit(payload)
    elif output is None:
        sys.stdout.write(yaml.safe_dump(payload, sort_keys=False))


@app.command()
def schema(
    which: Annotated[str, typer.Argument(help="instance or result")],
    output: Annotated[Optional[Path], _opt("-o", "--output", help="Write to this file.")] = None,
) -> None:
    """Print the JSON Schema of the instance or result format (generated from the models)."""
    from models.schema import json_schema

    if which not in ("instance", "result"):
        fail_input([f"schema: expected 'instance' or 'result', got {which!r}"])
    text = json.dumps(json_schema(which), indent=2) + "\n"
    write_atomic(output, text) if output is not None else sys.stdout.write(text)


@app.command("check")
def check_command(
    instance: InstanceArg, plan_file: ResultArg, json_out: JsonOpt = False, set_: SetOpt = None,
    tol: Annotated[float, _opt("--tol", min=0, help="Relative tolerance (absolute below 1).")] = 1e-6,
) -> None:
    """Check a plan without the solver: every constraint and cost of MODEL.md, from the plan alone.

    Exit 0 when the plan is valid and its reported costs match, 3 otherwise, 2 on bad input.
    """
    inst = load_or_exit(instance, set_)
    from models.loading import read_json_file
    from optimizer.check import check_plan
    from optimizer.output.check_view import print_check

    with input_errors(str(plan_file)):
        data = read_json_file(plan_file)
    with input_errors(str(plan_file), prefix="not a result of `plan solve`: "):
        report = check_plan(inst, data, tol=tol)
    emit(report.to_dict()) if json_out else print_check(report, plan_file, _console())
    raise typer.Exit(EXIT_OK if report.ok else EXIT_NO_PLAN)


# --------------------------------------------------------------------------- catalog: chips, offers


@app.command("chips")
def chips_command(
    catalog: Annotated[str, typer.Argument(help="Catalog or instance file, or a built-in catalog name.")] = "catalog/chips",
    regime: Annotated[Optional[str], _opt("--regime", help="Export-control regime, or 'all' side by side; default: the"
                                          " instance's, else the latest regime in force.")] = None,
    country: Annotated[Optional[str], _opt("--country", help="Buyer country (ISO 3166 alpha-2); default: the"
                                           " instance's buyer, else CN.")] = None,
    date: Annotated[Optional[str], _opt("--date", help="A month YYYY-MM: the regime in force then, instead of"
                                        " --regime.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Every chip with its TPP, performance density, interconnect, FP64, BF16, memory, the cheapest
    price per BF16 TFLOPS among the catalog's buy offers, and its export-control status."""
    from optimizer.output.chips_view import chip_listing, print_chips

    with input_errors():
        listing = chip_listing(catalog, regime, country, date)
    emit(listing.payload()) if json_out else print_chips(listing, _console())


@app.command("offers")
def offers_command(
    catalog: Annotated[str, typer.Argument(help="Catalog or instance file, or a built-in catalog name.")] = "catalog/offers",
    json_out: JsonOpt = False,
) -> None:
    """Catalog offers: vendor, chip, kind, price (own currency and converted), lead time, caps, as_of, source."""
    from optimizer.output.offers_view import offer_rows, print_offers

    with input_errors():
        rows, currency = offer_rows(catalog)
    emit({"currency": currency, "offers": rows}) if json_out else print_offers(rows, currency, _console())


# --------------------------------------------------------------------------- quote, serve


@app.command("quote")
def quote_command(
    plan_file: ResultArg,
    fmt: Annotated[str, _opt("--format", "-f", help="csv, xlsx or json; default from -o's suffix, else csv.")] = "",
    output: Annotated[Optional[Path], _opt("-o", "--output", help="Write to this file (needed for xlsx).")] = None,
    instance: Annotated[Optional[Path], _opt("--instance", help="The instance solved: itemises fixed costs by offer"
                                             " and fills vendors missing from older results.")] = None,
    set_: SetOpt = None,
) -> None:
    """Turn a plan into quote lines (vendor, chip, quantity, unit and extended price, months, term) with totals."""
    from optimizer.output.quote import quote_format, quote_result

    with input_errors():
        fmt = quote_format(fmt, output, instance is not None, bool(set_))
    inst = load_or_exit(instance, set_) if instance is not None else None
    with input_errors(str(plan_file)):
        quote, body = quote_result(plan_file, fmt, inst)
    if quote is None:  # a result without a plan
        _console(stderr=True).print(f"[bold red]{plan_file}[/]: {body}", soft_wrap=True)
        raise typer.Exit(EXIT_NO_PLAN)
    if output is None:
        sys.stdout.write(body)
        return
    write_atomic(output, body)
    _console(stderr=True).print(f"{len(quote.lines)} quote lines, total {quote.totals.total:,.2f} {quote.currency}:"
                                f" written to {output}")


ReportInstanceOpt = Annotated[Optional[Path], _opt("--instance", help="The instance solved: capacity split by chip,"
                                                   " months and the instance's hash.")]
ResultFileArg = Annotated[Path, typer.Argument(metavar="RESULT", help="Result JSON of `plan solve` (or `plan explain"
                                               " --json`).", show_default=False)]


def _publish_inputs(result_file: Path, output: Optional[Path], suffix: str, instance, set_):
    """(result, explanation, instance) for report and workbook, or exit 2 naming the problem."""
    from optimizer.output.publish import report_inputs

    with input_errors():
        result, explanation = report_inputs(result_file, output, suffix)
    return result, explanation, load_or_exit(instance, set_) if instance is not None else None


@app.command("report")
def report_command(
    result_file: ResultFileArg, instance: ReportInstanceOpt = None, set_: SetOpt = None,
    output: Annotated[Optional[Path], _opt("-o", "--output", help="The HTML file to write.")] = None,
) -> None:
    """One self-contained HTML page of a plan: charts of capacity, cash, orders and leases, scenarios."""
    from optimizer.output.publish import write_report

    result, explanation, inst = _publish_inputs(result_file, output, ".html", instance, set_)
    write_report(output, result, inst, explanation)
    _console(stderr=True).print(f"written: {output}")


@app.command("workbook")
def workbook_command(
    result_file: ResultFileArg, instance: ReportInstanceOpt = None, set_: SetOpt = None,
    output: Annotated[Optional[Path], _opt("-o", "--output", help="The .xlsx file to write.")] = None,
) -> None:
    """The plan as an Excel workbook: Summary (live formulas), Orders, Leases, Capacity, Cash, Excluded, Scenarios."""
    from optimizer.output.publish import write_result

    result, _explanation, inst = _publish_inputs(result_file, output, ".xlsx", instance, set_)
    write_result(output, result, inst)
    _console(stderr=True).print(f"written: {output}")


@app.command("diff")
def diff_command(
    plan_a: Annotated[Path, typer.Argument(metavar="A", help="Result JSON of the first plan.", show_default=False)],
    plan_b: Annotated[Path, typer.Argument(metavar="B", help="Result JSON of the second plan.", show_default=False)],
    json_out: JsonOpt = False,
    report: Annotated[Optional[Path], _opt("--report", help="Also write an HTML page (cost waterfall) here.")] = None,
) -> None:
    """What changed between two plans: orders and leases, cost by component and by offer, capacity."""
    from optimizer.analysis.diff import diff_results
    from optimizer.output.diff_view import diff_report, print_diff
    from optimizer.output.plan_data import load_report_input
    from optimizer.output.publish import check_outputs

    with input_errors():
        check_outputs((report, "--report", (".html",)))
        a, b = load_report_input(plan_a)[0], load_report_input(plan_b)[0]
    d = diff_results(a, b, str(plan_a), str(plan_b))
    if report is not None:
        write_atomic(report, diff_report(d))
    emit(d) if json_out else print_diff(d, _console())


@app.command("serve")
def serve_command(
    host: Annotated[str, _opt("--host", help="Address to listen on; loopback unless you mean otherwise.")] = "127.0.0.1",
    port: Annotated[int, _opt("--port", min=0, max=65535)] = 8000,
    db: Annotated[Optional[Path], _opt("--db", help="SQLite file for results and jobs (PLAN_DB).")] = None,
    workers: Annotated[Optional[int], _opt("--workers", min=1, help="Solver processes.")] = None,
    queue: Annotated[Optional[int], _opt("--queue", min=0, help="Solves waiting beyond busy workers before 503.")] = None,
    solver_threads: Annotated[Optional[int], _opt("--solver-threads", min=1, help="HiGHS threads per solve.")] = None,
    max_time_limit: Annotated[Optional[float], _opt("--max-time-limit", min=0.001, help="Cap (and default) of a"
                                                    " solve's time limit, s.")] = None,
    max_body_bytes: Annotated[Optional[int], _opt("--max-body-bytes", min=1, help="Largest request body.")] = None,
    max_offer_periods: Annotated[Optional[int], _opt("--max-offer-periods", min=1, help="Largest instance,"
                                                     " offers x periods.")] = None,
    max_sweep_points: Annotated[Optional[int], _opt("--max-sweep-points", min=1, help="Most points in one sweep.")] = None,
    log_level: Annotated[str, _opt("--log-level", help="uvicorn log level.")] = "info",
) -> None:
    """Run the HTTP service (FastAPI on uvicorn): /v1/solve, /v1/sweeps, /v1/jobs, /v1/schema, /healthz.

    Set PLAN_API_TOKEN to require `Authorization: Bearer <token>` on every endpoint but /healthz.
    """
    try:
        from optimizer.service.app import serve
    except ImportError as exc:
        fail_input([f"plan serve needs fastapi and uvicorn ({exc.name} is missing): pip install fastapi uvicorn"])
    with input_errors():
        serve(host, port, log_level, _console(stderr=True), db=str(db) if db is not None else None, workers=workers,
              queue=queue, solver_threads=solver_threads, max_time_limit=max_time_limit,
              max_body_bytes=max_body_bytes, max_offer_periods=max_offer_periods, max_sweep_points=max_sweep_points)


# --------------------------------------------------------------------------- analyses: explain, hedge


@app.command("explain")
def explain_command(
    instance: InstanceArg, json_out: JsonOpt = False, set_: SetOpt = None,
    gap: GapOpt = 0.0, time_limit: TimeOpt = None, threads: ThreadsOpt = 1,
    tol: Annotated[float, _opt("--tol", min=1e-9, max=0.5, help="Relative precision of max_capacity break-even"
                               " prices (min_cost ones are exact).")] = 1e-4,
    no_break_even: Annotated[bool, _opt("--no-break-even", help="Skip the break-even prices.")] = False,
) -> None:
    """Why this plan: binding rules, marginal values and break-even prices (or why there is no plan).

    Exit 0 with a plan, 3 without one (the diagnosis says why), 2 on bad input. --time-limit
    bounds the whole command; break-even prices not reached in time are marked as such.
    """
    inst = load_or_exit(instance, set_)
    from optimizer.analysis.explain import explain
    from optimizer.output.explain_view import print_explanation
    from optimizer.output.terminal import clear_progress, terminal_progress

    progress = terminal_progress()
    ex = explain(inst, options(gap, time_limit, threads, progress), break_even=not no_break_even, rel_tol=tol)
    clear_progress(progress)
    emit(ex) if json_out else print_explanation(ex, _console())
    raise typer.Exit(EXIT_OK if ex.result.has_plan else EXIT_NO_PLAN)


@app.command("hedge")
def hedge_command(
    instance: InstanceArg, json_out: JsonOpt = False,
    plan_for: Annotated[Optional[str], _opt("--plan-for", help="Scenario of the naive plan; default the most"
                                            " probable.")] = None,
    set_: SetOpt = None, gap: GapOpt = 0.0, time_limit: TimeOpt = None, threads: ThreadsOpt = 1,
    level: Annotated[Optional[float], _opt("--confidence", help="Sampled instance: the optimality gap of the"
                                           " now-decisions and their expected cost, at this level (e.g. 0.95).")] = None,
    batches: Annotated[int, _opt("--batches", min=2, help="--confidence: independent sample batches.")] = 8,
) -> None:
    """What the hedge is worth: the scenario plan (RP), wait-and-see and EVPI, the naive plan and VSS."""
    from optimizer.analysis.hedge import hedge
    from optimizer.output.hedge_view import print_hedge

    inst = load_or_exit(instance, set_)
    if level is not None:
        _hedge_confidence(inst, options(gap, time_limit, threads), level, batches, json_out)
    with input_errors():
        h = hedge(inst, options(gap, time_limit, threads), plan_for)
    emit(h) if json_out else print_hedge(h, _console())
    raise typer.Exit(EXIT_OK if h.rp is not None else EXIT_NO_PLAN)


def _hedge_confidence(inst, opts, level: float, batches: int, json_out: bool) -> None:
    from optimizer.analysis.confidence import confidence

    with input_errors():
        c = confidence(inst, opts, level, batches)
    emit(c) if json_out else _console().print(c.words, markup=False, soft_wrap=True)
    raise typer.Exit(EXIT_OK)


# --------------------------------------------------------------------------- sweep, tornado


class _RawArgsCommand(TyperCommand):
    """Keeps the raw arguments: `plan sweep` pairs each --param with the value option after it,
    an order that click does not keep across different options."""

    def parse_args(self, ctx, args):
        ctx.meta["raw_args"] = list(args)
        return super().parse_args(ctx, args)


def _run_points(label, base, set_, points, opts, workers, scheduler, store, out, warm_start, currency, paths,
                json_out):
    """Open the store and run the points with the live display; a stop exits with its code."""
    from optimizer.analysis.sweep_store import open_store
    from optimizer.output.sweep_view import SweepStopped, run_with_display

    with input_errors():
        db = open_store(store, out)
        try:
            return run_with_display(_console(stderr=json_out), label, base, set_, points, opts, workers, scheduler,
                                    db, warm_start, currency, paths), db
        except SweepStopped as exc:
            sys.stderr.write(f"{exc}\n")
            raise typer.Exit(exc.code)


def _finish_points(outcome, has_plan: bool) -> None:
    for params, error in outcome.failed:
        sys.stderr.write(f"plan: point {params} failed: {error}\n")
    raise typer.Exit(EXIT_ERROR if outcome.failed else EXIT_OK if has_plan else EXIT_NO_PLAN)


@app.command("sweep", cls=_RawArgsCommand)
def sweep_command(
    ctx: typer.Context, instance: InstanceArg,
    param: Annotated[Optional[list[str]], _opt("--param", help="A number to sweep, by the path syntax of --set;"
                                               " each takes one of the next three.")] = None,
    values: Annotated[Optional[list[str]], _opt("--values", help="Values a,b,c (read as --set reads them).")] = None,
    range_: Annotated[Optional[list[str]], _opt("--range", help="start:stop:n, evenly spaced, ends included.")] = None,
    scale: Annotated[Optional[list[str]], _opt("--scale", help="lo:hi:n multiples of the instance's value.")] = None,
    samples: Annotated[Optional[int], _opt("--samples", min=1, help="N random points within each parameter's"
                                           " values instead of the grid.")] = None,
    dist: Annotated[str, _opt("--dist", help="uniform | triangular (mode at the instance's value).")] = "uniform",
    seed: Annotated[int, _opt("--seed", help="Seed of --samples.")] = 0,
    set_: SetOpt = None, gap: GapOpt = 0.0, time_limit: TimeOpt = None, threads: ThreadsOpt = 1,
    workers: WorkersOpt = 1, scheduler: SchedulerOpt = None, store: StoreOpt = None, out: OutOpt = None,
    plot: PlotOpt = None, json_out: JsonOpt = False,
    report: Annotated[Optional[Path], _opt("--report", help="Write an HTML report (objective and mix against the"
                                           " parameters) here.")] = None,
    warm_start: Annotated[bool, _opt("--warm-start/--no-warm-start", help="Start from the previous plan.")] = True,
) -> None:
    """Solve the instance at many values of some of its numbers: what if prices move?

    Exit 0: every point solved, at least one with a plan. 3: no point has a plan.
    1: points failed or a worker died (finished points are stored: rerun to resume). 130: Ctrl-C.
    """
    from optimizer.analysis.sweep import prepare_sweep
    from optimizer.output.publish import check_outputs
    from optimizer.output.sweep_view import check_output_paths, print_sweep, sweep_payload, write_sweep_files

    inst = load_or_exit(instance, set_)  # the base must be valid before any point is
    opts = options(gap, time_limit, threads)
    with input_errors():
        check_output_paths(out, plot)
        check_outputs((report, "--report", (".html",)))
        base, with_sets, axes, points = prepare_sweep(
            instance, set_ or [], ctx.meta.get("raw_args", []), param or [],
            {"values": values or [], "range": range_ or [], "scale": scale or []}, samples, dist, seed, opts)
    paths = [a.path for a in axes]
    outcome, db = _run_points("sweep", base, set_, points, opts, workers, scheduler, store, out, warm_start,
                              inst.currency, paths, json_out)
    write_sweep_files(outcome.rows, paths, inst, with_sets, out, plot, report, bool(samples))
    if json_out:
        emit(sweep_payload(instance, paths, bool(samples), opts, db, outcome))
    else:
        print_sweep(_console(), outcome.rows, paths, outcome, inst.currency, out, plot, db, report)
    _finish_points(outcome, any(r["objective"] is not None for r in outcome.rows))


@app.command("tornado")
def tornado_command(
    instance: InstanceArg,
    swing: Annotated[str, _opt("--swing", help="How far each price moves down and up: 20% or 0.2.")] = "20%",
    set_: SetOpt = None, gap: GapOpt = 0.0, time_limit: TimeOpt = None, threads: ThreadsOpt = 1,
    workers: WorkersOpt = 1, scheduler: SchedulerOpt = None, store: StoreOpt = None, out: OutOpt = None,
    plot: PlotOpt = None,
    top: Annotated[int, _opt("--top", min=1, help="Bars in the chart (the table shows all).")] = 25,
    json_out: JsonOpt = False,
) -> None:
    """Swing every price of the instance down and up, one at a time; rank by impact on the objective.

    Prices: each offer's unit_price, price breaks and fixed cost, the energy price, fx rates.
    Exit 0 with a base plan, 3 without one, 1 when points failed.
    """
    from optimizer.analysis.sweep import prepare_tornado, tornado_from_rows
    from optimizer.output.sweep_view import check_output_paths, print_tornado, tornado_payload, write_tornado_files

    inst = load_or_exit(instance, set_)
    opts = options(gap, time_limit, threads)
    with input_errors():
        check_output_paths(out, plot)
        base, prices, skipped, share, points = prepare_tornado(instance, inst, set_ or [], swing, opts)
    outcome, _db = _run_points(f"tornado +-{share:.0%}", base, set_, points, opts, workers, scheduler, store, out,
                               True, inst.currency, [], json_out)
    base_row, bars = tornado_from_rows(prices, outcome.rows, share)
    base_obj = base_row["objective"] if base_row is not None else None
    write_tornado_files(bars, base_obj, inst, out, plot, share, top)
    if json_out:
        emit(tornado_payload(instance, share, base_row, bars, skipped, outcome))
    else:
        print_tornado(_console(), inst.name, inst.currency, inst.objective.sense, base_row, bars, skipped, share, plot)
    _finish_points(outcome, base_obj is not None)


# --------------------------------------------------------------------------- entry point


def main() -> None:
    """Console entry point. Click handles usage errors (exit 2) and exits with each command's
    code; anything unexpected exits 1 with one line instead of a traceback."""
    import signal

    from models.errors import InputError

    # SIGTERM ends the run like Ctrl-C does: through Python, so atomic writes clean up after themselves
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        app()
    except InputError as exc:  # raised where no command caught it (a write that failed, ...)
        noun = "error" if len(exc.messages) == 1 else "errors"
        sys.stderr.write(f"invalid input {exc.source + ': ' if exc.source else ''}{len(exc.messages)} {noun}\n"
                         + "".join(f"  - {m}\n" for m in exc.messages))
        sys.exit(EXIT_INPUT)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except BrokenPipeError:  # `plan solve ... | head -1`: the reader stopped reading, nothing failed
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the flush at exit must not raise
        sys.exit(0)
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if os.environ.get("PLAN_DEBUG"):
            raise
        sys.stderr.write(f"plan: internal error: {type(exc).__name__}: {exc}\n(set PLAN_DEBUG=1 for a traceback)\n")
        sys.exit(EXIT_ERROR)


if __name__ == "__main__":
    main()
