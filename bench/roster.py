"""The named-roster engine on the public shift-scheduling benchmark, against plain CP-SAT and the record.

    .venv/bin/python bench/roster.py [--seconds 60] [--long-seconds 300] [--instances 1,2,4] [--out FILE.json]

Each instance of ../shared/data/nurse_rostering is solved by `manage.py roster_benchmark` in a process of
its own: instances up to 12 by the engine and by the plain CP-SAT model (--plain: the same booleans, one
CP-SAT call) for --seconds each, in turn, in the same run; instances 13 and up by the engine for
--long-seconds (0: not run). The published best-known objectives and Gurobi's 10-minute figures are read
from the data's README. Prints a Markdown table and writes every figure as JSON to --out.
"""

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "nurse_rostering"
# Instances up to this number are compared with plain CP-SAT at --seconds; the rest run at --long-seconds.
SHORT_UP_TO = 12


def published(readme: Path) -> dict[int, dict]:
    """Instance number -> days, staff, shift types, best known and Gurobi at 10 minutes, from the README table."""
    figures = {}
    for line in readme.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|", line)
        if match:
            number, days, staff, shifts, best, gurobi = map(int, match.groups())
            figures[number] = {"days": days, "staff": staff, "shifts": shifts, "best": best, "gurobi": gurobi}
    return figures


def solve(instance: Path, seconds: float, *, plain: bool) -> dict:
    command = [sys.executable, str(REPO / "manage.py"), "roster_benchmark", str(instance), "--format", "json"]
    command += ["--seconds", str(seconds)] + (["--plain"] if plain else [])
    # Development settings unless the caller chose: the command touches no database.
    environment = {**os.environ, "DEBUG": os.environ.get("DEBUG", "true")}
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=environment, timeout=seconds * 3 + 120)
    if done.returncode != 0:
        raise SystemExit(f"{instance.name}: {done.stderr.strip() or done.stdout.strip()}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def gap(objective, best: int) -> str:
    return "-" if objective is None else f"{100 * (objective - best) / best:+.2f} %"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--long-seconds", type=float, default=300.0)
    parser.add_argument("--instances", help="Comma-separated instance numbers (default: all in the data)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    figures = published(args.data / "README.md")
    files = {int(re.search(r"(\d+)", path.stem).group(1)): path for path in args.data.glob("Instance*.txt")}
    wanted = sorted(files) if not args.instances else [int(part) for part in args.instances.split(",")]
    rows = []
    for number in wanted:
        if number not in files:
            raise SystemExit(f"no Instance{number}.txt in {args.data}")
        long = number > SHORT_UP_TO
        seconds = args.long_seconds if long else args.seconds
        if seconds <= 0:
            continue
        print(f"Instance{number}: engine, {seconds:g} s", file=sys.stderr, flush=True)
        row = {"instance": number, "seconds": seconds, "engine": solve(files[number], seconds, plain=False)}
        if not long:
            print(f"Instance{number}: plain CP-SAT, {seconds:g} s", file=sys.stderr, flush=True)
            row["plain"] = solve(files[number], seconds, plain=True)
        row.update(figures.get(number, {}))
        rows.append(row)
        print(f"  {json.dumps(row)}", file=sys.stderr, flush=True)
    print(
        "| instance | days | staff | seconds | engine | bound | gap to best known | plain CP-SAT "
        "| best known | Gurobi, 10 min |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        engine, plain = row["engine"], row.get("plain")
        objective = engine["objective"] if engine["feasible"] else None
        bound = "-" if engine["bound"] is None else f"{engine['bound']:.0f}"
        plain_text = "-" if plain is None else str(plain["objective"] if plain["feasible"] else "none")
        best = row.get("best")
        print(
            f"| {row['instance']} | {row.get('days', '')} | {row.get('staff', '')} | {row['seconds']:g} "
            f"| {objective if objective is not None else 'none'} | {bound} "
            f"| {gap(objective, best) if best else '-'} | {plain_text} | {best or '-'} | {row.get('gurobi', '-')} |"
        )
    short = [row for row in rows if row["instance"] <= SHORT_UP_TO and row["engine"]["feasible"] and row.get("best")]
    if short:
        gaps = [(row["engine"]["objective"] - row["best"]) / row["best"] for row in short]
        beaten = sum(
            1 for row in short if row.get("plain") and row["engine"]["objective"] <= (row["plain"]["objective"] or 1e18)
        )
        print(
            f"\nInstances up to {SHORT_UP_TO}: mean gap {100 * sum(gaps) / len(gaps):.2f} %, "
            f"largest {100 * max(gaps):.2f} %; engine at or below plain CP-SAT on {beaten} of {len(short)}; "
            f"all feasible: {all(row['engine']['feasible'] for row in rows)}"
        )
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
