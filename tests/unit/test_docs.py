"""Fails when something a user can name is undocumented (datasette's doc-coverage tests)."""
from __future__ import annotations

import re

from ingest.detect import FORMATS
from metrics import REGISTRY
from store.settings import SETTINGS
from tests.samples import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def _table_ids() -> set[str]:
    return set(re.findall(r"^\| `([a-z0-9_-]+)` \|", README, flags=re.M))


def test_every_setting_is_documented_with_its_default():
    for s in SETTINGS:
        assert f"| `{s.name}` | `{s.default}` |" in README, s.name


def test_every_metric_is_documented():
    assert set(REGISTRY) <= _table_ids()


def test_every_import_format_is_documented():
    assert set(FORMATS) <= _table_ids()


def test_readme_has_exactly_the_two_setup_commands_and_ci_calls_the_test_one():
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
    assert [b.strip() for b in blocks] == ["bash scripts/run.sh", "bash scripts/test.sh"]
    assert "bash scripts/test.sh" in (REPO / ".ci" / "run").read_text(encoding="utf-8")
