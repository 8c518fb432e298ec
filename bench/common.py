"""What the ingest benchmarks share: the child-process runner (wall, CPU, peak RSS via os.wait4), the DuckDB
read_csv baseline, the step breakdown of `cli.py ingest` (PULSE_PROFILE lines + DuckDB's query log), the
alternated (a)/(b) runs with their summary, and the command line and JSON report around them.

bench/ingest.py (Jira CSV) and bench/zentao.py (ZenTao GBK bug export) differ only in the file they write and
in what `cli.py ingest` is given; bench/README.md describes both.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

import duckdb

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable

# A deterministic pseudo-random integer in [0, m) for row i and salt s (pure arithmetic: same file on
# every run and every DuckDB version).
MACRO = ("CREATE OR REPLACE TEMP MACRO rnd(i, s, m) AS "
         "(((i * 2654435761 + s * 97531 + (i // 7) * 40503) % 4294967291) * 1597334677 % 4294967291) % m")


def sql_pick(values: list[str], idx: str) -> str:
    """SQL: values[idx] (idx a 0-based SQL expression) from a list literal."""
    items = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"[{items}][{idx} + 1]"


def run_child(argv: list[str], env: dict | None = None, cwd: Path = REPO) -> dict:
    """Run a child process; wall seconds, exit code, peak RSS (os.wait4 rusage: this child only)."""
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    start_epoch = time.time()
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    end_epoch = time.time()
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    err.seek(0)
    return {"seconds": seconds, "rc": proc.returncode, "peak_mb": usage.ru_maxrss / 1024.0,  # KiB on Linux
            "user_s": usage.ru_utime, "sys_s": usage.ru_stime, "start_epoch": start_epoch,
            "end_epoch": end_epoch, "stdout": out.read().decode("utf-8", "replace"),
            "stderr": err.read().decode("utf-8", "replace")}


BASELINE = """
import sys, duckdb
con = duckdb.connect(sys.argv[2])
con.execute("SET enable_progress_bar = false")
con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [sys.argv[1]])
print(con.execute("SELECT count(*) FROM t").fetchone()[0])
con.close()
"""

_PROFILE_LINE = re.compile(r"^pulse-profile step=(\S+) seconds=([0-9.]+) end=([0-9.]+)(?: rss_mb=(-?\d+) peak_mb=(-?\d+))?")

# The loader's statements (store/load.py), recognised in DuckDB's query log.
LOADER_STEPS = [
    (re.compile(r"^\s*INSERT INTO issue_snapshots", re.I), "load: insert issue_snapshots"),
    (re.compile(r"^\s*INSERT INTO issues", re.I), "load: insert issues"),
    (re.compile(r"_prev|^\s*DELETE FROM issues", re.I), "load: find/delete previous rows"),
    (re.compile(r"sprints", re.I), "load: sprints"),
    (re.compile(r"worklogs", re.I), "load: worklogs"),
    (re.compile(r"changes", re.I), "load: changes"),
    (re.compile(r"^\s*(DROP TABLE|DROP VIEW)", re.I), "load: drop stage tables"),
    (re.compile(r"^\s*COMMIT", re.I), "commit + close/checkpoint + exit"),
]


def breakdown(child: dict, log_dir: Path) -> tuple[dict[str, float], dict[str, int]]:
    """Seconds per step of the ingest child: its PULSE_PROFILE stderr lines, then the loader's statements from
    DuckDB's query log (each statement lasts until the next one starts; the last until the child exited).
    Also the child's peak RSS (MB) so far at the end of each PULSE_PROFILE step."""
    steps: dict[str, float] = {}
    peaks: dict[str, int] = {}
    first_start = None
    stage_end = None
    for line in child["stderr"].splitlines():
        m = _PROFILE_LINE.match(line)
        if not m:
            continue
        name, secs, end = m.group(1), float(m.group(2)), float(m.group(3))
        steps[name] = steps.get(name, 0.0) + secs
        if m.group(5) is not None:
            peaks[name] = int(m.group(5))
        first_start = min(first_start or end - secs, end - secs)
        if name == "stage_total":
            stage_end = end
    steps.pop("stage_total", None)
    if first_start is not None:
        steps = {"startup: python, imports, open db": first_start - child["start_epoch"], **steps}

    entries = []
    entries_csv = log_dir / "duckdb_log_entries.csv"
    if entries_csv.exists():
        with open(entries_csv, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row.get("type") != "QueryLog":
                    continue
                ts = datetime.fromisoformat(row["timestamp"].replace("+00", "+00:00")).timestamp()
                entries.append((ts, row["message"]))
        entries.sort(key=lambda e: e[0])
    if stage_end is not None and entries:
        loader = [e for e in entries if e[0] >= stage_end]
        if loader:
            steps["sha256 of file (ingest/__init__.py) + loader setup"] = loader[0][0] - stage_end
        for k, (ts, sql) in enumerate(loader):
            nxt = loader[k + 1][0] if k + 1 < len(loader) else child["end_epoch"]
            name = next((label for pat, label in LOADER_STEPS if pat.search(sql)), "load: other statements")
            steps[name] = steps.get(name, 0.0) + (nxt - ts)
    accounted = sum(steps.values())
    steps["unaccounted"] = child["seconds"] - accounted
    return {k: round(v, 3) for k, v in steps.items()}, peaks


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "mem_gb": mem_gb, "python": platform.python_version(),
            "duckdb": duckdb.__version__, "os": platform.platform()}


def fresh(db: Path) -> None:
    for p in (db, Path(f"{db}.wal")):
        p.unlink(missing_ok=True)
    shutil.rmtree(Path(f"{db}.tmp"), ignore_errors=True)


def issues_in(db: Path) -> int | None:
    try:
        con = duckdb.connect(str(db), read_only=True)
        try:
            return con.execute("SELECT count(*) FROM issues").fetchone()[0]
        finally:
            con.close()
    except duckdb.Error as exc:
        print(f"cannot read {db}: {exc}", file=sys.stderr)
        return None


def report_line(stdout: str) -> dict:
    for line in stdout.splitlines():
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                pass
    return {}


def warm(path: Path) -> None:
    """Read a file once so that neither side pays for its first read from disk."""
    with open(path, "rb") as fh:
        while fh.read(64 * 1024 * 1024):
            pass


def add_arguments(ap: argparse.ArgumentParser, file_name: str) -> None:
    """The options every ingest bench takes (`file_name` names the generated file in the help texts)."""
    ap.add_argument("--rows", type=int, default=1_000_000,
                    help=f"rows of the generated {file_name} (default 1,000,000)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of (a) then (b), alternated; the fastest of each is compared (default 3)")
    ap.add_argument("--keep", action="store_true", help=f"keep the {file_name} and both databases")
    ap.add_argument("--out", help="working folder (default: a new temporary folder; bench/out/ is git-ignored)")


@dataclass
class Bench:
    """One benchmark: `prepare(work)` writes (or names) the input files and returns them as (baseline input,
    ingest input) after filling `result` with what it wrote; `generated` lists the files to delete afterwards
    unless --keep; `ingest_args` are given to `cli.py ingest` after the file."""
    prepare: Callable[[Path, dict], tuple[Path, Path]]
    target_ratio: float
    target_peak_mb: int
    generated: Callable[[Path], list[Path]] = lambda work: []
    ingest_args: list[str] = field(default_factory=list)


def main(args: argparse.Namespace, bench: Bench) -> int:
    """Write the input, run (a) then (b) --repeat times, print the summary and, last, one JSON line.
    Always returns 0: the bench reports, it never fails the caller."""
    result: dict = {"rows": args.rows, "machine": machine()}
    work = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="pulse-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    base_db, ingest_db, log_dir = work / "baseline.duckdb", work / "ingest.duckdb", work / "querylog"
    try:
        base_input, ingest_input = bench.prepare(work, result)
        # Warm the page cache once so neither side pays for the first read of the file.
        for path in dict.fromkeys((base_input, ingest_input)):
            warm(path)

        env = dict(os.environ, PULSE_PROFILE="1", PULSE_PROFILE_SQL=str(log_dir))
        env.pop("PULSE_DB", None)
        runs_a, runs_b = [], []
        for k in range(max(1, args.repeat)):
            fresh(base_db)
            a = run_child([PY, "-c", BASELINE, str(base_input), str(base_db)])
            if a["rc"] != 0:
                print(a["stderr"], file=sys.stderr)
            runs_a.append(a)
            fresh(ingest_db)
            shutil.rmtree(log_dir, ignore_errors=True)
            b = run_child([PY, str(REPO / "cli.py"), "ingest", str(ingest_input), *bench.ingest_args,
                           "--db", str(ingest_db)], env=env)
            if b["rc"] != 0:
                print(b["stderr"], file=sys.stderr)
            b["issues"] = issues_in(ingest_db) if ingest_db.exists() else None
            b["steps"], b["step_peaks"] = breakdown(b, log_dir)
            runs_b.append(b)
            print(f"run {k + 1}: (a) baseline {a['seconds']:.2f} s, peak {a['peak_mb']:.0f} MB | "
                  f"(b) cli.py ingest {b['seconds']:.2f} s, peak {b['peak_mb']:.0f} MB, {b['issues']} issues",
                  flush=True)

        a = min(runs_a, key=lambda r: r["seconds"])
        b = min(runs_b, key=lambda r: r["seconds"])
        peak_b = max(r["peak_mb"] for r in runs_b)
        cpu = lambda r: r["user_s"] + r["sys_s"]       # noqa: E731
        result["baseline"] = {"seconds": round(a["seconds"], 3), "cpu_seconds": round(cpu(a), 3),
                              "peak_mb": round(max(r["peak_mb"] for r in runs_a), 1),
                              "runs": [round(r["seconds"], 3) for r in runs_a], "rc": a["rc"],
                              "rows": (a["stdout"].strip().splitlines() or [None])[-1]}
        result["ingest"] = {"seconds": round(b["seconds"], 3), "cpu_seconds": round(cpu(b), 3),
                            "peak_mb": round(peak_b, 1), "runs": [round(r["seconds"], 3) for r in runs_b],
                            "rc": b["rc"], "issues": b["issues"],
                            "warnings": report_line(b["stdout"]).get("warnings"),
                            "steps": b["steps"], "peak_mb_after_step": b["step_peaks"]}

        print(f"(a) baseline CREATE TABLE AS read_csv: {a['seconds']:.2f} s (fastest of {len(runs_a)}), "
              f"cpu {cpu(a):.2f} s, peak {result['baseline']['peak_mb']:.0f} MB")
        print(f"(b) cli.py ingest:                     {b['seconds']:.2f} s (fastest of {len(runs_b)}), "
              f"cpu {cpu(b):.2f} s, peak {peak_b:.0f} MB (highest of {len(runs_b)}), {b['issues']} issues")
        print("    where the fastest (b)'s time went                       seconds   peak RSS so far")
        for name, secs in b["steps"].items():
            peak = f"{b['step_peaks'][name]:6d} MB" if name in b["step_peaks"] else ""
            print(f"      {name:<52} {secs:7.3f}   {peak}")

        target_ratio, target_peak = bench.target_ratio, bench.target_peak_mb
        ratio = b["seconds"] / a["seconds"] if a["seconds"] > 0 else None
        cpu_ratio = cpu(b) / cpu(a) if cpu(a) > 0 else None
        result.update({"ratio": round(ratio, 3) if ratio else None,
                       "cpu_ratio": round(cpu_ratio, 3) if cpu_ratio else None,
                       "peak_mb": round(peak_b, 1), "issues": b["issues"],
                       "targets": {"ratio": target_ratio, "peak_mb": target_peak}})
        result["meets_targets"] = bool(ratio is not None and ratio <= target_ratio and peak_b < target_peak
                                       and all(r["rc"] == 0 for r in runs_b))
        if ratio:
            print(f"ratio (b)/(a) = {ratio:.2f} (target <= {target_ratio}; cpu-time ratio {cpu_ratio:.2f}); "
                  f"peak memory of (b) = {peak_b:.0f} MB (target < {target_peak} MB): "
                  f"{'meets' if result['meets_targets'] else 'MISSES'} the targets")
    except Exception as exc:   # the bench reports, it never fails the caller
        result["error"] = f"{type(exc).__name__}: {exc}"
        print(f"bench error: {result['error']}", file=sys.stderr)
    finally:
        if args.keep:
            result["kept"] = str(work)
        else:
            for path in bench.generated(work):
                path.unlink(missing_ok=True)
            fresh(base_db)
            fresh(ingest_db)
            shutil.rmtree(log_dir, ignore_errors=True)
            if not args.out:
                shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, ensure_ascii=False))
    return 0
