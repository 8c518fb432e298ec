"""ZenTao benchmark: `cli.py ingest` of a 1M-row ZenTao zh-cn bug export in GBK vs DuckDB's own read_csv.

    /tmp/venv/bin/python bench/zentao.py [--rows N] [--repeat N] [--keep] [--out DIR]

1. Writes a ZenTao 18.8 zh-cn bug export exactly as `module/file/view/export2csv.html.php` writes it
   (FORMATS.md 2.2-2.4): the 40 `exportFields` columns of the bug table in export order, every cell quoted, one
   extra empty cell at the end of each data row, LF line ends, no BOM, `"` written as `“`; `label(#key)` values
   for 所属产品 / 平台/分支 / 所属模块 / 所属项目 / 所属执行 / 严重程度 / 优先级 / Bug类型 / Bug状态 / 解决方案 / 是否确认 /
   版本, multi-line 重现步骤 on one row in three, 激活次数 0-3, dates `YYYY-MM-DD HH:MM:SS` with
   `0000-00-00 00:00:00` (and a `0000-00-00` 截止日期) where ZenTao has none. One DuckDB
   `COPY (SELECT ... FROM range(N)) TO ...` writes it in UTF-8 (deterministic, no Python row loop); one streamed
   pass then writes the UTF-8 file (the baseline's input) and the GBK one (what the user uploads).
2. Times (a) the baseline, `CREATE TABLE t AS SELECT * FROM read_csv(UTF-8 file)` into a fresh file-backed
   database, and (b) `python cli.py ingest GBK_FILE --project ZT --db fresh.duckdb`, alternated, as child
   processes (bench/common.py, shared with bench/ingest.py): wall and CPU time, peak RSS from os.wait4.
3. Prints the ratio (b)/(a), the peak memory of (b) and where (b)'s time went (PULSE_PROFILE=1 steps of
   ingest/decode.py and ingest/zentao.py, the loader's statements from DuckDB's query log).

Always exits 0; the last line of stdout is one JSON object with the results. Targets: ratio <= 2.5,
peak memory of (b) < 1.5 GB.
"""
from __future__ import annotations

import argparse
import codecs
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (bench/common.py: the runner shared with bench/ingest.py)
from common import MACRO, sql_pick as _pick  # noqa: E402

TARGET_RATIO = 2.5
TARGET_PEAK_MB = 1536
CHUNK = 16 * 1024 * 1024

ZERO_DATETIME = "'0000-00-00 00:00:00'"
PEOPLE = ["张三", "李四", "王五", "赵六", "测试甲", "测试乙", "测试丙", "开发一", "开发二", "开发三", "产品经理",
          "王经理", "刘洋", "陈静", "杨帆", "黄磊", "周杰", "吴敏", "徐蕾", "孙浩"]
PRODUCTS = ["智慧园区(#2)", "在线商城(#3)", "OA系统(#4)"]
PROJECTS = ["智慧园区一期(#5)", "商城改版(#6)", "OA升级(#7)"]
BRANCHES = ["主干(#0)", "主干(#0)", "主干(#0)", "安卓(#1)", "苹果(#2)"]
MODULES = ["/(#0)", "/登录(#8)", "/支付/退款(#12)", "/报表(#15)", "/首页(#3)", "/用户中心/个人资料(#21)",
           "/消息通知(#30)", "/后台管理/权限(#33)"]
AREAS = ["登录", "首页", "报表", "退款", "订单", "搜索", "消息", "权限", "导出", "支付", "个人资料", "审批"]
PROBLEMS = ["显示错位", "加载缓慢", "数据不一致", "按钮无响应", "报错500", "金额错误", "重复提交", "文字溢出",
            "无法保存", "超时"]
KEYWORDS = ["验证码,前端", "性能", "兼容性", "回归", "接口，后端"]
TYPES = ["代码错误(#codeerror)", "代码错误(#codeerror)", "代码错误(#codeerror)", "配置相关(#config)",
         "安装部署(#install)", "安全相关(#security)", "性能问题(#performance)", "标准规范(#standard)",
         "测试脚本(#automation)", "设计缺陷(#designdefect)", "其他(#others)"]
OSES = ["", "", "Windows(#windows)", "Android(#android)", "Linux(#linux)", "IOS(#ios)"]
BROWSERS = ["", "", "Chrome(#chrome)", "Firefox(#firefox)", "IE系列(#ie)", "Safari(#safari)"]
RESOLUTIONS = ["已解决(#fixed)"] * 6 + ["重复Bug(#duplicate)", "不予解决(#willnotfix)", "转为研发需求(#tostory)",
                                       "设计如此(#bydesign)", "延期处理(#postponed)", "外部原因(#external)",
                                       "无法重现(#notrepro)"]


def _dt(expr: str) -> str:
    return f"strftime({expr}, '%Y-%m-%d %H:%M:%S')"


def _columns() -> list[tuple[str, str]]:
    """(zh-cn label, SQL expression over `rows`) in the order of ZenTao 18.8's bug exportFields."""
    person = lambda r: _pick(PEOPLE, f"({r}) % {len(PEOPLE)}")          # noqa: E731
    resolved = "status_code <> 'active'"
    closed = "status_code = 'closed'"
    return [
        ("Bug编号", "CAST(i + 1 AS VARCHAR)"),
        ("所属产品", _pick(PRODUCTS, "r_prod")),
        ("平台/分支", _pick(BRANCHES, f"r_misc % {len(BRANCHES)}")),
        ("所属模块", _pick(MODULES, f"r_mod % {len(MODULES)}")),
        ("所属项目", _pick(PROJECTS, "r_prod")),
        ("所属执行", "CASE WHEN r_misc < 90 THEN '迭代' || sprint || '(#' || (10 + sprint) || ')' ELSE '' END"),
        ("相关需求", "CASE WHEN r_misc % 4 = 0 THEN '研发需求' || (i % 997 + 1) || '(#' || (i % 997 + 1) || ')' ELSE '' END"),
        ("相关任务", "CASE WHEN r_misc % 9 = 0 THEN '开发任务' || (i % 1499 + 1) || '(#' || (i % 1499 + 1) || ')' ELSE '' END"),
        ("Bug标题", "CASE WHEN r_misc % 10 = 0 THEN '点击“' || w1 || '”按钮后' || w2 ELSE w1 || '页面' || w2 END "
                  "|| '（#' || (i + 1) || '）'"),
        ("关键词", f"CASE WHEN r_misc < 25 THEN {_pick(KEYWORDS, f'r_misc % {len(KEYWORDS)}')} ELSE '' END"),
        ("严重程度", "sev || '(#' || sev || ')'"),
        ("优先级", "pri || '(#' || pri || ')'"),
        ("Bug类型", _pick(TYPES, f"r_type % {len(TYPES)}")),
        ("操作系统", _pick(OSES, f"r_env % {len(OSES)}")),
        ("浏览器", _pick(BROWSERS, f"(r_env // 7) % {len(BROWSERS)}")),
        ("重现步骤", "CASE WHEN r_misc % 3 = 0 THEN '[步骤]打开' || w1 || '页面' || chr(10) || '[结果]' || w2 || chr(10) "
                  "|| '[期望]正常显示，无报错' ELSE '[步骤]打开' || w1 || '页面 [结果]' || w2 || ' [期望]正常' END"),
        ("Bug状态", "CASE status_code WHEN 'active' THEN '激活(#active)' WHEN 'resolved' THEN '已解决(#resolved)' "
                  "ELSE '已关闭(#closed)' END"),
        ("截止日期", "CASE WHEN r_misc % 5 = 1 THEN strftime(created + INTERVAL 14 DAY, '%Y-%m-%d') ELSE '0000-00-00' END"),
        ("激活次数", "CAST(activated AS VARCHAR)"),
        ("是否确认", "CASE WHEN r_misc < 70 THEN '已确认(#1)' ELSE '未确认(#0)' END"),
        ("抄送给", f"CASE WHEN r_misc % 6 = 2 THEN {person('r_user + 3')} || ',' || {person('r_user + 7')} ELSE '' END"),
        ("由谁创建", person("r_rep")),
        ("创建日期", _dt("created")),
        ("影响版本", "CASE WHEN r_misc % 2 = 0 THEN '主干(#trunk)' "
                  "ELSE 'V1.' || (r_prod + 1) || '(#' || (r_prod + 3) || ')' END"),
        ("指派给", f"CASE WHEN {closed} THEN 'Closed' ELSE {person('r_user')} END"),
        ("指派日期", _dt("created + INTERVAL 2 HOUR")),
        ("解决者", f"CASE WHEN {resolved} THEN {person('r_user')} ELSE '' END"),
        ("解决方案", f"CASE WHEN {resolved} THEN {_pick(RESOLUTIONS, f'r_res % {len(RESOLUTIONS)}')} ELSE '' END"),
        ("解决版本", f"CASE WHEN {resolved} THEN 'V1.' || (r_prod + 1) || '(#' || (r_prod + 3) || ')' ELSE '' END"),
        # A few closed bugs carry no resolution date (closed straight away in older ZenTao versions).
        ("解决日期", f"CASE WHEN {resolved} AND NOT ({closed} AND r_misc % 25 = 4) THEN {_dt('resolved_at')} "
                    f"ELSE {ZERO_DATETIME} END"),
        ("由谁关闭", f"CASE WHEN {closed} THEN {person('r_rep')} ELSE '' END"),
        ("关闭日期", f"CASE WHEN {closed} THEN {_dt('updated')} ELSE {ZERO_DATETIME} END"),
        ("重复Bug", f"CASE WHEN {resolved} AND r_res % {len(RESOLUTIONS)} = 6 AND i > 0 "
                   "THEN CAST(i - r_misc % i AS VARCHAR) ELSE '' END"),
        ("相关Bug", "CASE WHEN r_misc % 20 = 3 THEN CAST(i // 2 + 1 AS VARCHAR) || ',' || CAST(i // 3 + 1 AS VARCHAR) "
                  "ELSE '' END"),
        ("相关用例", "CASE WHEN r_misc % 15 = 5 THEN '用例' || (i % 301 + 1) || '(#' || (i % 301 + 1) || ')' ELSE '' END"),
        ("最后修改者", person("r_user + r_misc")),
        ("修改日期", _dt("updated")),
        ("附件", "CASE WHEN r_misc % 40 = 7 THEN '截图' || (i + 1) || '.png' ELSE '' END"),
        ("反馈者", "''"),
        ("通知邮箱", "''"),
    ]


ROWS_SQL = """
WITH b AS (
    SELECT i, rnd(i, 1, 3) AS r_prod, rnd(i, 2, 100) AS r_status, rnd(i, 3, 100) AS r_misc,
           rnd(i, 4, 1000) AS r_user, rnd(i, 5, 1000) AS r_rep, rnd(i, 6, 1051200) AS r_created,
           rnd(i, 7, 30240) AS r_upd, rnd(i, 8, 100) AS r_mod, rnd(i, 9, 1000) AS r_type, rnd(i, 10, 42) AS r_env,
           rnd(i, 11, 1000) AS r_res, rnd(i, 12, 100) AS r_act, 1 + rnd(i, 13, 40) AS sprint,
           1 + rnd(i, 14, 4) AS sev, 1 + rnd(i, 15, 4) AS pri, rnd(i, 16, 12) AS r_w1, rnd(i, 17, 10) AS r_w2
    FROM range({n}) t(i)
), rows AS (
    SELECT *,
        CASE WHEN r_status < 35 THEN 'active' WHEN r_status < 65 THEN 'resolved' ELSE 'closed' END AS status_code,
        CASE WHEN r_act < 75 THEN 0 WHEN r_act < 92 THEN 1 WHEN r_act < 98 THEN 2 ELSE 3 END AS activated,
        TIMESTAMP '2023-01-01 08:00:00' + to_minutes(r_created) + to_seconds(r_upd % 60) AS created,
        TIMESTAMP '2023-01-01 08:00:00' + to_minutes(r_created + r_upd) + to_seconds(r_upd % 60) AS updated,
        TIMESTAMP '2023-01-01 08:00:00' + to_minutes(r_created + r_upd // 2) AS resolved_at,
        {w1} AS w1, {w2} AS w2
    FROM b
)
SELECT {select}, '' AS trailing FROM rows
"""


def write_export(utf8_path: Path, gbk_path: Path, rows: int) -> dict:
    """The export in UTF-8 (baseline input) and in GBK (what ZenTao writes when the user picks GBK)."""
    cols = _columns()
    select = ", ".join(f"{expr} AS c{k}" for k, (_, expr) in enumerate(cols))
    sql = ROWS_SQL.format(n=int(rows), select=select, w1=_pick(AREAS, "r_w1"), w2=_pick(PROBLEMS, "r_w2"))
    body = utf8_path.with_suffix(".body")
    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute(MACRO)
    # FORCE_QUOTE *: every cell quoted, as ZenTao does; no value holds `"` (ZenTao writes `“`), so nothing is
    # escaped; the last, always empty, column is ZenTao's extra cell.
    con.execute(f"COPY ({sql}) TO '{body}' (FORMAT csv, HEADER false, QUOTE '\"', ESCAPE '\"', "
                f"FORCE_QUOTE *, NEW_LINE '\\n')")
    con.close()
    head = '"' + '","'.join(h for h, _ in cols) + '"\n'
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    with open(utf8_path, "wb") as u8, open(gbk_path, "wb") as gbk, open(body, "rb") as src:
        u8.write(head.encode("utf-8"))
        gbk.write(head.encode("gbk"))
        while chunk := src.read(CHUNK):
            u8.write(chunk)
            gbk.write(decoder.decode(chunk).encode("gbk"))
        gbk.write(decoder.decode(b"", final=True).encode("gbk"))
    body.unlink()
    return {"seconds": time.perf_counter() - t0, "bytes": gbk_path.stat().st_size,
            "utf8_bytes": utf8_path.stat().st_size, "columns": len(cols)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_arguments(ap, "export")
    args = ap.parse_args(argv)

    def paths(work: Path) -> tuple[Path, Path]:
        return work / f"zentao_bug_{args.rows}_utf8.csv", work / f"zentao_bug_{args.rows}_gbk.csv"

    def prepare(work: Path, result: dict) -> tuple[Path, Path]:
        utf8_path, gbk_path = paths(work)
        gen = write_export(utf8_path, gbk_path, args.rows)
        result["csv"] = {"path": str(gbk_path), "mb": round(gen["bytes"] / 2**20, 1), "encoding": "gbk",
                         "baseline_path": str(utf8_path), "baseline_mb": round(gen["utf8_bytes"] / 2**20, 1),
                         "columns": gen["columns"], "write_seconds": round(gen["seconds"], 2)}
        print(f"wrote {gbk_path} ({result['csv']['mb']} MB GBK; UTF-8 copy {result['csv']['baseline_mb']} MB, "
              f"{gen['columns']} columns, {args.rows} rows) in {gen['seconds']:.2f} s", flush=True)
        return utf8_path, gbk_path

    def generated(work: Path) -> list[Path]:
        utf8_path, gbk_path = paths(work)
        return [utf8_path, gbk_path, utf8_path.with_suffix(".body")]

    return common.main(args, common.Bench(prepare, TARGET_RATIO, TARGET_PEAK_MB, generated,
                                          ingest_args=["--project", "ZT"]))


if __name__ == "__main__":
    sys.exit(main())
