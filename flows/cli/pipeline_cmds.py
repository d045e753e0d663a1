"""Commands that run the pipeline: demo, generate, ingest, train-champion, run, score."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from flows.backends import LOCAL
from flows.cli._console import (
    add_backend_options,
    config_path,
    debug_enabled,
    get_console,
    open_existing,
    print_json,
    settings_from,
    shown,
)
from flows.cli._flow_runs import flow_api, flow_terminal, prepare_prefect
from flows.data.periods import Calendar
from flows.errors import ConfigError

LARGE_LOAD_PERIODS = 1000
"""An ingest of at least this many periods reports its progress as it stores them."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the pipeline commands."""
    demo = subparsers.add_parser(
        "demo", help="run the whole champion–challenger story on a fresh embedded home"
    )
    demo.add_argument("--home", help="an empty or new folder (default: a new temporary folder)")
    demo.add_argument("--policy", default="significance_margin", help="promotion policy")
    demo.set_defaults(handler=demo_command)

    generate = subparsers.add_parser(
        "generate", help="write the quickstart's synthetic applications (and export them)"
    )
    add_backend_options(generate)
    generate.add_argument("--seed", type=int, default=42, help="default: 42 (the quickstart's)")
    generate.add_argument("--weeks", type=int, default=20, help="weeks to generate (default: 20)")
    generate.add_argument(
        "--append-weeks",
        type=int,
        default=0,
        metavar="N",
        help="add N new weeks to the stored data",
    )
    generate.add_argument("--rows-per-week", type=int, default=400, help="default: 400")
    generate.add_argument(
        "--concept-drift",
        type=float,
        default=0.0,
        help="weekly speed at which the approval rule itself moves (default: 0, the quickstart)",
    )
    generate.add_argument("--replace", action="store_true", help="drop the stored data first")
    generate.add_argument("--out", help="also export the generated rows to a .csv or .parquet file")
    generate.add_argument("--no-store", action="store_true", help="only export, store nothing")
    generate.set_defaults(handler=generate_command)

    ingest = subparsers.add_parser(
        "ingest",
        help="load your own CSV/Parquet files into the table, checked against [data] first",
    )
    add_backend_options(ingest)
    ingest.add_argument(
        "files", nargs="+", metavar="FILE", help=".csv or .parquet files, or Parquet folders"
    )
    mode = ingest.add_mutually_exclusive_group()
    mode.add_argument("--append", action="store_true", help="add rows of new periods")
    mode.add_argument("--replace", action="store_true", help="drop the stored rows first")
    ingest.set_defaults(handler=ingest_command)

    champion = subparsers.add_parser(
        "train-champion", help="train the first champion and make it live (a Prefect flow)"
    )
    add_backend_options(champion)
    champion.add_argument("--replace", action="store_true", help="replace a live champion")
    champion.add_argument(
        "--allow-weak-champion",
        action="store_true",
        help="make it live even if its test AUC is no better than chance (0.55 or less)",
    )
    champion.set_defaults(handler=train_champion_command)

    run = subparsers.add_parser("run", help="run one cycle (a Prefect flow)")
    add_backend_options(run)
    add_policy_options(run)
    run.add_argument("--dry-run", action="store_true", help="evaluate and decide without acting")
    run.add_argument("--json", action="store_true", help="print the ledger entry as JSON")
    run.set_defaults(handler=cycle_command)

    score = subparsers.add_parser("score", help="score stored rows or a file with the live version")
    add_backend_options(score)
    score.add_argument(
        "--first-period",
        "--first-week",
        dest="first_period",
        type=int,
        metavar="N",
        help="first stored period to score, in [data] period's unit (default: the newest; "
        "--first-week is its older name)",
    )
    score.add_argument(
        "--last-period",
        "--last-week",
        dest="last_period",
        type=int,
        metavar="N",
        help="last stored period to score (default: --first-period)",
    )
    score.add_argument(
        "--input",
        metavar="FILE",
        help="score this .csv/.parquet file (or folder of .parquet files) instead, "
        "streamed in row batches; needs --out",
    )
    score.add_argument("--out", help="write the scores to a .csv or .parquet file")
    score.add_argument(
        "--to-table",
        metavar="NAME",
        help="score in the warehouse into this table, written whole or not at all "
        '(Snowflake, compute = "warehouse"); the features never leave it',
    )
    score.add_argument(
        "--source",
        dest="table_source",
        metavar="TABLE_OR_SELECT",
        help="with --to-table: the table or query to score (default: the applications table)",
    )
    score.add_argument(
        "--csv-safe",
        action="store_true",
        help="prefix text cells starting with = + - @ with ' in a CSV output, so a "
        "spreadsheet shows them as text instead of running them as formulas",
    )
    score.set_defaults(handler=score_command)


def add_policy_options(parser: argparse.ArgumentParser) -> None:
    """``--policy`` and repeatable ``--param key=value``."""
    parser.add_argument(
        "--policy", default="significance_margin", help="default: significance_margin"
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="policy parameter (repeatable; values parsed as JSON when they can be)",
    )


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """``["margin=0.01", "alpha=0.05"]`` → ``{"margin": 0.01, "alpha": 0.05}``."""
    from ccpolicy import parse_param_value

    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--param expects KEY=VALUE; got {pair!r}.")
        params[key.strip()] = parse_param_value(value)
    return params


def generate_command(args: argparse.Namespace) -> int:
    """Write (and optionally export) the synthetic applications."""
    from flows.backends import open_backend
    from flows.cycle import steps
    from flows.data.output import check_output_path, write_table
    from flows.data.quickstart import GeneratorSpec, generate_applications

    spec = GeneratorSpec(
        seed=args.seed, rows_per_week=args.rows_per_week, concept_drift=args.concept_drift
    )
    console = get_console()
    if args.out:
        check_output_path(Path(args.out), protected=[settings_from(args).home])
    with console.status("Generating applications…"):
        if args.no_store:
            data = generate_applications(args.weeks, spec)
        else:
            settings = settings_from(args)
            with open_backend(settings) as backend:
                data = steps.generate_data(
                    backend,
                    spec,
                    n_periods=args.weeks,
                    append_weeks=args.append_weeks,
                    replace=args.replace,
                    holdout_periods=settings.windows.holdout,
                )
    if args.out:
        write_table(data, Path(args.out))
    weeks = data["week_number"]
    console.print(
        f"Generated {len(data):,} applications (weeks {weeks.min()}–{weeks.max()}), "
        f"{int(data['approved'].sum()):,} approved"
        + (f"; exported to {shown(args.out)}" if args.out else "")
    )
    return 0


def ingest_command(args: argparse.Namespace) -> int:
    """Validate every row of the files against the contract, then store them."""
    from flows.backends import open_backend
    from flows.cycle import steps
    from flows.cycle.completeness import HOW_TO_COMPLETE

    settings = settings_from(args)
    period = settings.contract.period
    console = get_console()

    def progress(done: int, total: int) -> None:
        if total >= LARGE_LOAD_PERIODS:
            console.print(f"Stored {done:,} of {total:,} {period} files")

    with console.status("Ingesting…"):
        files = steps.check_files(  # before any home
            settings, [Path(f) for f in args.files], append=args.append
        )
        with open_backend(settings) as backend:
            result = steps.ingest(
                backend,
                settings,
                files,
                append=args.append,
                replace=args.replace,
                progress=progress,
            )
    get_console().print(
        f"Ingested {result.rows:,} rows from {result.n_files} file(s)"
        + (", replacing the stored rows" if result.replaced else "")
        + f"; the table holds {period}s {result.span[0]}–{result.span[1]}"
    )
    if result.incomplete is not None:
        console.print(
            f"Note: {shown(result.incomplete)}. It is stored as it is; {HOW_TO_COMPLETE}."
        )
    return 0


def train_champion_command(args: argparse.Namespace) -> int:
    """Run the ``train-champion`` flow."""
    prepare_prefect()
    settings = settings_from(args)
    if settings.backend == LOCAL:  # train-champion may create the model, not the home
        from flows.backends.local._home import require_home

        require_home(settings.home)
    from flows.orchestration.pipeline import train_champion

    console = get_console()
    with flow_api(console), flow_terminal(console, debug=debug_enabled(args)):
        version = train_champion(
            backend=settings.backend,
            model_name=settings.model_name,
            home=str(settings.home),
            config=config_path(args),
            replace=args.replace,
            allow_weak=args.allow_weak_champion,
        )
    trained = Calendar(settings.contract.period).range(*version["train_weeks"])
    get_console().print(
        f"Champion [bold]{version['name']}[/] is live (trained on {trained}, "
        f"test AUC {version['metrics']['test_auc']:.4f})",
        highlight=False,
    )
    return 0


def cycle_command(args: argparse.Namespace) -> int:
    """Run one cycle and show the metrics and the decision."""
    prepare_prefect()
    from flows.cycle import steps

    params = parse_params(args.param)
    steps.check_policy(args.policy, params)  # fail before starting Prefect
    settings = settings_from(args)
    with open_existing(settings) as backend:  # a wrong home or model, or no champion yet
        steps.champion(backend)
    from flows.orchestration.pipeline import champion_challenger

    console = get_console()
    with flow_api(console), flow_terminal(console, debug=debug_enabled(args)):
        entry = champion_challenger(
            policy=args.policy,
            policy_params=params,
            backend=settings.backend,
            model_name=settings.model_name,
            home=str(settings.home),
            config=config_path(args),
            dry_run=args.dry_run,
        )
    if args.json:
        print_json(entry)
    else:
        show_decision(entry)
    return 0


def show_decision(entry_data: dict[str, Any]) -> None:
    """Render a recorded decision with its metric table."""
    from flows.cli._render import print_decision, print_metrics
    from flows.records import LedgerEntry

    entry = LedgerEntry.from_dict(entry_data)
    console = get_console()
    print_metrics(console, entry.metrics)
    console.line()
    print_decision(console, entry)


def score_command(args: argparse.Namespace) -> int:
    """Score stored periods, or a file (``--input``), with the live version; the registry is untouched."""
    from flows.cycle import steps
    from flows.data.output import check_output_path, write_table

    if args.to_table:
        return _score_to_table_command(args)
    if args.table_source:
        raise ConfigError("--source names what --to-table scores; give --to-table NAME too.")
    if args.input:
        return _score_file_command(args)
    settings = settings_from(args)
    periods = None
    if args.first_period is not None:
        last = args.first_period if args.last_period is None else args.last_period
        periods = Calendar(settings.contract.period).range(args.first_period, last)
    with get_console().status("Scoring…"), open_existing(settings) as backend:
        if args.out:
            check_output_path(Path(args.out), protected=backend.protected)
        result = steps.score(backend, periods=periods)
    if args.out:
        write_table(result.scores, Path(args.out), csv_safe=args.csv_safe)
    contract = result.contract
    probabilities = result.scores[contract.score_column]
    get_console().print(
        f"Scored {result.n_rows:,} {contract.row_noun} with live version [bold]{result.version}[/]: "
        f"mean {contract.score_description} {probabilities.mean():.3f}"
        + (f"; written to {shown(args.out)} (column {contract.score_column})" if args.out else "")
    )
    return 0


def _score_to_table_command(args: argparse.Namespace) -> int:
    """``score --to-table NAME``: the live version over a table or query, in the warehouse."""
    from flows.cycle import steps

    if args.input or args.out or args.first_period is not None or args.last_period is not None:
        raise ConfigError(
            "--to-table scores in the warehouse; --input, --out and the period options do not "
            "apply."
        )
    with (
        get_console().status("Scoring in the warehouse…"),
        open_existing(settings_from(args)) as backend,
    ):
        result = steps.score_to_table(backend, target=args.to_table, source=args.table_source)
    get_console().print(
        f"Scored {result['n_rows']:,} rows with live version [bold]{result['version']}[/] "
        f"into {result['target']}"
    )
    if result.get("logged") is not None:
        get_console().print(f"Live test: logged {result['logged']:,} row(s) in the score log")
    return 0


def _score_file_command(args: argparse.Namespace) -> int:
    """``score --input FILE --out FILE``: stream the file through the live version."""
    from flows.cycle import steps

    if not args.out:
        raise ConfigError("--input needs --out FILE (.csv or .parquet) to write the scores to.")
    if args.first_period is not None or args.last_period is not None:
        raise ConfigError(
            "--input scores a file; --first-period/--last-period select stored periods."
        )
    with get_console().status("Scoring…"), open_existing(settings_from(args)) as backend:
        result = steps.score_file(backend, Path(args.input), Path(args.out), csv_safe=args.csv_safe)
    get_console().print(
        f"Scored {result.n_rows:,} rows of {shown(args.input)} with live version "
        f"[bold]{result.version}[/] in {len(result.batch_rows)} batch(es); "
        f"written to {shown(args.out)}"
    )
    if result.logged is not None:
        arms = ", ".join(f"{n:,} {arm}" for arm, n in result.logged.items())
        get_console().print(f"Live test: logged {arms} row(s) in the score log")
    if result.formula_cells and not args.csv_safe:
        get_console().print(
            f"Note: {result.formula_cells:,} text cell(s) in {shown(args.out)} begin with "
            "= + - or @; a spreadsheet may run them as formulas. Pass --csv-safe to write "
            "them as text."
        )
    return 0


DEMO_STEPS: list[tuple[str, str, list[str]]] = [
    (
        "1. The quickstart's data: 20 weeks × 400 applications (seed 42)",
        "",
        ["generate"],
    ),
    ("2. Train the champion on weeks 0–9 and make it live", "", ["train-champion"]),
    (
        "3. Weekly cycle: challenger on weeks 3–12, both judged on weeks 16–19",
        "Both models learn the same approval rule: there is no real difference to find.",
        ["run"],
    ),
    (
        "4. Four new weeks arrive (20–23), under the same rule",
        "",
        ["generate", "--append-weeks", "4"],
    ),
    (
        "5. Next weekly cycle: the windows slide to weeks 7–16, judged on weeks 20–23",
        "Still the same rule: any gain is noise.",
        ["run"],
    ),
    (
        "6. What the quickstart's rule (strictly higher AUC) would have done on the same evidence",
        "It promotes on the noise of step 5, which the default policy calls inconclusive.",
        ["replay", "--policy", "auc_greater"],
    ),
    (
        "7. Twelve new weeks arrive (24–35), under a changed approval rule",
        "The generator's concept drift: from week 24, debt-to-income and education weigh far "
        "more and the credit score far less. The stored weeks 0–23 stay as they are.",
        ["generate", "--append-weeks", "12", "--concept-drift", "0.05"],
    ),
    (
        "8. Next weekly cycle: challenger on weeks 19–28, both judged on weeks 32–35",
        "Five of the challenger's training weeks follow the new rule; the champion never saw it.",
        ["run"],
    ),
    ("9. Score the newest week with whichever version is live", "", ["score"]),
]
"""The demo's story: two cycles with nothing real to find, then one after the rule changed."""


def demo_command(args: argparse.Namespace) -> int:
    """The whole story on a fresh home: data, champion, two weekly cycles, scoring."""
    from flows.cycle.steps import check_policy

    prepare_prefect()
    check_policy(args.policy, {})  # a mistyped policy fails before any work
    home = Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix="cc-demo-"))
    if home.exists() and any(home.iterdir()):
        raise ConfigError(f"The demo needs an empty or new folder; {home} is not empty.")
    console = get_console()
    console.rule("[bold]champion-challenger demo")
    console.print(f"Home: {home}")
    common = ["--home", str(home)]
    from flows.cli import build_parser

    parser = build_parser()
    for title, why, argv in DEMO_STEPS:
        console.rule(title, align="left")
        if why:
            console.print(why, style="dim", highlight=False)
        extra = ["--policy", args.policy] if argv[0] == "run" else []
        extra += ["--debug"] if debug_enabled(args) else []
        sub = parser.parse_args([*argv, *common, *extra])
        sub.handler(sub)
    console.rule("[bold]done")
    console.print(
        f"Inspect it with: ccflows status --home {home}   ·   ccflows history --home {home}"
    )
    return 0
