"""What `plan sweep` and `plan tornado` show: the live table with its progress bar, the final
tables, and the rows written to CSV or Parquet. Built from sweep rows (plain dicts) alone."""

from __future__ import annotations

from pathlib import Path

from models.errors import InputError
from optimizer.output.report import money


def fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.0f}" if 1e3 <= abs(v) < 1e15 else f"{v:,.6g}"
    return str(v)


def units_text(units: dict) -> str:
    """'A800-SXM-80G 59 bought + 46 leased, ...' for the three chips with the most units."""
    used = sorted(((u["bought"] + u["leased"], c, u) for c, u in (units or {}).items()
                   if u["bought"] or u["leased"]), key=lambda x: (-x[0], x[1]))
    parts = []
    for _, c, u in used[:3]:
        words = [f"{u['bought']} bought"] if u["bought"] else []
        words += [f"{u['leased']} leased"] if u["leased"] else []
        parts.append(f"{c} {' + '.join(words)}")
    return ", ".join(parts) + (f", +{len(used) - 3} more chips" if len(used) > 3 else "")


def row_cells(row: dict, paths: list[str]) -> list[str]:
    from rich.markup import escape

    mix = row.get("mix") or {}
    lead = max(sorted(mix), key=lambda c: mix[c]) if mix and max(mix.values()) > 0 else None
    status = row["status"] if row["status"] in ("optimal", "feasible") else f"[red]{row['status']}[/]"
    objective = money(row["objective"]) if row.get("objective_sense", "min_cost") == "min_cost" else fmt(row["objective"])
    return ([escape(fmt(row["params"].get(p))) for p in paths]
            + [status, objective if row["objective"] is not None else "-",
               escape(f"{lead} {mix[lead]:.0%}") if lead else "-",
               escape(units_text(row.get("units")) or "-"),
               "stored" if row.get("from_store") else f"{row.get('time_s', 0):.2f}s"])


def rows_table(rows: list[dict], paths: list[str], title: str | None = None, currency: str = ""):
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for p in paths:
        table.add_column(escape(".".join(p.split(".")[-2:])), justify="right")
    table.add_column("status")
    table.add_column(f"objective {currency}".strip(), justify="right", no_wrap=True)
    table.add_column("largest share")
    table.add_column("units per chip")
    table.add_column("time", justify="right")
    for row in rows:
        table.add_row(*row_cells(row, paths))
    return table


class SweepDisplay:
    """A progress bar with ETA and the latest rows while a sweep runs (stderr with --json)."""

    def __init__(self, console, paths: list[str], label: str, currency: str = ""):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
            TimeRemainingColumn

        self.console, self.paths, self.currency = console, paths, currency
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

        if not self.recent:
            return self.progress
        return Group(rows_table(self.recent[-8:], self.paths, currency=self.currency), self.progress)

    def on_row(self, row, done: int, total: int) -> None:
        if row is None:  # the start: stored points count as done, and the ETA covers the rest
            self.progress.reset(self.task, total=total, completed=done)
        else:
            self.recent.append(row)
            self.progress.update(self.task, completed=done)
        self.live.update(self._render())


def sweep_payload(instance, paths: list[str], sampled: bool, opts, store, outcome) -> dict:
    """`plan sweep --json`."""
    return {"instance": str(instance), "params": paths, "mode": "samples" if sampled else "grid",
            "options": {"gap": opts.gap, "time_limit": opts.time_limit, "threads": opts.threads},
            "store": str(store.path) if store is not None else None, "solved": outcome.solved,
            "from_store": outcome.from_store, "failed": [{"params": p, "error": e} for p, e in outcome.failed],
            "rows": outcome.rows}


def tornado_payload(instance, share: float, base_row, bars, skipped, outcome) -> dict:
    """`plan tornado --json`."""
    return {"instance": str(instance), "swing": share, "base": base_row, "bars": bars, "skipped": skipped,
            "failed": [{"params": p, "error": e} for p, e in outcome.failed]}


def print_sweep(console, rows: list[dict], paths: list[str], outcome, currency: str, out, plot, store,
                report=None) -> None:
    shown = rows if len(rows) <= 40 else rows[:20]
    console.print(rows_table(shown, paths, title=f"{len(rows)} points", currency=currency))
    if len(rows) > len(shown):
        console.print(f"... {len(rows) - len(shown)} more rows" + (f" in {out}" if out else " (--out FILE.csv for all)"))
    note = f"; store {store.path}" if store is not None else "; not stored (add --store FILE to resume after a stop)"
    console.print(f"{outcome.solved} solved now, {outcome.from_store} from the store{note}", soft_wrap=True)
    for written in (out, plot, report):
        if written is not None:
            console.print(f"written: {written}")


def print_tornado(console, name: str, currency: str, sense: str, base_row: dict | None, bars: list[dict],
                  skipped: list[str], share: float, plot=None) -> None:
    """The bars as a table. Every value carries its own currency (an offer may price in USD in
    a CNY instance); without a base plan there is no change to show, only each swing's outcome."""
    from rich.markup import escape
    from rich.table import Table

    unit = currency if sense == "min_cost" else ""
    base_obj = base_row["objective"] if base_row is not None else None
    if base_obj is None:
        status = base_row["status"] if base_row is not None else "missing"
        title = (f"{name}: no plan at the base ({status}): each swing's own outcome, not a change;"
                 f" prices -{share:.0%} / +{share:.0%}")
    else:
        title = (f"{name}: objective {money(base_obj)} {unit}; change when one price moves"
                 f" -{share:.0%} / +{share:.0%}, largest first")
    table = Table(title=title, title_justify="left")
    heads = ("low", "high") if base_obj is None else (f"change at -{share:.0%}", f"change at +{share:.0%}")
    for col in ("#", "price", "value", *[f"{h} {unit}".strip() for h in heads]):
        table.add_column(col, justify="left" if col == "price" else "right")

    def cell(bar, side) -> str:
        if base_obj is None:
            obj = bar[f"{side}_objective"]
            return f"plan {money(obj)}" if obj is not None else f"[red]{bar[f'{side}_status'].replace('_', ' ')}[/]"
        delta = bar[f"{side}_delta"]
        if delta is None:
            return f"[red]{bar[f'{side}_status'].replace('_', ' ')}[/]"
        return ("+" if delta > 0 else "-" if delta < 0 else "") + money(abs(delta))

    for i, b in enumerate(bars, 1):
        table.add_row(str(i), escape(b["label"]), f"{fmt(b['value'])} {b.get('currency', '')}".strip(),
                      cell(b, "low"), cell(b, "high"))
    console.print(table)
    for note in skipped:
        console.print(f"not swung: {note}", markup=False)
    if plot is not None:
        console.print(f"written: {plot}")


def check_output_paths(out: Path | None, plot: Path | None, kinds=(".csv", ".parquet")) -> None:
    """--out and --plot: the right kind of file, in a folder that exists, with its library."""
    for option, path, allowed in (("--out", out, kinds), ("--plot", plot, (".png",))):
        if path is None:
            continue
        if path.suffix.lower() not in allowed:
            raise InputError([f"{option} {path}: expected a {' or '.join(allowed)} file"])
        if str(path.parent) and not path.parent.exists():
            raise InputError([f"{option} {path}: folder {path.parent} does not exist"])
    if out is not None and out.suffix.lower() == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise InputError([f"--out {out}: Parquet needs pyarrow (pip install 'plan[parquet]'); or write .csv"]) from None
    if plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise InputError([f"--plot {plot}: charts need matplotlib (pip install matplotlib)"]) from None


def write_table(path: Path, records: list[dict]) -> None:
    """CSV or Parquet, atomically; floats to 12 significant digits (57373679.999999955 is
    solver arithmetic, not information)."""
    import pandas as pd

    from optimizer.output.files import write_atomic

    frame = pd.DataFrame.from_records(records)
    for col in frame.columns:
        if frame[col].dtype.kind == "f":
            frame[col] = frame[col].map(lambda v: float(f"{v:.12g}") if pd.notna(v) else v)
    if path.suffix.lower() == ".csv":
        write_atomic(path, frame.to_csv(index=False))
        return
    write_atomic(path, lambda tmp: frame.to_parquet(tmp, index=False))


class SweepStopped(Exception):
    """The sweep stopped before its end: `code` is the exit code, the message says what is kept."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


def run_with_display(console, label, base, set_, points, opts, workers, scheduler, store, warm_start, currency,
                     paths):
    """run_sweep with its live display; an interrupt or a broken worker pool becomes SweepStopped
    saying what was kept and how to resume."""
    from optimizer.analysis.sweep import WorkerFailure, run_sweep

    where = f" in {store.path}" if store is not None else ""
    try:
        with SweepDisplay(console, paths, label, currency) as display:
            return run_sweep(base, set_ or [], points, opts, workers=workers, scheduler=scheduler,
                             store=store, warm_start=warm_start, on_row=display.on_row)
    except KeyboardInterrupt:
        kept = f"{store.count()} points stored{where}; rerun the same command to resume" if store is not None \
            else "nothing stored (no --store or --out)"
        raise SweepStopped(130, f"interrupted: {kept}") from None
    except WorkerFailure as exc:
        raise SweepStopped(1, f"plan: {exc}{where}; rerun the same command to resume") from None
    except ConnectionError as exc:
        raise SweepStopped(1, f"plan: {exc}") from None
    finally:
        if store is not None:
            store.close()


def write_sweep_files(rows, paths, inst, with_sets, out, plot, report, sampled: bool) -> None:
    """--out (CSV/Parquet), --plot (PNG) and --report (HTML) of a sweep."""
    from optimizer.analysis.sweep import flat_rows, get_path, path_unit
    from optimizer.output.files import write_atomic

    if out is not None:
        write_table(out, flat_rows(rows, paths))
    if plot is not None:
        from optimizer.output.plots import plot_sweep

        try:
            base_value = get_path(with_sets, paths[0])
        except InputError:
            base_value = None
        plot_sweep(rows, paths, plot, f"{inst.name}: {len(rows)} points", currency=inst.currency, sampled=sampled,
                   base_value=base_value if isinstance(base_value, (int, float)) else None,
                   x_unit=path_unit(inst, paths[0]))
    if report is not None:
        from optimizer.output.html import sweep_report

        write_atomic(report, sweep_report(rows, paths, inst.name, inst.currency, sampled=sampled))


def write_tornado_files(bars, base_obj, inst, out, plot, share: float, top: int) -> None:
    if out is not None:
        write_table(out, bars)
    if plot is not None:
        from optimizer.output.plots import plot_tornado

        unit = inst.currency if inst.objective.sense == "min_cost" else inst.objective.metric
        plot_tornado(bars, base_obj, plot, f"{inst.name}: each price -{share:.0%} / +{share:.0%}",
                     currency=unit, swing=share, top=top)
