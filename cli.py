"""PMO Pulse from the command line: the same functions the pages call, JSON out (DESIGN.md contract).

    python cli.py ingest FILE... [--db PATH] [--project KEY] [--format auto|jira-csv|...]
    python cli.py metrics --project KEY [--db PATH] [--month YYYY-MM] [--sprint NAME]
    python cli.py demo [--db PATH]
    python cli.py delete-import IMPORT_ID [--db PATH]

A refused input exits 2 with one line on stderr naming the file (and row/column where known); the
database is then unchanged.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import date, datetime

import duckdb

from store import db


def _json_default(value):
    # datetime covers pandas.Timestamp (a subclass): `ingest` never imports pandas (0.2 s of start-up).
    if isinstance(value, datetime):
        return value.date().isoformat() if _is_midnight(value) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)


def _is_midnight(value) -> bool:
    return (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0) and value.tzinfo is None


def records(df) -> list[dict]:
    """A DataFrame as JSON-ready records: dates as YYYY-MM-DD, NaN as null."""
    import pandas as pd
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    out = out.astype(object).where(pd.notna(out), None)
    return out.to_dict("records")


def _open(path):
    try:
        return db.connect(path)
    except duckdb.IOException as exc:
        print(f"{path or db.default_db_path()}: cannot open the database ({str(exc).splitlines()[0]})",
              file=sys.stderr)
        sys.exit(1)


def cmd_ingest(args) -> int:
    from ingest import IngestError, ingest_files
    con = _open(args.db)
    cur = db.cursor(con)
    try:
        results = ingest_files(cur, args.files, project_key=args.project, fmt=args.format,
                               imported_by=args.user)
    except IngestError as err:
        print(err.render(args.lang), file=sys.stderr)
        return 2
    for r in results:
        out = r.as_json()
        out["warnings"] = [_render_warning(w, args.lang) for w in r.warnings]
        print(json.dumps(out, ensure_ascii=False, default=_json_default))
    return 0


def cmd_delete_import(args) -> int:
    """Delete one import (store/history.py): what it added goes, what it overwrote comes back. JSON out; an
    unknown id exits 2 with one line, nothing changed."""
    from store.history import ImportNotFound, delete_import
    con = _open(args.db)
    cur = db.cursor(con)
    try:
        out = delete_import(cur, args.import_id, user=args.user)
    except ImportNotFound:
        known = [str(r[0]) for r in cur.execute("SELECT import_id FROM imports ORDER BY 1").fetchall()]
        shown = ", ".join(known[-20:]) or "none"
        print(f"import {args.import_id!r} not found (known: {shown})", file=sys.stderr)
        return 2
    print(json.dumps(out, ensure_ascii=False, default=_json_default))
    return 0


def _render_warning(w: dict, lang: str) -> str:
    from ui.i18n import render_warning
    return render_warning(w, lang)


def metric_json(cur, project_key: str, lang: str = "en", **params) -> dict:
    """Every registered metric for one project, shaped as DESIGN.md's `metrics` contract."""
    from metrics import REGISTRY, compute
    out = {}
    for metric_id, metric in REGISTRY.items():
        result = compute(metric_id, cur, project_key=project_key, **params)
        value = result.value
        if value is not None and isinstance(value, float) and math.isnan(value):
            value = None
        out[metric_id] = {
            "value": value, "unit": metric.unit, "series": records(result.series),
            "warnings": [_render_warning(w, lang) for w in result.warnings],
            "target": None, "rag": None, "signals": [],
        }
    return out


def cmd_metrics(args) -> int:
    con = _open(args.db)
    cur = db.cursor(con)
    if not cur.execute("SELECT 1 FROM projects WHERE project_key = ?", [args.project]).fetchone():
        known = ", ".join(r[0] for r in cur.execute("SELECT project_key FROM projects ORDER BY 1").fetchall())
        print(f"project {args.project!r} not found (known: {known or 'none'})", file=sys.stderr)
        return 2
    out = metric_json(cur, args.project, args.lang, month=args.month, sprint=args.sprint)
    print(json.dumps(out, ensure_ascii=False, default=_json_default))
    return 0


def cmd_demo(args) -> int:
    from demo import load_demo
    con = _open(args.db)
    cur = db.cursor(con)
    for r in load_demo(cur):
        out = r.as_json()
        out["warnings"] = [_render_warning(w, args.lang) for w in r.warnings]
        print(json.dumps(out, ensure_ascii=False, default=_json_default))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cli.py", description="PMO Pulse command line")
    parser.add_argument("--lang", default="en", choices=["en", "zh-CN"], help="language of messages")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="import tracker export files (all or nothing)")
    p.add_argument("files", nargs="+")
    p.add_argument("--db")
    p.add_argument("--project", help="project key to file the issues under (default: from the file)")
    p.add_argument("--format", default="auto", help="auto or a registered format name")
    p.add_argument("--user", default=None, help="who imports (recorded in imports and the audit log)")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("metrics", help="print every registered metric of a project as JSON")
    p.add_argument("--project", required=True)
    p.add_argument("--db")
    p.add_argument("--month", help="YYYY-MM (default: the project's latest month with activity)")
    p.add_argument("--sprint")
    p.set_defaults(func=cmd_metrics)

    p = sub.add_parser("demo", help="write the demo exports and import them")
    p.add_argument("--db")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("delete-import", help="delete one import: remove what it added, restore what it overwrote")
    p.add_argument("import_id", help="the import_id that `ingest` printed")
    p.add_argument("--db")
    p.add_argument("--user", default=None, help="who deletes (recorded in the audit log)")
    p.set_defaults(func=cmd_delete_import)

    # Accept --lang after the sub-command too.
    args, rest = parser.parse_known_args(argv)
    if rest:
        extra = argparse.ArgumentParser(add_help=False)
        extra.add_argument("--lang", choices=["en", "zh-CN"])
        known, unknown = extra.parse_known_args(rest)
        if unknown:
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        if known.lang:
            args.lang = known.lang
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
