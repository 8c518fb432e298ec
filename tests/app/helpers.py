"""Helpers for the AppTest tests: run the app, read its charts, texts, metrics and widgets."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
from streamlit.testing.v1 import AppTest

from store import db

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "app"
APP = str(ROOT / "app.py")
ACME_CSV = DATA / "acme_jira_all_fields.csv"
BETA_CSV = DATA / "beta_jira_all_fields.csv"
BAD_CSV = DATA / "bad_missing_key.csv"
TABLES = db.TABLES + ("schema_version",)


def table_counts(path: Path) -> dict[str, int]:
    cur = db.cursor(db.connect(path))
    return {t: cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def app(locale: str | None = "en", page: str | None = None, **query) -> AppTest:
    """The app, run once for a browser in `locale` (None: no locale known), optionally switched to `page`;
    keyword arguments become query parameters (?lang=...)."""
    at = AppTest.from_file(APP, default_timeout=60)
    if locale:
        at.context = {"locale": locale}
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    if page:
        at.switch_page(page).run()
    return at


def charts(at: AppTest) -> list[dict]:
    """Every Altair chart on screen: its Vega-Lite spec and its datasets as DataFrames (STREAMLIT.md 2.1)."""
    out = []
    for el in at.get("vega_lite_chart"):
        spec = json.loads(el.proto.spec)
        data = {d.name: pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in el.proto.datasets}
        out.append({"spec": spec, "data": data})
    return out


def dataset_with(chart: dict, column: str):
    """The one dataset of a chart that has `column`."""
    found = [df for df in chart["data"].values() if column in df.columns]
    assert len(found) == 1, (column, [list(df.columns) for df in chart["data"].values()])
    return found[0]


def plain(markdown: str) -> str:
    """Markdown source as read on screen: backslash escapes removed (ui.components.md_escape)."""
    return re.sub(r"\\(.)", r"\1", str(markdown))


def texts(at: AppTest) -> str:
    """Everything readable on the page, for 'this sentence is shown' checks."""
    parts = []
    for kind in ("title", "subheader", "markdown", "caption", "info", "warning", "error", "success"):
        parts += [e.value for e in at.get(kind)]
    for m in at.metric:
        parts += [m.label, m.value]
    return "\n".join(plain(p) for p in parts)


def metrics_by_label(at: AppTest) -> dict[str, object]:
    return {m.label: m for m in at.metric}


def widget(at: AppTest, kind: str, key: str):
    """The widget of type `kind` ("button_group", "selectbox"...) with this key."""
    found = [w for w in at.get(kind) if getattr(w, "key", None) == key]
    assert len(found) == 1, (kind, key, [getattr(w, "key", None) for w in at.get(kind)])
    return found[0]


def lang_switch(at: AppTest):
    return widget(at, "button_group", "lang")
