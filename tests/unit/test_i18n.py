"""The two languages say the same things: same keys, same placeholders, and every key the screens ask
for exists (a missing key would show as its dotted name)."""
from __future__ import annotations

import re
import string
import tomllib
from pathlib import Path

import pytest

from store.projects import SPRINT_STATES, VALUE_KINDS
from ui import i18n

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "ui" / "locales"
SCREENS = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), ROOT / "ui" / "components.py"]


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _pages(lang: str) -> dict[str, str]:
    return i18n._flatten(tomllib.loads((LOCALES / lang / "pages.toml").read_text(encoding="utf-8")))


def test_screen_catalogs_have_the_same_keys():
    en, zh = _pages("en"), _pages("zh-CN")
    assert set(en) - set(zh) == set()
    assert set(zh) - set(en) == set()
    assert len(en) > 200


def test_whole_catalogs_have_the_same_keys_and_placeholders():
    en, zh = i18n.catalog("en"), i18n.catalog("zh-CN")
    assert sorted(set(en) ^ set(zh)) == []
    for key in en:
        assert _placeholders(en[key]) == _placeholders(zh[key]), key


def test_screen_texts_are_translated_not_copied():
    en, zh = _pages("en"), _pages("zh-CN")
    han = re.compile(r"[\u4e00-\u9fff]")
    symbols_only = re.compile(r"[\sA-Z0-9/()·{}a-z_–—%+−.:,-]*")   # "S1–S3 / KLOC", "{value} pp"...
    untranslated = [k for k in en if zh[k] == en[k] and not han.search(zh[k])
                    and not (symbols_only.fullmatch(zh[k]) and len(re.findall(r"[a-z]{3,}", zh[k])) == 0)]
    assert untranslated == []
    assert all(han.search(zh[k]) for k in ("nav.overview", "overview.title", "import.title", "settings.title"))


def _literal_keys(text: str) -> set[str]:
    keys = set(re.findall(r'\bt\(\s*"([a-zA-Z0-9_.]+)"', text))
    keys |= set(re.findall(r'translate\(\s*"([a-zA-Z0-9_.]+)"', text))
    # keys handed to helpers that call t(): page_header, empty_state, show_warnings(title_key=...), tuples
    keys |= {k for k in re.findall(r'"((?:app|nav|common|chart|event|overview|delivery|quality|import|settings)'
                                   r'\.[a-z0-9_.]+)"', text)}
    return {k for k in keys if not k.endswith(("_", "."))}     # prefixes (label_for) are checked below


def test_every_key_the_screens_name_exists_in_both_languages():
    used = set()
    for path in SCREENS:
        used |= _literal_keys(path.read_text(encoding="utf-8"))
    # quality cards derive "<key>_help" / "<key>_missing"
    used |= {f"quality.{k}{suffix}" for k in ("per_kloc", "s1_s3", "per_fp", "per_sp")
             for suffix in ("_help", "_missing")}
    assert len(used) > 150
    for lang in i18n.LANGS:
        missing = sorted(k for k in used if k not in i18n.catalog(lang))
        assert missing == [], lang


@pytest.mark.parametrize("lang", list(i18n.LANGS))
def test_dynamic_keys_exist(lang):
    cat = i18n.catalog(lang)
    from ui.charts import BURNDOWN_LABEL_KEYS
    dynamic = [f"chart.{k}" for k in BURNDOWN_LABEL_KEYS]
    dynamic += [f"delivery.{p}_{s}" for p in ("statistic", "unit") for s in ("points", "count", "hours")]
    dynamic += [f"delivery.mode_{m}" for m in ("jira", "strict")]
    dynamic += [f"event.{e}" for e in ("burndown", "reopen", "scope_plus", "scope_minus")]
    dynamic += [f"event.cause_{c}" for c in ("membership", "estimate", "status")]
    dynamic += [f"quality.scope_{s}" for s in ("bugs", "all")]
    dynamic += [f"settings.kind_{k}" for k in VALUE_KINDS]
    dynamic += [f"canonical.{k}.{v}" for k, (_, _, values) in VALUE_KINDS.items() for v in values]
    dynamic += [f"settings.state_{s}" for s in SPRINT_STATES]
    dynamic += [f"settings.source_{s}" for s in ("tracker", "manual", "inferred", "names_only")]
    dynamic += [f"settings.calendar_{c}" for c in ("CN", "none")]
    source = (ROOT / "store" / "projects.py").read_text(encoding="utf-8")
    dynamic += [f"settings.error.{code}" for code in re.findall(r'ProjectSettingsError\("([a-z_]+)"', source)]
    assert [k for k in dynamic if k not in cat] == []


def test_warning_codes_the_metrics_emit_are_translated():
    """Every warning code written in the metric modules reads as a sentence (else the page falls back to the
    generic 'Data note' line)."""
    codes = set()
    for path in (ROOT / "metrics").glob("*.py"):
        codes |= set(re.findall(r'"code":\s*"([a-z_0-9]+)"', path.read_text(encoding="utf-8")))
    codes.discard("no_data")
    for lang in i18n.LANGS:
        cat = i18n.catalog(lang)
        assert sorted(c for c in codes if f"warn.{c}" not in cat) == [], lang


def test_render_warning_uses_the_language_and_lists_values():
    w = {"code": "unmapped_status", "count": 2, "values": ["Blocked", "QA"]}
    assert i18n.render_warning(w, "en").startswith("2 issue(s) have statuses with no category (Blocked, QA)")
    assert "Blocked、QA" in i18n.render_warning(w, "zh-CN")


def test_language_codes_normalize():
    assert i18n.normalize_lang("zh_Hans_CN") == "zh-CN"
    assert i18n.normalize_lang("en-US") == "en"
    assert i18n.normalize_lang("fr") is None
