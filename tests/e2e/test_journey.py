"""The newcomer's journey in a real browser: demo at first start, upload a Jira export, see its burndown,
switch to 中文, and every page in both languages (screenshots in tests/e2e/screenshots/)."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.samples import DATA, SAMPLES

pytestmark = pytest.mark.e2e
T = 60_000   # ms: the first run of a page imports its modules and may load the demo

UPLOADER = '[data-testid="stFileUploader"] input[type="file"]'
CHART = '[data-testid="stVegaLiteChart"]'


def nav(page, label: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(label, exact=True).click()


def wait_chart(page, n: int = 1) -> None:
    expect(page.locator(CHART).nth(n - 1).locator("canvas, svg").first).to_be_visible(timeout=T)


def test_first_start_shows_the_demo_with_real_numbers(app_url, page, shots):
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Project overview")).to_be_visible(timeout=T)
    values = page.get_by_test_id("stMetricValue")
    expect(values.first).to_be_visible(timeout=T)
    texts = [v.inner_text() for v in values.all()]
    assert any(re.search(r"\d", x) for x in texts), texts
    wait_chart(page)
    page.screenshot(path=str(shots / "01_overview_demo_en.png"), full_page=True)


def upload_and_import(page, path) -> None:
    nav(page, "Import")
    expect(page.get_by_role("heading", name="Import exports")).to_be_visible(timeout=T)
    page.locator(UPLOADER).set_input_files(str(path))
    page.get_by_role("button", name=re.compile(r"Import 1 file")).click()
    expect(page.get_by_text("Import report")).to_be_visible(timeout=T)


def test_upload_a_jira_export_then_burndown_then_chinese(app_url, page, shots):
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Project overview")).to_be_visible(timeout=T)
    upload_and_import(page, DATA / "jira" / "allfields_small.csv")
    report = page.get_by_text(re.compile(r"allfields_small\.csv → project DEMO"))
    expect(report).to_be_visible(timeout=T)
    expect(page.get_by_text("Estimate coverage: 3 of 5 issues have story points.")).to_be_visible()
    page.screenshot(path=str(shots / "02_import_report_en.png"), full_page=True)

    nav(page, "Delivery")
    expect(page.get_by_role("heading", name="Delivery")).to_be_visible(timeout=T)
    wait_chart(page)
    # The imported project is selected and its inferred sprint is shown, with the reason said aloud.
    expect(page.get_by_text(re.compile("DEMO Sprint 2")).first).to_be_visible()
    expect(page.get_by_text(re.compile(r"has no dates in the export; they were inferred"))).to_be_visible()
    page.screenshot(path=str(shots / "03_delivery_demo_en.png"), full_page=True)

    page.get_by_test_id("stSidebar").get_by_text("中文", exact=True).click()
    expect(page.get_by_role("heading", name="交付")).to_be_visible(timeout=T)
    expect(page.get_by_text(re.compile("迭代燃尽图")).first).to_be_visible()
    wait_chart(page)
    page.screenshot(path=str(shots / "04_delivery_demo_zh.png"), full_page=True)

    # The language sticks across pages.
    nav(page, "质量")
    expect(page.get_by_role("heading", name="质量")).to_be_visible(timeout=T)
    nav(page, "总览")
    expect(page.get_by_role("heading", name="项目总览")).to_be_visible(timeout=T)


def test_a_refused_file_names_the_file_in_the_users_language(app_url, page, shots, tmp_path):
    bad = tmp_path / "坏文件.csv"
    bad.write_text("Summary,Status\nx,Done\n", encoding="utf-8")
    page.goto(app_url + "/?lang=zh-CN")
    expect(page.get_by_role("heading", name="项目总览")).to_be_visible(timeout=T)
    nav(page, "导入")
    page.locator(UPLOADER).set_input_files(str(bad))
    page.get_by_role("button", name=re.compile(r"导入 1 个文件")).click()
    expect(page.get_by_text(re.compile(r"坏文件\.csv：列名与已知的任何系统导出都不匹配")).first).to_be_visible(timeout=T)
    page.screenshot(path=str(shots / "05_import_refused_zh.png"), full_page=True)


@pytest.mark.parametrize("lang,labels", [
    ("en", ["Overview", "Delivery", "Quality", "Import", "Settings"]),
    ("zh-CN", ["总览", "交付", "质量", "导入", "设置"]),
])
def test_every_page_in_both_languages(app_url, page, shots, lang, labels):
    page.goto(f"{app_url}/?lang={lang}")
    for i, label in enumerate(labels):
        nav(page, label)
        expect(page.locator("h1").first).to_be_visible(timeout=T)
        page.wait_for_timeout(1500)   # let charts finish drawing before the picture
        assert not page.get_by_test_id("stException").count(), label
        page.screenshot(path=str(shots / f"page_{i}_{label}_{lang}.png"), full_page=True)


def test_a_real_jira_sample_when_present(app_url, page, shots):
    path = SAMPLES / "jira" / "cloud_2016-17_allfields_sprint_x3_storypoints_denisbittante.csv"
    if not path.exists():
        pytest.skip(f"real sample not available at {path}")
    page.goto(app_url + "/?lang=en")
    expect(page.get_by_role("heading", name="Project overview")).to_be_visible(timeout=T)
    upload_and_import(page, path)
    expect(page.get_by_text(re.compile(r"→ project INNT,JWP"))).to_be_visible(timeout=T)
    nav(page, "Delivery")
    wait_chart(page)
    page.screenshot(path=str(shots / "06_delivery_real_sample_en.png"), full_page=True)
