"""`python -m benchmarks [--size small|full|N] [--only CASE,…] [--runs K] [--output FILE | --no-docs]`

Runs the cases (each with its comparison, in the same run), prints the results table with the machine it ran
on, writes benchmarks/.work/results.json and rewrites docs/performance.md (unless --no-docs). Run it from the
repository root after `pip install -e .`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path

from benchmarks.common import REPO, WORK, Context, Row, Scale, load, machine, save_json

CASES = ("startup", "reports", "import", "render", "send", "latency", "memory", "sheets")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[1])
    parser.add_argument("--size", default="small",
                        help="small (default, ~1 min), full (the issue's sizes, ~10 min) or a number of contacts")
    parser.add_argument("--only", default="", help="comma-separated cases: " + ", ".join(CASES))
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement; the median is reported")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "performance.md",
                        help="where to write the results document (default: docs/performance.md)")
    parser.add_argument("--no-docs", action="store_true", help="do not write the results document")
    parser.add_argument("--work", type=Path, default=WORK, help="folder for generated data (default: "
                                                                "benchmarks/.work)")
    parser.add_argument("--docs-from-results", action="store_true",
                        help="measure nothing: rewrite the document from the last run's results.json")
    parser.add_argument("--no-mailmerge", action="store_true",
                        help="measure mailmerge only if its venv already exists (no pip install)")
    args = parser.parse_args(argv)
    args.cases = [c.strip() for c in args.only.split(",") if c.strip()] or list(CASES)
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(CASES)}")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def print_table(rows: list[Row], info: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=False, soft_wrap=False, width=200)
    table = Table("case", "measurement", "outreach", "alternative (same run)", "ratio", "target", "met",
                  title=f"outreach benchmarks — {info['scale']} size, median of {info['runs']} run(s)",
                  title_justify="left", show_lines=False)
    for row in rows:
        table.add_row(row.case, row.what.replace("`", ""), row.result, row.alternative.replace("`", ""),
                      row.ratio, row.target, row.verdict.replace("*", ""))
    console.print(table)
    versions = ", ".join(f"{k} {v}" for k, v in info["machine"]["versions"].items())
    console.print(f"{info['machine']['cpu']}, {info['machine']['cores']} cores, {info['machine']['memory']}; "
                  f"{versions}; {info['machine']['date']}; load {info['machine']['load_start']} → "
                  f"{info['load_end']}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.docs_from_results:
        import json

        from benchmarks.report import write_document

        saved = json.loads((args.work / "results.json").read_text(encoding="utf-8"))
        rows = [Row(**row) for row in saved["rows"]]
        write_document(args.output, rows, saved["info"], saved["notes"])
        print(f"wrote {args.output} from {args.work / 'results.json'}", file=sys.stderr)
        return 0
    scale = Scale.parse(args.size)
    args.work.mkdir(parents=True, exist_ok=True)
    ctx = Context(scale=scale, runs=args.runs, work=args.work, use_mailmerge=not args.no_mailmerge)
    info = {"scale": scale.name, "sizes": scale.__dict__, "runs": args.runs, "machine": machine(),
            "cases": args.cases, "errors": {}}
    rows: list[Row] = []
    started = time.perf_counter()
    for case in args.cases:
        print(f"[{case}]", file=sys.stderr, flush=True)
        module = importlib.import_module(f"benchmarks.bench_{case}")
        case_start = time.perf_counter()
        try:
            rows.extend(module.run(ctx))
        except Exception as error:  # one broken case must not hide the others' figures
            traceback.print_exc()
            info["errors"][case] = f"{type(error).__name__}: {error}"
            rows.append(Row(module.CASE, "did not run", f"error: {type(error).__name__}", "", "", "", False))
        print(f"  [{case} took {time.perf_counter() - case_start:.0f} s]", file=sys.stderr, flush=True)
    info["elapsed"] = time.perf_counter() - started
    info["load_end"] = load()
    print_table(rows, info)
    save_json(args.work / "results.json", {"info": info, "rows": [row.__dict__ for row in rows],
                                            "notes": ctx.notes})
    if not args.no_docs:
        from benchmarks.report import write_document

        write_document(args.output, rows, info, ctx.notes)
        print(f"wrote {args.output}", file=sys.stderr)
    return 1 if info["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
