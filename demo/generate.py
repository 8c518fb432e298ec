"""The demo: three projects' tracker exports, written exactly as the trackers write them.

`write_demo_exports(out_dir, today)` writes real export files (never rows straight into the database), so
the demo goes through the same import path as a user's files. Everything is seeded: the same `today` gives
byte-identical files. The twelve months up to `today`'s month are covered:

- ERP  ERP 升级实施 (ZenTao 禅道 waterfall system-integration project): the zh-cn UI's bug, task and story
  "导出 CSV" files in GBK, written as `file/view/export2csv.html.php` writes them (every cell quoted, one
  extra empty cell per data row, `label(#id)` values, `8h` hours, child tasks marked `>`, the task export's
  free-text last line). 150 bugs over five modules (所属模块) with 严重程度 1-4, 解决方案 and 激活次数 (real
  reactivations, two bugs active again right now); the baseline WBS tasks with estimates and deadlines, bug-fix
  tasks (来源Bug) whose hours are the rework, change-request requirements, the PDCA action (a parent task with
  child tasks). Planted for the review: module INT's defect density far above its u-chart limit; interface
  tasks slip so SPI dips below 0.9 in m6-m7; bug-fix hours rise to ~30 % of the month's hours in m6, then fall
  after the PDCA action of m7; 12 valid production bugs after the go-live (DRE ~91 %).
- OPS  运维支持 Ops Support (GitLab Kanban team): two issues "Export as CSV" files, last month's and this
  month's, of the same issues in different states (a few moved from Closed back to Open); scoped labels
  `type::`, `priority::`, `workflow::`, `component::`, `resolution::`. Lead times slow down over the last two
  months (a migration).
- PAY  支付平台 Payments (Jira Scrum): `/rest/api/2/search?expand=changelog,names` JSON with full
  changelogs (status, resolution, Sprint, Story Points), worklogs, sub-tasks and epics, plus the board's
  `/rest/agile/1.0/board/{id}/sprint` JSON. Two-week sprints over the last ~4-5 months, the last one
  active; one sprint spans a Chinese statutory holiday and ends on a 调休 make-up working day (per
  chinese-calendar), and the team committed a normal load to it; mid-sprint additions, a removal, a
  re-estimate, carry-over and reopened issues. Written last: the app opens on the latest import's project.

The PMO's project settings (names, size, per-module KLOC, budget, time zone, calendar) travel with each
DemoFile; `demo.load_demo` applies them after the import.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import random
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import holidays

TZ_NAME = "Asia/Shanghai"
TZ = ZoneInfo(TZ_NAME)
SITE = "https://huaxin-si.atlassian.net"      # a fictitious Jira Cloud site


@dataclass
class DemoFile:
    """One written export: where it is, whose it is, how to import it, and what to set afterwards.

    settings = {"project": {projects column: value}, "settings": {settings row name: text value}}.
    counts   = what the generator put in the file (for tests and the import report).
    """
    path: Path
    project_key: str
    fmt: str
    settings: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------------------
# Calendar, time and formatting helpers
# ----------------------------------------------------------------------------------------------------------

@lru_cache(maxsize=4096)
def is_workday(day: date) -> bool:
    """The layers of DESIGN.md: chinese-calendar where it knows the year (statutory holidays and 调休 make-up
    days), else the holidays package's China table (holidays only), else Monday-Friday."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        pass
    table = _cn_holidays(day.year)
    return day.weekday() < 5 and day not in table


@lru_cache(maxsize=32)
def _cn_holidays(year: int) -> frozenset:
    try:
        return frozenset(holidays.country_holidays("CN", years=year))
    except Exception:   # a year the package refuses: plain Monday-Friday
        return frozenset()


def _days(d0: date, d1: date):
    d = d0
    while d <= d1:
        yield d
        d += timedelta(days=1)


def _workdays(d0: date, d1: date) -> list[date]:
    return [d for d in _days(d0, d1) if is_workday(d)]


def _month_start(today: date, back: int) -> date:
    """First day of the month `back` months before today's month."""
    n = today.year * 12 + today.month - 1 - back
    return date(n // 12, n % 12 + 1, 1)


def _month_end(first: date) -> date:
    n = first.year * 12 + first.month
    return date(n // 12, n % 12 + 1, 1) - timedelta(days=1)


def _dt(day: date, minutes: int, rnd: random.Random | None = None) -> datetime:
    sec, ms = (rnd.randint(0, 59), rnd.randint(0, 999)) if rnd else (0, 0)
    return datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, sec, ms * 1000, tzinfo=TZ)


def _at(rnd: random.Random, day: date, lo: int = 9 * 60 + 30, hi: int = 17 * 60 + 30) -> datetime:
    """A moment of office hours on `day`."""
    return _dt(day, rnd.randint(lo, hi), rnd)


def _later(rnd: random.Random, prev: datetime, day: date, cap: int = 17 * 60 + 35) -> datetime:
    """A moment on `day` strictly after `prev` (same day: 10 minutes to 2 hours later, kept before `cap`)."""
    if day > prev.date():
        return _at(rnd, day)
    t = prev + timedelta(minutes=rnd.randint(10, 120), seconds=rnd.randint(0, 59))
    if t.hour * 60 + t.minute > cap:
        t = prev + timedelta(seconds=rnd.randint(30, 300))
    return t


def _office(rnd: random.Random, t: datetime) -> datetime:
    """`t` when it falls in office hours (09:00-19:30) of a working day, else the next working morning."""
    t = t.astimezone(TZ)
    minutes = t.hour * 60 + t.minute
    if is_workday(t.date()) and 9 * 60 <= minutes <= 19 * 60 + 30:
        return t
    d = t.date() if (minutes < 9 * 60 and is_workday(t.date())) else t.date() + timedelta(days=1)
    while not is_workday(d):
        d += timedelta(days=1)
    return _dt(d, rnd.randint(9 * 60, 11 * 60 + 30), rnd)


def api_ts(t: datetime) -> str:
    """Jira REST: 2026-03-02T10:15:00.000+0800."""
    t = t.astimezone(TZ)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{t.microsecond // 1000:03d}" + t.strftime("%z")


def utc_ts(t: datetime) -> str:
    """Jira agile sprint dates: 2026-03-02T02:15:00.000Z."""
    t = t.astimezone(timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{t.microsecond // 1000:03d}Z"


def account_id(name: str) -> str:
    return hashlib.sha1(f"demo-account:{name}".encode("utf-8")).hexdigest()[:24]


def _user(name: str | None) -> dict | None:
    if not name:
        return None
    aid = account_id(name)
    return {"self": f"{SITE}/rest/api/2/user?accountId={aid}", "accountId": aid, "displayName": name,
            "active": True, "timeZone": TZ_NAME, "accountType": "atlassian"}


def _hours_text(seconds: int) -> str:
    """Jira's duration text: 1d 2h 30m (8-hour days)."""
    m = seconds // 60
    d, m = divmod(m, 8 * 60)
    h, m = divmod(m, 60)
    parts = [f"{d}d"] * bool(d) + [f"{h}h"] * bool(h) + [f"{m}m"] * bool(m)
    return " ".join(parts) or "0m"


def _export_moment(today: date) -> datetime:
    """The demo exports are taken at 08:30 local on `today`: every event in them happened before."""
    return _dt(today, 8 * 60 + 30)


# ----------------------------------------------------------------------------------------------------------
# PAY — Jira Scrum, REST JSON with changelog
# ----------------------------------------------------------------------------------------------------------

PAY_KEY = "PAY"
PAY_NAME_ZH, PAY_NAME_EN = "支付平台", "Payments"
PAY_BOARD = 42
PAY_FIRST_SPRINT_ID = 118
PAY_STATUS = {"To Do": ("10000", "new"), "In Progress": ("3", "indeterminate"),
              "In Review": ("10001", "indeterminate"), "Done": ("10002", "done")}
PAY_CATEGORY = {"new": (2, "To Do", "blue-gray"), "indeterminate": (4, "In Progress", "yellow"),
                "done": (3, "Done", "green")}
PAY_TYPES = {"Epic": ("10000", False, 1, "A big user story that needs to be broken down."),
             "Story": ("10001", False, 0, "Functionality or a feature expressed as a user goal."),
             "Task": ("10002", False, 0, "A small, distinct piece of work."),
             "Sub-task": ("10003", True, -1, "A small piece of work that's part of a larger task."),
             "Bug": ("10004", False, 0, "A problem or error.")}
PAY_RESOLUTIONS = {"Done": "10000", "Won't Do": "10001", "Duplicate": "10002", "Cannot Reproduce": "10003"}
PRIORITIES = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}
PAY_COMPONENTS = {"Gateway 支付网关": "10100", "Reconciliation 对账": "10101",
                  "Merchant Portal 商户后台": "10102", "Channel 渠道接入": "10103"}
GW, RC, MP, CH = PAY_COMPONENTS
PAY_MODULE_KLOC = {GW: 12.0, RC: 9.0, MP: 8.0, CH: 7.0}     # the PMO's size per component (36 KLOC)
PAY_PO = "陈静"
PAY_DEVS = ["张伟", "王磊", "Kevin Zhou", "刘洋"]
PAY_QA = ["李娜", "赵敏"]

PAY_EPICS = [("对账中心 Reconciliation Center", RC), ("支付渠道扩展 (银联 / Apple Pay / PayPal)", CH),
             ("支付网关稳定性 Gateway SLO 99.95%", GW)]

# (type, summary, component, epic index or None, story points)
PAY_BACKLOG = [
    ("Story", "作为商户，我希望在后台查询单笔退款进度", MP, None, 5),
    ("Story", "接入银联云闪付 UnionPay QR 主扫支付", CH, 1, 8),
    ("Story", "支付路由 routing rule 支持按商户 + 金额配置", GW, 2, 5),
    ("Story", "对账文件自动下载：微信支付 / 支付宝 T+1", RC, 0, 5),
    ("Task", "Payment gateway 接入 Sentinel 限流 rate limit", GW, 2, 3),
    ("Story", "商户结算 T+1 报表导出 Excel", MP, None, 3),
    ("Story", "差错处理：长款 / 短款自动挂账", RC, 0, 8),
    ("Task", "Apple Pay 接入技术调研 (spike)", CH, 1, 2),
    ("Story", "退款接口支持部分退款 partial refund", GW, None, 5),
    ("Task", "升级 Spring Boot 2.7 → 3.2", GW, 2, 5),
    ("Story", "对账差异报表：按渠道 / 日期汇总", RC, 0, 3),
    ("Story", "商户后台：API 密钥轮换 key rotation", MP, None, 3),
    ("Task", "压测：JMeter 脚本覆盖下单 / 支付 / 退款三条链路", GW, 2, 3),
    ("Story", "PayPal 跨境收单 cross-border checkout", CH, 1, 8),
    ("Story", "支付结果异步通知重试策略（指数退避）", GW, 2, 3),
    ("Task", "生产 Redis Cluster 扩容 6 → 9 节点", GW, 2, 2),
    ("Story", "对账中心：银行流水 MT940 解析", RC, 0, 5),
    ("Story", "商户入网资料审核流程 merchant onboarding", MP, None, 8),
    ("Task", "PCI-DSS 合规自查：卡号脱敏 masking", GW, None, 3),
    ("Story", "渠道费率配置化 fee schedule", CH, 1, 5),
    ("Story", "订单查询接口 P99 < 200ms 优化", GW, 2, 5),
    ("Story", "对账结果邮件 / 钉钉通知", RC, 0, 2),
    ("Story", "商户后台多语言 i18n（中 / 英）", MP, None, 3),
    ("Task", "灰度发布：支付网关 canary 配置", GW, 2, 3),
    ("Story", "Apple Pay In-App 支付接入", CH, 1, 8),
    ("Story", "退款审批流：大额退款双人复核", MP, None, 5),
    ("Story", "对账中心：手工调账 + 审计日志", RC, 0, 5),
    ("Task", "数据库 pay_order 表按月分区 partition", GW, 2, 5),
    ("Story", "银联 ACP 证书到期自动提醒", CH, 1, 2),
    ("Story", "商户交易看板 dashboard（GMV / 成功率）", MP, None, 5),
    ("Story", "支付宝当面付条码支付", CH, 1, 5),
    ("Task", "链路追踪接入 SkyWalking", GW, 2, 3),
    ("Story", "对账中心：三方对账（订单 / 渠道 / 银行）", RC, 0, 8),
    ("Story", "风控规则：同卡 1 分钟内限 3 笔", GW, None, 3),
    ("Story", "商户结算单 PDF 电子签章", MP, None, 5),
    ("Task", "SonarQube 高危问题修复（12 项）", GW, None, 3),
    ("Story", "PayPal 退款与争议 dispute 处理", CH, 1, 5),
    ("Story", "支付网关双活：上海 / 北京机房切换演练", GW, 2, 8),
    ("Story", "对账结果 API 开放给财务系统", RC, 0, 3),
    ("Story", "商户后台子账号与权限 RBAC", MP, None, 5),
    ("Task", "Kafka 消息积压告警阈值调整", GW, 2, 1),
    ("Story", "数字人民币 e-CNY 支付接入预研", CH, 1, 5),
    ("Story", "跨境支付：汇率 FX rate 每日同步", CH, 1, 3),
    ("Story", "对账中心：节假日对账批次合并", RC, 0, 3),
    ("Story", "商户 webhook 签名校验 SDK（Java / Go）", MP, None, 5),
    ("Task", "年终大促容量评估 capacity planning", GW, 2, 3),
    ("Story", "退款失败自动转人工工单", GW, None, 3),
    ("Story", "支付成功页 A/B test 埋点", MP, None, 2),
    ("Story", "收银台支持分期付款（花呗分期）", CH, 1, 5),
    ("Story", "对账中心：渠道手续费核对", RC, 0, 3),
    ("Story", "商户后台：交易明细高级筛选", MP, None, 3),
    ("Task", "支付网关日志脱敏规则补充", GW, None, 2),
]
PAY_BUGS = [
    ("【支付宝】退款回调验签失败 (RSA2)", GW, "High"),
    ("微信 H5 下单页金额显示为 0.00", MP, "High"),
    ("Refund API 重复请求未做幂等校验", GW, "Highest"),
    ("对账文件下载超时 (timeout 30s)", RC, "Medium"),
    ("商户后台导出 Excel 中文乱码", MP, "Medium"),
    ("银联回调 IP 白名单遗漏新网段", CH, "High"),
    ("NPE in ChannelRouter when merchant has no fee config", GW, "High"),
    ("订单查询分页 total 不准确", MP, "Low"),
    ("结算报表跨月数据重复", RC, "High"),
    ("Apple Pay token 解密失败 (sandbox)", CH, "Medium"),
    ("时区问题：对账日切按 UTC 而非 UTC+8", RC, "High"),
    ("商户后台登录 session 15 分钟即过期", MP, "Low"),
    ("PayPal webhook 重放导致重复入账", CH, "Highest"),
    ("限流配置热更新不生效", GW, "Medium"),
    ("退款金额精度丢失 (BigDecimal → double)", GW, "Highest"),
    ("Kafka consumer rebalance 导致通知重复发送", GW, "Medium"),
    ("iOS 收银台 Safari 白屏", MP, "Medium"),
    ("对账差异报表合计行错误", RC, "Low"),
    ("二维码过期时间显示错误", CH, "Low"),
    ("批量退款任务卡在 PROCESSING", GW, "High"),
    ("商户 API 文档示例签名算法错误", MP, "Low"),
    ("渠道费率四舍五入差 0.01 元", RC, "Medium"),
]
PAY_MID_SPRINT_STORIES = [
    ("Story", "紧急：人行监管报送接口字段调整", GW, None, 3),
    ("Story", "大促前新增：优惠券抵扣金额透传渠道", CH, 1, 5),
    ("Task", "紧急：渠道证书轮换（银联 2026 新证书）", CH, 1, 2),
]
PAY_SUBTASKS = ["后端接口开发", "前端页面开发", "联调 & 测试用例"]
PAY_HOLIDAY_INCIDENT = ("【线上问题】假期支付成功率下降：银联渠道证书过期", CH, "Highest")


@dataclass
class _Sprint:
    id: int
    name: str
    start: datetime
    end: datetime            # planned end
    complete: datetime | None
    state: str
    goal: str
    workdays: list[date]     # planned working days
    elapsed: list[date]      # working days before the export
    holidays: list[date]     # non-working weekdays inside the sprint
    makeup: list[date]       # weekend days that are working days (调休) inside the sprint

    def field_value(self) -> dict:
        v = {"id": self.id, "name": self.name, "state": self.state, "boardId": PAY_BOARD, "goal": self.goal,
             "startDate": utc_ts(self.start), "endDate": utc_ts(self.end)}
        if self.complete:
            v["completeDate"] = utc_ts(self.complete)
        return v


@dataclass(eq=False)
class _Issue:
    type: str
    summary: str
    created: datetime
    reporter: str
    assignee: str | None
    priority: str = "Medium"
    points: float | None = None
    component: str | None = None
    labels: list = field(default_factory=list)
    epic: "_Issue | None" = None
    parent: "_Issue | None" = None
    description: str | None = None
    status: str = "To Do"
    resolution: str | None = None
    resolved_at: datetime | None = None
    category_changed: datetime | None = None
    sprints: list = field(default_factory=list)           # sprint ids, in order joined
    histories: list = field(default_factory=list)         # (when, author, [items])
    worklogs: list = field(default_factory=list)          # (started, author, seconds)
    original_s: int | None = None
    subtasks: list = field(default_factory=list)
    key: str = ""
    id: int = 0

    def last_event(self) -> datetime:
        times = [self.created] + [h[0] for h in self.histories] + [w[0] for w in self.worklogs]
        return max(times)


def _plan_sprints(today: date, export_at: datetime, rnd: random.Random) -> tuple[list[_Sprint], int | None]:
    """Two-week sprints ending with an active one that contains `today`, aligned (when the calendar allows)
    so that one sprint spans a statutory holiday and a make-up working day. Returns (sprints, holiday index)."""
    best = None
    for strict in (True, False):      # sprints start on working days, unless no alignment allows it
        for offset in range(1, 14):
            best = _best_alignment(today, offset, strict, best)
        if best is not None:
            break
    _, starts, hol_k = best
    sprints = []
    goals = ["对账中心一期：自动下载与差异报表", "云闪付上线 + 路由配置化", "退款链路稳定性（幂等 / 重试）",
             "PayPal 跨境收单 MVP", "商户后台体验优化 + 结算报表", "大促前容量与限流", "Apple Pay In-App 上线",
             "三方对账 + 双活演练", "e-CNY 预研 + 技术债清理", "年终大促保障"]
    for k, s in enumerate(starts):
        nxt = s + timedelta(days=14)
        wd = _workdays(s, nxt - timedelta(days=1))
        end_day = wd[-1]
        start = _dt(s, 10 * 60 + rnd.randint(0, 25), rnd)
        end = _dt(end_day, 18 * 60)
        active = k == len(starts) - 1
        complete = None if active else _dt(end_day, 17 * 60 + 50 + rnd.randint(0, 80), rnd)
        days = list(_days(s, nxt - timedelta(days=1)))
        sprints.append(_Sprint(
            id=PAY_FIRST_SPRINT_ID + k, name=f"{PAY_KEY} Sprint {k + 1}", start=start, end=end, complete=complete,
            state="active" if active else "closed", goal=goals[k % len(goals)],
            workdays=wd, elapsed=[d for d in wd if d < export_at.date()],
            holidays=[d for d in days if d.weekday() < 5 and not is_workday(d)],
            makeup=[d for d in days if d.weekday() >= 5 and is_workday(d)]))
    if hol_k is not None:
        sprints[hol_k].goal = "节前冲刺：对账中心二期（含假期值班）"
    return sprints, hol_k


def _best_alignment(today: date, offset: int, strict: bool, best):
    """Score the sprint grids whose last (active) sprint started `offset` days before today; keep the best."""
    last = today - timedelta(days=offset)
    if strict and not is_workday(last):
        return best
    for n in (9, 10, 8):
        starts = [last - timedelta(days=14 * (n - 1 - k)) for k in range(n)]
        if strict and any(not is_workday(s) for s in starts):
            continue
        spans = []
        for s in starts:
            days = list(_days(s, s + timedelta(days=13)))
            hol = [d for d in days if d.weekday() < 5 and not is_workday(d)]
            mk = [d for d in days if d.weekday() >= 5 and is_workday(d)]
            spans.append((hol, mk))
        # the closed sprint richest in holidays, preferring one that also has a make-up working day
        ranked = sorted((k for k in range(n - 1) if spans[k][0]),
                        key=lambda k: (bool(spans[k][1]), len(spans[k][0]) + len(spans[k][1]), -k), reverse=True)
        hol_k = ranked[0] if ranked else None
        elapsed = len(_workdays(last, today - timedelta(days=1)))
        score = (hol_k is not None and bool(spans[hol_k][1]), hol_k is not None, last.weekday() == 0,
                 last.weekday() in (1, 2), 2 <= elapsed <= 7, n == 9,
                 len(spans[hol_k][0]) if hol_k is not None else 0)
        if best is None or score > best[0]:
            best = (score, starts, hol_k)
    return best


class _PayBuilder:
    def __init__(self, today: date, rnd: random.Random):
        self.rnd = rnd
        self.today = today
        self.export_at = _export_moment(today)
        self.sprints, self.hol_k = _plan_sprints(today, self.export_at, rnd)
        self.by_id = {s.id: s for s in self.sprints}
        self.issues: list[_Issue] = []
        self.backlog = iter(PAY_BACKLOG)
        self.bugs = iter(PAY_BUGS)
        self.mid = iter(PAY_MID_SPRINT_STORIES)
        self.reopens = 0

    # -- primitives --------------------------------------------------------------------------------------
    def new(self, type_: str, summary: str, created: datetime, **kw) -> _Issue:
        iss = _Issue(type=type_, summary=summary, created=created, **kw)
        self.issues.append(iss)
        return iss

    def move(self, iss: _Issue, when: datetime, to: str, author: str, resolution: str = "Done") -> bool:
        if when >= self.export_at:
            return False
        frm = iss.status
        (fid, fcat), (tid, tcat) = PAY_STATUS[frm], PAY_STATUS[to]
        items = [{"field": "status", "fieldtype": "jira", "fieldId": "status", "from": fid, "fromString": frm,
                  "to": tid, "toString": to}]
        if tcat == "done" and fcat != "done":
            items.append({"field": "resolution", "fieldtype": "jira", "fieldId": "resolution", "from": None,
                          "fromString": None, "to": PAY_RESOLUTIONS[resolution], "toString": resolution})
            iss.resolution, iss.resolved_at = resolution, when
        elif fcat == "done" and tcat != "done":
            items.append({"field": "resolution", "fieldtype": "jira", "fieldId": "resolution",
                          "from": PAY_RESOLUTIONS[iss.resolution], "fromString": iss.resolution, "to": None,
                          "toString": None})
            iss.resolution, iss.resolved_at = None, None
            self.reopens += 1
        if fcat != tcat:
            iss.category_changed = when
        iss.status = to
        iss.histories.append((when, author, items))
        return True

    def set_sprints(self, iss: _Issue, when: datetime, new_ids: list[int], author: str = PAY_PO) -> None:
        if when >= self.export_at:
            return
        for target in [iss] + iss.subtasks:
            old = list(target.sprints)
            if old == new_ids:
                continue
            target.histories.append((when, author, [{
                "field": "Sprint", "fieldtype": "custom", "fieldId": "customfield_10020",
                "from": ", ".join(str(i) for i in old), "fromString": ", ".join(self.by_id[i].name for i in old),
                "to": ", ".join(str(i) for i in new_ids),
                "toString": ", ".join(self.by_id[i].name for i in new_ids)}]))
            target.sprints = list(new_ids)

    def estimate(self, iss: _Issue, when: datetime, points: float, author: str = PAY_PO) -> None:
        if when >= self.export_at:
            return
        iss.histories.append((when, author, [{
            "field": "Story Points", "fieldtype": "custom", "fieldId": "customfield_10016", "from": None,
            "fromString": None if iss.points is None else f"{iss.points:g}", "to": None,
            "toString": f"{points:g}"}]))
        iss.points = float(points)

    def log(self, iss: _Issue, when: datetime, hours: float, author: str | None = None) -> None:
        if when >= self.export_at:
            return
        iss.worklogs.append((when, author or iss.assignee, int(round(hours * 4)) * 900))

    # -- issues ------------------------------------------------------------------------------------------
    def planned_item(self, sp: _Sprint, tpl, k: int) -> _Issue:
        """A backlog item groomed before the sprint: created weeks earlier, estimated at refinement."""
        rnd = self.rnd
        type_, summary, comp, epic_i, points = tpl
        created = _at(rnd, sp.start.date() - timedelta(days=rnd.randint(6, 30)))
        assignee = PAY_DEVS[(len(self.issues) + k) % len(PAY_DEVS)]
        iss = self.new(type_, summary, created, reporter=PAY_PO, assignee=assignee, component=comp,
                       epic=self.epics[epic_i] if epic_i is not None else None,
                       priority=rnd.choice(["Medium", "Medium", "High", "Low"]),
                       description=_pay_description(summary, rnd))
        if type_ == "Task":
            iss.original_s = points * 4 * 3600
        if rnd.random() < 0.35:
            iss.points = float(points)            # estimated when written: no history
        else:
            first = points if rnd.random() < 0.8 else {1: 2, 2: 3, 3: 2, 5: 3, 8: 5}[points]
            refine = _at(rnd, sp.start.date() - timedelta(days=rnd.randint(1, 5)))
            refine = max(refine, created + timedelta(hours=2))
            self.estimate(iss, refine, first)
            if first != points:                   # re-estimated at a later refinement, before the sprint
                self.estimate(iss, refine + timedelta(minutes=rnd.randint(5, 40)), points)
        if points >= 8 and type_ == "Story":
            for j, name in enumerate(PAY_SUBTASKS):
                st = self.new("Sub-task", f"{name}：{summary}", sp.start - timedelta(minutes=90 - j * 7),
                              reporter=assignee, assignee=(PAY_QA[k % 2] if j == 2 else PAY_DEVS[(k + j) % 4]),
                              parent=iss, priority=iss.priority, component=comp)
                st.original_s = rnd.choice([8, 12, 16, 16, 24]) * 3600
                iss.subtasks.append(st)
        return iss

    def bug(self, created: datetime, reporter: str, tpl=None) -> _Issue:
        summary, comp, prio = tpl or next(self.bugs)
        b = self.new("Bug", summary, created, reporter=reporter, assignee=PAY_DEVS[len(self.issues) % 4],
                     component=comp, priority=prio, labels=["线上问题"] if "线上" in summary else [],
                     description=_pay_bug_description(summary, self.rnd))
        b.original_s = self.rnd.choice([2, 4, 4, 6, 8]) * 3600
        return b

    # -- work --------------------------------------------------------------------------------------------
    def work(self, iss: _Issue, sp: _Sprint, path: list[str], after: datetime, first_day: int = 0,
             elapsed_only: bool = False) -> None:
        """Walk `iss` through `path` (status names) on the sprint's working days after `after`, logging work
        as it goes; stops at the export moment. Sub-tasks are walked with their parent."""
        rnd = self.rnd
        pool = sp.elapsed if elapsed_only else sp.workdays
        days = pool[first_day:] or pool[-1:]
        if not days or not path:
            return
        idx = sorted(rnd.randint(0, len(days) - 1) for _ in path)
        # Spread the steps: the first step early, the last one on or before the last day.
        idx[0] = min(idx[0], max(0, len(days) // 2 - 1))
        prev = after
        was_done_once = iss.resolved_at is not None
        for step, i in zip(path, idx):
            day = max(days[i], prev.date())
            if day > days[-1] or (sp.complete and day > sp.complete.date()):
                return
            when = _later(rnd, prev, day)
            if sp.complete and when >= sp.complete:
                return
            # QA sends work back (to To Do); the assignee moves it forward
            author = PAY_QA[len(iss.summary) % 2] if step == "To Do" else iss.assignee or PAY_DEVS[0]
            if iss.subtasks and step == "In Progress" and iss.subtasks[0].status == "To Do":
                st = iss.subtasks[0]
                if self.move(st, when + timedelta(minutes=3), "In Progress", st.assignee):
                    self.log(st, when + timedelta(minutes=3), st.original_s / 3600 * rnd.uniform(0.2, 0.4))
            if iss.subtasks and step in ("In Review", "Done"):
                # the sub-tasks are finished between the previous step and this one
                open_subs = [st for st in iss.subtasks if PAY_STATUS[st.status][1] != "done"]
                gap = (when - prev) / (2 * len(open_subs) + 1) if open_subs else None
                for j, st in enumerate(open_subs):
                    t0 = max(prev + gap * (2 * j + 1), st.last_event() + timedelta(seconds=rnd.randint(60, 600)))
                    t1 = max(prev + gap * (2 * j + 2), t0 + timedelta(seconds=rnd.randint(60, 600)))
                    when = max(when, t1 + timedelta(seconds=rnd.randint(60, 300)))
                    if st.status == "To Do" and self.move(st, t0, "In Progress", st.assignee):
                        self.log(st, t0, st.original_s / 3600 * rnd.uniform(0.5, 0.8))
                    elif st.status == "In Progress" and t0 < self.export_at:
                        self.log(st, t0, st.original_s / 3600 * rnd.uniform(0.3, 0.5))
                    self.move(st, t1, "Done", st.assignee)
            if step in ("In Review", "Done") and iss.status == "In Progress" and not iss.subtasks:
                hours = (iss.original_s / 3600 * rnd.uniform(0.6, 1.1) if iss.original_s else
                         (iss.points or 2) * rnd.uniform(2.5, 4.5))
                if was_done_once:
                    hours = max(1.0, hours * 0.3)            # rework after the reopen
                self.log(iss, prev if prev > after else _later(rnd, after, after.date()), hours)
            if not self.move(iss, when, step, author):
                return
            if step == "Done":
                was_done_once = True
            prev = when

    def build(self) -> None:
        rnd = self.rnd
        first = self.sprints[0]
        epic_created = _at(rnd, first.start.date() - timedelta(days=40))
        self.epics = []
        for j, (name, comp) in enumerate(PAY_EPICS):
            e = self.new("Epic", name, epic_created + timedelta(minutes=3 * j), reporter=PAY_PO, assignee=PAY_PO,
                         component=comp, priority="High")
            self.epics.append(e)
        for e in self.epics:
            self.move(e, first.start + timedelta(minutes=5), "In Progress", PAY_PO)

        carry: list[_Issue] = []
        removed: list[_Issue] = []
        last_k = len(self.sprints) - 1
        special = {k for k in (self.hol_k, (self.hol_k or 0) + 1, last_k) if k is not None}
        removal_k = next((k for k in (3, 2, 6, 1) if k not in special and k < last_k), None)
        reestimate_k = next((k for k in (2, 6, 3, 1) if k not in special and k != removal_k and k < last_k), None)
        for k, sp in enumerate(self.sprints):
            holiday = k == self.hol_k
            after_holiday = self.hol_k is not None and k == self.hol_k + 1
            active = sp.state == "active"
            planning = sp.start - timedelta(minutes=rnd.randint(20, 50))
            members = list(carry)
            committed = sum(i.points or 0 for i in members if i.type != "Bug")
            # The holiday sprint is planned like any other: the team forgot the holiday (say/do drops).
            target = rnd.randint(24, 29)
            planned: list[_Issue] = []
            if removed:
                planned.append(removed.pop())          # the story taken out earlier comes back
                committed += planned[-1].points or 0
            while committed < target - 2:
                tpl = next(self.backlog, None)
                if tpl is None:
                    break
                iss = self.planned_item(sp, tpl, k)
                planned.append(iss)
                committed += iss.points or 0
            bug = self.bug(_at(rnd, sp.start.date() - timedelta(days=rnd.randint(2, 8))), PAY_QA[k % 2])
            planned.append(bug)
            for iss in planned:
                self.set_sprints(iss, planning, iss.sprints + [sp.id])
            members += planned

            # Outcome of each member: done in the sprint, or carried over. A normal sprint leaves at most
            # one item unfinished; the holiday sprint leaves its two biggest and one more.
            done_plan = {id(i): True for i in members}
            stories = [i for i in members if i.type != "Bug"]
            if holiday:
                slipped = sorted(stories, key=lambda x: -(x.points or 0))[:2]
                rest = [i for i in stories if i not in slipped]
                slipped += rnd.sample(rest, min(1, len(rest)))
            else:
                small = [i for i in stories if (i.points or 0) <= 5 and not i.subtasks]
                # the sprint before the active one always hands two started items over
                n_slip = 2 if k == last_k - 1 else int(rnd.random() < 0.6)
                small.sort(key=lambda i: i.points or 0)
                slipped = rnd.sample(small[:3], min(n_slip, len(small[:3])))
            for i in slipped:
                done_plan[id(i)] = False
            mid_sprint: list[tuple[_Issue, int]] = []

            # Scope change: a story added mid-sprint (urgent), and a bug found by QA.
            if k in (2, 5, last_k) and len(sp.workdays) > 1:
                pool = sp.elapsed[1:] if active else sp.workdays[1:4]
                tpl = next(self.mid, None) if pool else None
                if tpl:
                    d = sp.workdays.index(pool[min(len(pool) - 1, rnd.randint(0, 2))])
                    t = _at(rnd, sp.workdays[d], hi=15 * 60)
                    iss = self.new(tpl[0], tpl[1], t, reporter=PAY_PO, assignee=PAY_DEVS[k % 4], component=tpl[2],
                                   epic=self.epics[tpl[3]] if tpl[3] is not None else None, priority="Highest",
                                   labels=["插入需求"])
                    if tpl[0] == "Task":
                        iss.original_s = tpl[4] * 4 * 3600
                    self.estimate(iss, t + timedelta(minutes=rnd.randint(3, 15)), tpl[4])
                    self.set_sprints(iss, t + timedelta(minutes=rnd.randint(20, 40)), [sp.id])
                    mid_sprint.append((iss, d))
            if len(sp.workdays) > 2 and rnd.random() < 0.75:
                d = rnd.randint(1, min(6, len(sp.workdays) - 1))
                t = _at(rnd, sp.workdays[d], hi=16 * 60)
                if t < self.export_at:
                    b = self.bug(t, PAY_QA[(k + 1) % 2])
                    self.set_sprints(b, _later(rnd, t, t.date()), [sp.id], author=PAY_QA[(k + 1) % 2])
                    mid_sprint.append((b, d))
            if holiday and sp.holidays:
                # Production incident on a holiday: the on-call engineer fixes it the same day.
                day = sp.holidays[min(1, len(sp.holidays) - 1)]
                t = _dt(day, 10 * 60 + rnd.randint(0, 40), rnd)
                if t < self.export_at:
                    inc = self.bug(t, "王磊", PAY_HOLIDAY_INCIDENT)
                    inc.assignee = "王磊"
                    self.set_sprints(inc, t + timedelta(minutes=12), [sp.id], author="王磊")
                    t1 = t + timedelta(minutes=25)
                    self.move(inc, t1, "In Progress", "王磊")
                    self.log(inc, t1, 4, "王磊")
                    self.move(inc, t1 + timedelta(hours=4, minutes=10), "Done", "王磊")

            # Scope removal: a story not started is taken out on day 3 and goes back to the backlog.
            if k == removal_k and len(sp.workdays) > 3:
                cands = [i for i in planned if i.type == "Story" and not i.subtasks and i not in slipped]
                if cands:
                    r = cands[-1]
                    done_plan[id(r)] = None
                    self.set_sprints(r, _at(rnd, sp.workdays[3]), [s for s in r.sprints if s != sp.id])
                    removed.append(r)

            # Mid-sprint re-estimate (a scope change, METRICS 1.1) on day 2, before the work is reviewed.
            reestimated = None
            if k in (reestimate_k, last_k) and len(sp.workdays) > 1:
                cands = [i for i in planned if i.type == "Story" and i.points in (3.0, 5.0) and not i.subtasks
                         and done_plan.get(id(i))]
                if cands:
                    reestimated = cands[0]
                    self.estimate(reestimated, _at(rnd, sp.workdays[1], lo=10 * 60, hi=11 * 60),
                                  {3.0: 5, 5.0: 8}[reestimated.points])

            # Reopens: QA sends work back.
            reopen_story = k == 1 or after_holiday
            reopen_bug = k == 3 or after_holiday
            in_review_now = reopen_now = None
            if active:
                cands = [i for i in carry if i.status in ("In Progress", "In Review") and not i.subtasks]
                reopen_now = cands[0] if cands else None
                in_review_now = cands[1] if len(cands) > 1 else None

            for iss in members:
                plan = done_plan.get(id(iss))
                if plan is None:
                    continue
                path = {"To Do": ["In Progress", "In Review", "Done"], "In Progress": ["In Review", "Done"],
                        "In Review": ["Done"]}[iss.status]
                if iss.type == "Bug":
                    path = [p for p in path if p != "In Review"] or ["Done"]
                if plan:
                    if reopen_story and iss.type == "Story" and not iss.subtasks:
                        path = path + ["In Progress", "In Review", "Done"]
                        reopen_story = False
                    elif reopen_bug and iss.type == "Bug":
                        path = path + ["To Do", "In Progress", "Done"]
                        if after_holiday:
                            path = path + ["To Do", "In Progress", "Done"]   # reopened twice
                        reopen_bug = False
                else:  # started but not finished (in the holiday sprint some never started)
                    path = path[:rnd.randint(0 if holiday else 1, max(1, len(path) - 1))]
                after = max(sp.start, iss.last_event())
                if iss is reopen_now:
                    # carried over, finished early in the active sprint, sent back by QA: currently reopened
                    path = [p for p in ("In Review", "Done", "In Progress") if not (p == "In Review" and
                                                                                   iss.status == "In Review")]
                    self.work(iss, sp, path, after, elapsed_only=True)
                elif iss is in_review_now:
                    self.work(iss, sp, ["In Review"] if iss.status == "In Progress" else [], after, elapsed_only=True)
                elif iss is reestimated:
                    self.work(iss, sp, path, max(after, iss.last_event()), first_day=1)
                else:
                    self.work(iss, sp, path, after)
            for iss, d in mid_sprint:
                if PAY_STATUS[iss.status][1] == "done":
                    continue
                path = ["In Progress", "Done"] if iss.type == "Bug" else ["In Progress", "In Review", "Done"]
                self.work(iss, sp, path, iss.last_event(), first_day=d)
            members += [i for i, _ in mid_sprint if sp.id in i.sprints]

            # Sprint completion: unfinished members move on to the next sprint (carry-over).
            carry = []
            if not active:
                nxt = self.sprints[k + 1]
                for iss in members:
                    if sp.id in iss.sprints and PAY_STATUS[iss.status][1] != "done":
                        self.set_sprints(iss, sp.complete + timedelta(seconds=rnd.randint(1, 20)),
                                         iss.sprints + [nxt.id])
                        carry.append(iss)

        # A groomed backlog for the next sprint (never in a sprint yet; some not estimated).
        last = self.sprints[-1]
        for j in range(4):
            tpl = next(self.backlog, None)
            if tpl is None:
                break
            t = _at(rnd, max(last.start.date() - timedelta(days=6 - j), last.start.date()))
            if t >= self.export_at:
                t = self.export_at - timedelta(hours=20 + j)
            iss = self.new(tpl[0], tpl[1], t, reporter=PAY_PO, assignee=None, component=tpl[2],
                           epic=self.epics[tpl[3]] if tpl[3] is not None else None)
            if j % 2 == 0:
                iss.points = float(tpl[4])

    def number(self) -> None:
        """Keys and ids in creation order; history and worklog ids in time order."""
        self.issues.sort(key=lambda i: (i.created, i.summary))
        for n, iss in enumerate(self.issues, start=1):
            iss.key, iss.id = f"{PAY_KEY}-{n}", 20400 + n

    # -- JSON --------------------------------------------------------------------------------------------
    def issue_json(self, iss: _Issue, hist_ids: dict, wl_ids: dict) -> dict:
        sid, cat = PAY_STATUS[iss.status]
        cid, cname, ccolor = PAY_CATEGORY[cat]
        tid, is_sub, level, tdesc = PAY_TYPES[iss.type]
        leaf = not iss.subtasks
        spent = sum(w[2] for w in iss.worklogs)
        remaining = None
        if iss.original_s is not None:
            remaining = 0 if cat == "done" else max(0, iss.original_s - spent)
        agg = [iss] + iss.subtasks
        agg_orig = sum(i.original_s or 0 for i in agg) if any(i.original_s for i in agg) else None
        agg_spent = sum(w[2] for i in agg for w in i.worklogs) or None
        agg_rem = None
        if agg_orig is not None:
            agg_rem = sum((0 if PAY_STATUS[i.status][1] == "done" else
                           max(0, (i.original_s or 0) - sum(w[2] for w in i.worklogs))) for i in agg)
        status = {"self": f"{SITE}/rest/api/2/status/{sid}", "description": "", "iconUrl": f"{SITE}/",
                  "name": iss.status, "id": sid,
                  "statusCategory": {"self": f"{SITE}/rest/api/2/statuscategory/{cid}", "id": cid, "key": cat,
                                     "colorName": ccolor, "name": cname}}
        issuetype = {"self": f"{SITE}/rest/api/2/issuetype/{tid}", "id": tid, "description": tdesc,
                     "iconUrl": f"{SITE}/rest/api/2/universal_avatar/view/type/issuetype/avatar/"
                                f"{10300 + int(tid) % 100}?size=medium",
                     "name": iss.type, "subtask": is_sub, "hierarchyLevel": level}
        updated = iss.last_event()
        parent = iss.parent or iss.epic
        fields = {
            "statuscategorychangedate": api_ts(iss.category_changed or iss.created),
            "issuetype": issuetype,
            "timespent": spent or None,
            "project": {"self": f"{SITE}/rest/api/2/project/10020", "id": "10020", "key": PAY_KEY,
                        "name": f"{PAY_NAME_ZH} {PAY_NAME_EN}", "projectTypeKey": "software", "simplified": False},
            "fixVersions": [],
            "aggregatetimespent": agg_spent,
            "resolution": ({"self": f"{SITE}/rest/api/2/resolution/{PAY_RESOLUTIONS[iss.resolution]}",
                            "id": PAY_RESOLUTIONS[iss.resolution], "description": "", "name": iss.resolution}
                           if iss.resolution else None),
            "resolutiondate": api_ts(iss.resolved_at) if iss.resolved_at else None,
            "workratio": (round(spent * 100 / iss.original_s) if iss.original_s else -1),
            "lastViewed": None,
            "created": api_ts(iss.created),
            "priority": {"self": f"{SITE}/rest/api/2/priority/{PRIORITIES[iss.priority]}",
                         "iconUrl": f"{SITE}/images/icons/priorities/{iss.priority.lower()}.svg",
                         "name": iss.priority, "id": PRIORITIES[iss.priority]},
            "labels": list(iss.labels),
            "timeestimate": remaining,
            "aggregatetimeoriginalestimate": agg_orig,
            "issuelinks": [],
            "assignee": _user(iss.assignee),
            "updated": api_ts(updated),
            "status": status,
            "components": ([{"self": f"{SITE}/rest/api/2/component/{PAY_COMPONENTS[iss.component]}",
                             "id": PAY_COMPONENTS[iss.component], "name": iss.component}]
                           if iss.component else []),
            "timeoriginalestimate": iss.original_s,
            "description": iss.description,
            "timetracking": ({"originalEstimate": _hours_text(iss.original_s),
                              "remainingEstimate": _hours_text(remaining or 0),
                              "timeSpent": _hours_text(spent) if spent else None,
                              "originalEstimateSeconds": iss.original_s, "remainingEstimateSeconds": remaining or 0,
                              "timeSpentSeconds": spent or None} if iss.original_s else {}),
            "summary": iss.summary,
            "creator": _user(iss.reporter),
            "subtasks": [self._ref(s) for s in iss.subtasks],
            "reporter": _user(iss.reporter),
            "aggregateprogress": {"progress": agg_spent or 0, "total": (agg_spent or 0) + (agg_rem or 0)},
            "progress": {"progress": spent, "total": spent + (remaining or 0)},
            "customfield_10016": iss.points if iss.type not in ("Epic",) else None,
            "customfield_10019": f"0|i{iss.id - 20000:05x}:",
            "customfield_10020": ([self.by_id[s].field_value() for s in sorted(iss.sprints)]
                                  if iss.sprints else None),
            "aggregatetimeestimate": agg_rem,
            "duedate": None,
            "worklog": {"startAt": 0, "maxResults": 20, "total": len(iss.worklogs), "worklogs": [
                {"self": f"{SITE}/rest/api/2/issue/{iss.id}/worklog/{wl_ids[(id(iss), n)]}",
                 "author": _user(a), "updateAuthor": _user(a), "comment": "",
                 "created": api_ts(t + timedelta(minutes=3)), "updated": api_ts(t + timedelta(minutes=3)),
                 "started": api_ts(t), "timeSpent": _hours_text(s), "timeSpentSeconds": s,
                 "id": str(wl_ids[(id(iss), n)]), "issueId": str(iss.id)}
                for n, (t, a, s) in enumerate(sorted(iss.worklogs, key=lambda w: w[0]))]},
        }
        if parent is not None:
            fields["parent"] = self._ref(parent)
        if not leaf and iss.original_s is None:
            fields["timetracking"] = {}
        histories = sorted(iss.histories, key=lambda h: h[0])
        out = {"expand": "operations,versionedRepresentations,editmeta,changelog,renderedFields",
               "id": str(iss.id), "self": f"{SITE}/rest/api/2/issue/{iss.id}", "key": iss.key, "fields": fields,
               "changelog": {"startAt": 0, "maxResults": len(histories), "total": len(histories), "histories": [
                   {"id": str(hist_ids[(id(iss), n)]), "author": _user(a), "created": api_ts(t), "items": items}
                   for n, (t, a, items) in enumerate(histories)]}}
        return out

    def _ref(self, iss: _Issue) -> dict:
        sid, cat = PAY_STATUS[iss.status]
        cid, cname, ccolor = PAY_CATEGORY[cat]
        tid, is_sub, level, tdesc = PAY_TYPES[iss.type]
        return {"id": str(iss.id), "key": iss.key, "self": f"{SITE}/rest/api/2/issue/{iss.id}", "fields": {
            "summary": iss.summary,
            "status": {"self": f"{SITE}/rest/api/2/status/{sid}", "name": iss.status, "id": sid,
                       "statusCategory": {"id": cid, "key": cat, "colorName": ccolor, "name": cname}},
            "priority": {"name": iss.priority, "id": PRIORITIES[iss.priority]},
            "issuetype": {"id": tid, "name": iss.type, "subtask": is_sub, "hierarchyLevel": level}}}

    def documents(self) -> tuple[dict, dict]:
        hist = sorted(((h[0], iss.id, n) for iss in self.issues
                       for n, h in enumerate(sorted(iss.histories, key=lambda h: h[0]))))
        by_obj = {iss.id: iss for iss in self.issues}
        hist_ids = {(id(by_obj[i]), n): 130001 + j for j, (_, i, n) in enumerate(hist)}
        wls = sorted(((w[0], iss.id, n) for iss in self.issues
                      for n, w in enumerate(sorted(iss.worklogs, key=lambda w: w[0]))))
        wl_ids = {(id(by_obj[i]), n): 40001 + j for j, (_, i, n) in enumerate(wls)}
        ordered = sorted(self.issues, key=lambda i: -i.id)          # ORDER BY key DESC
        issues = [self.issue_json(i, hist_ids, wl_ids) for i in ordered]
        field_names = {
            "statuscategorychangedate": "Status Category Changed", "issuetype": "Issue Type",
            "timespent": "Time Spent", "project": "Project", "fixVersions": "Fix versions",
            "aggregatetimespent": "Σ Time Spent", "resolution": "Resolution", "resolutiondate": "Resolved",
            "workratio": "Work Ratio", "lastViewed": "Last Viewed", "created": "Created", "priority": "Priority",
            "labels": "Labels", "timeestimate": "Remaining Estimate",
            "aggregatetimeoriginalestimate": "Σ Original Estimate", "issuelinks": "Linked Issues",
            "assignee": "Assignee", "updated": "Updated", "status": "Status", "components": "Components",
            "timeoriginalestimate": "Original estimate", "description": "Description",
            "timetracking": "Time tracking", "summary": "Summary", "creator": "Creator", "subtasks": "Sub-tasks",
            "reporter": "Reporter", "aggregateprogress": "Σ Progress", "progress": "Progress",
            "customfield_10016": "Story Points", "customfield_10019": "Rank", "customfield_10020": "Sprint",
            "aggregatetimeestimate": "Σ Remaining Estimate", "duedate": "Due date", "worklog": "Log Work",
            "parent": "Parent",
        }
        if len(issues) > 100:
            raise AssertionError(f"PAY demo has {len(issues)} issues; one search page holds at most 100")
        search = {"expand": "schema,names", "startAt": 0, "maxResults": 100, "total": len(issues),
                  "issues": issues, "names": field_names}
        board = {"maxResults": 50, "startAt": 0, "isLast": True, "values": [
            {"id": s.id, "self": f"{SITE}/rest/agile/1.0/sprint/{s.id}", "state": s.state, "name": s.name,
             "startDate": utc_ts(s.start), "endDate": utc_ts(s.end),
             **({"completeDate": utc_ts(s.complete)} if s.complete else {}),
             "createdDate": utc_ts(s.start - timedelta(days=3, hours=2)), "originBoardId": PAY_BOARD,
             "goal": s.goal} for s in self.sprints]}
        return search, board


def _pay_description(summary: str, rnd: random.Random) -> str | None:
    if rnd.random() < 0.4:
        return None
    return (f"h3. 背景\n{summary}\n\nh3. 验收标准 Acceptance Criteria\n"
            f"* 功能在 SIT 环境验证通过\n* 接口文档已更新 (Confluence)\n* 单元测试覆盖率 ≥ {rnd.choice([70, 75, 80])}%")


def _pay_bug_description(summary: str, rnd: random.Random) -> str:
    return ("*重现步骤*\n# 登录商户测试账号 (merchant_id=10086)\n# 发起一笔 0.01 元订单并完成支付\n"
            f"# 观察：{summary}\n\n*预期结果*：处理正确，无报错\n*环境*：{rnd.choice(['SIT', 'UAT', 'PROD'])}")


def _pay(today: date) -> tuple[dict, dict, dict]:
    b = _PayBuilder(today, random.Random("pmo-pulse-demo:PAY"))
    b.build()
    b.number()
    search, board = b.documents()
    hol = b.sprints[b.hol_k] if b.hol_k is not None else None
    by_type: dict[str, int] = {}
    for i in b.issues:
        by_type[i.type] = by_type.get(i.type, 0) + 1
    counts = {"issues": len(b.issues), "by_type": by_type, "sprints": len(b.sprints),
              "reopen_transitions": b.reopens, "active_sprint": b.sprints[-1].name,
              "holiday_sprint": hol.name if hol else None,
              "holiday_days": [d.isoformat() for d in hol.holidays] if hol else [],
              "makeup_workdays": [d.isoformat() for d in hol.makeup] if hol else []}
    return search, board, counts


# ----------------------------------------------------------------------------------------------------------
# ERP — ZenTao 禅道 waterfall system-integration project: bug, task and story CSV exports (zh-cn UI, GBK)
# ----------------------------------------------------------------------------------------------------------

ERP_KEY = "ERP"
ERP_NAME_ZH, ERP_NAME_EN = "ERP 升级实施", "ERP Upgrade"
ERP_PRODUCT = "集团 ERP 系统(#3)"
ERP_PROJECT = "ERP 升级实施(#12)"
ERP_MODULES = {"FI 财务": 14.0, "SCM 供应链": 12.0, "PP 生产制造": 10.0, "HR 人力资源": 6.0, "INT 接口集成": 6.0}
FI, SCM, PP, HR, INT = ERP_MODULES
ERP_MODULE_ID = {FI: 21, SCM: 22, PP: 23, HR: 24, INT: 25}
ERP_PM = "王建国"
ERP_ARCHITECT = "冯涛"
ERP_OWNER = {FI: "周丽", SCM: "孙强", PP: "吴涛", HR: "郑红", INT: "钱坤"}
ERP_INT_DEVS = ["钱坤", "马超"]
ERP_TESTERS = ["何静", "林峰"]
ERP_CLIENT = {FI: "刘芳", SCM: "黄磊", PP: "黄磊", HR: "张敏", INT: "刘芳"}
ERP_RATE = 600.0          # CNY per hour, blended
# The waterfall stages (ZenTao executions of the project): id, name.
ERP_STAGES = {31: "项目启动与需求蓝图", 32: "系统配置与开发", 33: "系统集成测试 SIT", 34: "用户验收测试 UAT",
              35: "上线切换与运维支持"}
ERP_PLANS = {"R1.0": "R1.0(#5)", "R1.0.1": "R1.0.1(#6)"}

# Bugs per module: (before go-live, after go-live (production), of which invalid before, invalid after).
# INT's valid-defect density (48 / 6 KLOC) is four times the others' (~2 / KLOC); 12 valid production bugs
# against 120 before give DRE 120 / 132 = 90.9 %.
ERP_BUGS_BY_MODULE = {FI: (27, 4, 2, 1), SCM: (23, 3, 3, 0), PP: (21, 2, 2, 0), HR: (13, 1, 2, 0),
                      INT: (52, 4, 7, 1)}
# Bugs raised per project month m0..m11 (sum 150): design review and unit test early, the SIT wave, UAT, then
# production from the go-live (the first working day of m10) on.
ERP_BUGS_BY_MONTH = [0, 1, 3, 8, 14, 24, 30, 26, 18, 12, 8, 6]
# How many of INT's pre-go-live bugs fall in months 0-4, 5-7 (SIT: the interfaces meet) and 8-9 (UAT).
ERP_INT_BY_WINDOW = ((range(0, 5), 5), (range(5, 8), 38), (range(8, 10), 9))
ERP_INVALID = [("重复Bug", "duplicate")] * 5 + [("设计如此", "bydesign")] * 5 + [("无法重现", "notrepro")] * 4 + \
              [("外部原因", "external")] * 3 + [("转为研发需求", "tostory")]
ERP_NOT_FIXED = [("不予解决", "willnotfix")] * 3 + [("延期处理", "postponed")] * 2
ERP_BUG_TYPES = {"codeerror": "代码错误", "config": "配置相关", "designdefect": "设计缺陷", "performance": "性能问题",
                 "others": "其他", "install": "安装部署"}
ERP_BUG_TITLES = {
    FI: ["凭证过账后总账余额与明细账不一致", "外币重估汇率取值错误", "固定资产折旧按月计算少一天", "应付发票三单匹配容差未生效",
         "成本中心报表合计行重复计算", "银行对账单导入日期格式错误", "总账期末结转凭证摘要乱码", "增值税发票校验接口超时",
         "费用报销审批后未生成付款凭证", "资产卡片批量导入丢失使用部门"],
    SCM: ["采购订单审批流跳过二级审批", "库存转移单数量精度丢失", "销售订单价格表取数错误", "供应商主数据税号校验缺失",
          "收货单冲销后库存未回滚", "安全库存预警邮件未发送", "采购申请转订单时交期为空", "物料批次有效期计算错误"],
    PP: ["生产工单BOM展开层级错误", "MRP 运算结果重复建议", "工序报工数量允许超过计划数", "车间日报表产量单位换算错误",
         "工艺路线版本切换后工时未更新", "完工入库单成本未结转"],
    HR: ["个税专项附加扣除计算错误", "员工调岗后考勤组未同步", "工资条中文姓名显示乱码", "年假余额跨年结转错误",
         "组织架构导入时上级部门丢失"],
    INT: ["MES 工单接口回传报文缺少批次号", "WMS 出库回传接口重复过账", "OA 审批回调签名校验失败", "银企直连付款状态未回写",
          "考勤系统接口时区偏差 8 小时", "MES 接口大批量推送超时 (>60s)", "WMS 库位主数据同步漏数", "接口日志表未清理导致表空间满",
          "OA 流程撤回后 ERP 单据状态未回滚", "银企直连回单下载文件名乱码", "接口重试机制导致重复创建凭证",
          "ESB 网关证书更新后接口全部 401"],
}
ERP_SCENARIOS = {
    FI: ["月结场景", "多公司场景", "外币场景", "批量导入"], SCM: ["寄售库存", "跨工厂调拨", "退货场景"],
    PP: ["返工工单", "委外加工", "多级 BOM"], HR: ["离职员工", "跨月调薪", "兼职人员"],
    INT: ["高并发时", "断网重连后", "夜间批量", "报文含特殊字符时", "月末高峰"],
}
# The requirements (研发需求) of the blueprint: (module, title, category code, hours).
ERP_STORIES = [
    (FI, "总账与多公司凭证处理", "feature", 120), (FI, "应收应付与发票三单匹配", "feature", 100),
    (FI, "固定资产全生命周期管理", "feature", 80), (FI, "费用报销与付款", "feature", 80),
    (FI, "增值税发票管理", "feature", 60), (FI, "月结与期末结转", "feature", 60),
    (SCM, "采购申请到订单审批流", "feature", 100), (SCM, "库存管理与批次追溯", "feature", 100),
    (SCM, "销售订单与价格管理", "feature", 80), (SCM, "供应商主数据管理", "feature", 40),
    (SCM, "寄售库存", "feature", 60),
    (PP, "多级 BOM 与工艺路线", "feature", 100), (PP, "MRP 运算", "feature", 80),
    (PP, "生产工单与报工", "feature", 100), (PP, "委外加工", "feature", 60),
    (HR, "组织架构与人事主数据", "feature", 60), (HR, "薪资计算与个税", "feature", 80),
    (HR, "考勤与假期管理", "feature", 60), (HR, "绩效考核（移出本期范围）", "feature", 60),
    (INT, "ERP 与 MES 生产工单接口", "interface", 160), (INT, "ERP 与 WMS 出入库接口", "interface", 140),
    (INT, "ERP 与 OA 审批流接口", "interface", 100), (INT, "ERP 与银企直连付款接口", "interface", 120),
    (INT, "ERP 与考勤系统接口", "interface", 80), (INT, "ESB 统一接口网关与监控", "interface", 40),
    (SCM, "库存批次追溯报表", "feature", 24),
]
# Change requests approved by the CCB: (month, CR no., title, module, hours). Each is a new requirement and a task.
ERP_CRS = [(4, "CR-01", "新增集团合并报表", FI, 80), (6, "CR-02", "采购审批增加三级审批", SCM, 40),
           (7, "CR-03", "MES 接口字段扩展（批次号 / 序列号）", INT, 60), (8, "CR-04", "工资条移动端推送", HR, 32),
           (9, "CR-05", "供应商门户对接", INT, 72), (10, "CR-06", "上线后新增成本中心维度", FI, 40)]
ERP_STORY_STAGE = {"wait": "未开始", "planned": "已计划", "developing": "研发中", "developed": "研发完毕",
                   "testing": "测试中", "tested": "测试完毕", "verified": "已验收", "released": "已发布",
                   "closed": "已关闭"}
ERP_STORY_STATUS = {"draft": "草稿", "reviewing": "评审中", "active": "激活", "closed": "已关闭",
                    "changing": "变更中"}
ERP_STORY_REASON = {"done": "已完成", "duplicate": "重复", "willnotdo": "不做"}
ERP_TASK_STATUS = {"wait": "未开始", "doing": "进行中", "done": "已完成", "pause": "已暂停", "cancel": "已取消",
                   "closed": "已关闭"}
ERP_TASK_FOOTER = "任务名称前有'>'标记的为子任务"


def zt_dt(t: datetime | None) -> str:
    """ZenTao's datetime cells (bug and story exports): 2026-06-12 14:05:09, local time, no offset."""
    return t.astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S") if t else ""


def zt_day(t: datetime | date | None) -> str:
    """The task exporter cuts its dates to the day: 2026-06-12."""
    if t is None:
        return ""
    if isinstance(t, datetime):
        t = t.astimezone(TZ).date()
    return t.isoformat()


def zt_hours(h: float) -> str:
    """The task exporter's hours: 8h, 2.5h."""
    return f"{h:g}h"


def zentao_csv(header: list[str], rows: list[list], footer: str | None = None) -> str:
    """ZenTao's `file/view/export2csv.html.php`: every cell quoted, `"` in a value written as `“` (never
    doubled), LF line ends, and each data row closed by `","` + `"` — one extra empty cell per data row."""
    out = ['"' + '","'.join(header) + '"\n']
    for row in rows:
        out.append('"' + "".join(("" if v is None else str(v)).replace('"', "“") + '","' for v in row) + '"\n')
    if footer:
        out.append(footer)                      # the task export's free-text last line, no newline
    return "".join(out)


def _label(name: str, key) -> str:
    return f"{name}(#{key})"


def _module_cell(mod: str | None) -> str:
    return _label(f"/{mod}", ERP_MODULE_ID[mod]) if mod else "/(#0)"


def _stage_cell(stage: int) -> str:
    return _label(ERP_STAGES[stage], stage)


@dataclass(eq=False)
class _ZtStory:
    module: str
    title: str
    category: str
    estimate: int
    created: datetime
    opened_by: str
    plan: str = "R1.0"
    source: tuple = ("客户", "customer")
    source_note: str = ""
    keywords: str = ""
    pri: int = 2
    spec: str = ""
    verify: str = ""
    reviewed: datetime | None = None
    stages: list = field(default_factory=list)     # (when, stage code) in time order
    status: str = "active"
    changing: datetime | None = None
    closed: datetime | None = None
    close_reason: str | None = None
    duplicate_of: "_ZtStory | None" = None
    tasks: int = 0
    bugs: int = 0
    cases: int = 0
    id: int = 0


@dataclass(eq=False)
class _ZtTask:
    name: str
    module: str | None
    stage: int
    type: str
    pri: int
    created: datetime
    owner: str
    estimate: float
    est_start: date | None = None
    deadline: date | None = None
    desc: str = ""
    story: _ZtStory | None = None
    bug: "_ZtBug | None" = None
    mailto: str = ""
    multi: list | None = None          # [(person, share)] of a 多人 task
    baseline: bool = False
    child: bool = False
    children: list = field(default_factory=list)
    # state at the export
    status: str = "wait"
    consumed: float = 0.0
    left: float = 0.0
    started: datetime | None = None
    finished: datetime | None = None
    finished_by: str = ""
    canceled: datetime | None = None
    closed: datetime | None = None
    close_reason: str = ""
    activated: datetime | None = None
    assigned_to: str = ""
    assigned_at: datetime | None = None
    edited_by: str = ""
    edited_at: datetime | None = None
    id: int = 0


@dataclass(eq=False)
class _ZtBug:
    module: str
    title: str
    created: datetime
    opened_by: str
    dev: str
    severity: int
    pri: int
    type: str
    stage: int
    build: str
    keywords: str
    steps: str
    invalid: bool
    production: bool
    resolution: tuple | None = None           # (label, code) it is (last) resolved with
    story: _ZtStory | None = None
    deadline: date | None = None
    mailto: str = ""
    events: list = field(default_factory=list)  # (when, who, action, data): assigned resolved activated closed
    duplicate_of: "_ZtBug | None" = None
    task: _ZtTask | None = None
    reopens: int = 0                            # times verification will fail (when it happens before the export)
    id: int = 0

    def activations(self) -> int:
        return sum(1 for e in self.events if e[2] == "activated")

    def last(self, action: str):
        return next((e for e in reversed(self.events) if e[2] == action), None)

    def status(self) -> str:
        acts = [e[2] for e in self.events if e[2] in ("resolved", "activated", "closed")]
        return {"resolved": "resolved", "closed": "closed"}.get(acts[-1], "active") if acts else "active"


class _ErpBuilder:
    def __init__(self, today: date):
        self.rnd = random.Random("pmo-pulse-demo:ERP")
        self.reopen_rnd = random.Random("pmo-pulse-demo:ERP:reopens")
        self.today = today
        self.export_at = _export_moment(today)
        self.m = [_month_start(today, 11 - i) for i in range(12)]
        self.golive = _workdays(self.m[10], self.m[10] + timedelta(days=20))[0]
        self.kickoff = _workdays(self.m[0] + timedelta(days=2), self.m[0] + timedelta(days=20))[0]
        self.act_day = _workdays(self.m[7], self.m[7] + timedelta(days=12))[1]
        self.stories: list[_ZtStory] = []
        self.tasks: list[_ZtTask] = []
        self.bugs: list[_ZtBug] = []

    # -- calendar helpers ---------------------------------------------------------------------------------
    def day_at(self, month_i: int, frac: float) -> date:
        """The working day at `frac` of project month `month_i` (the next one when that day is not)."""
        first = self.m[month_i]
        d = first + timedelta(days=int(((_month_end(first) - first).days) * frac))
        while not is_workday(d):
            d += timedelta(days=1)
        return d

    def month_of(self, d: date) -> int:
        return (d.year * 12 + d.month) - (self.m[0].year * 12 + self.m[0].month)

    def stage_of(self, d: date) -> int:
        mi = self.month_of(d)
        return 35 if d >= self.golive else 34 if mi >= 8 else 33 if mi >= 5 else 32 if mi >= 2 else 31

    def build_of(self, d: date, fixed: bool = False) -> str:
        mi = self.month_of(d)
        if d >= self.golive:
            return "V1.0.1 Hotfix(#45)" if fixed else "V1.0 正式版(#44)"
        if mi >= 8:
            return "V1.0-UAT(#43)"
        if mi >= 7 or (mi == 6 and d.day >= 15):
            return "V1.0-SIT2(#42)"
        if mi >= 5:
            return "V1.0-SIT1(#41)"
        return "主干(#trunk)"

    def next_workday(self, d: date) -> date:
        while not is_workday(d):
            d += timedelta(days=1)
        return d

    def review_close(self, finished: datetime) -> datetime:
        """The PM closes finished tasks after the monthly review: the second working day of the next month."""
        first = _month_end(finished.date()) + timedelta(days=1)
        return _at(self.rnd, _workdays(first, first + timedelta(days=14))[1], lo=16 * 60, hi=18 * 60)

    # -- tasks --------------------------------------------------------------------------------------------
    def task(self, name: str, module: str | None, stage: int, type_: str, created: datetime, owner: str,
             estimate: float, **kw) -> _ZtTask:
        t = _ZtTask(name=name, module=module, stage=stage, type=type_, pri=kw.pop("pri", 3), created=created,
                    owner=owner, estimate=estimate, **kw)
        t.assigned_to, t.assigned_at = owner, created
        t.edited_by, t.edited_at = ERP_PM, created
        t.left = estimate
        self.tasks.append(t)
        return t

    def run(self, t: _ZtTask, begin: datetime, finish: datetime, hours: float, close: datetime | None = None,
            by: str | None = None) -> None:
        """`t` starts at `begin` and is finished at `finish` having consumed `hours`; the state the export
        sees is what happened before it."""
        x = self.export_at
        by = by or t.owner
        if begin >= x:
            return
        t.status, t.started = "doing", begin
        t.edited_by, t.edited_at = by, begin
        if finish >= x:
            span = max(1, len(_workdays(begin.date(), finish.date())))
            done = len(_workdays(begin.date(), (x - timedelta(days=1)).date()))
            t.consumed = round(hours * min(0.9, done / span) * 2) / 2
            t.left = max(0.5, round((hours - t.consumed) * 2) / 2)
            return
        t.status, t.finished, t.finished_by = "done", finish, by
        t.consumed, t.left = round(hours * 2) / 2, 0.0
        t.assigned_to, t.assigned_at = ERP_PM, finish           # finishing assigns the task back to its creator
        t.edited_by, t.edited_at = by, finish
        if close is not None and close < x:
            t.status, t.closed, t.close_reason = "closed", close, "已完成"
            t.assigned_to, t.assigned_at = "Closed", close
            t.edited_by, t.edited_at = ERP_PM, close

    # -- requirements ---------------------------------------------------------------------------------------
    def build_stories(self) -> None:
        rnd = self.rnd
        by_title: dict[str, _ZtStory] = {}
        for j, (mod, title, cat, hours) in enumerate(ERP_STORIES):
            created = _at(rnd, self.day_at(0, 0.45 + 0.015 * j))
            s = _ZtStory(module=mod, title=title, category=cat, estimate=hours, created=created,
                         opened_by=ERP_OWNER[mod] if mod != INT else ERP_ARCHITECT, pri=rnd.choice([1, 2, 2, 3]),
                         spec=f"业务蓝图 {mod.split()[0]}-{j + 1:02d}：{title}。覆盖集团总部及三家子公司的标准流程。",
                         verify="UAT 用例全部通过；关键用户签字确认。")
            self.stories.append(s)
            by_title[title] = s
        # Duplicates and scope cuts found at the blueprint review.
        dup = by_title["库存批次追溯报表"]
        dup.duplicate_of = by_title["库存管理与批次追溯"]
        cut = by_title["绩效考核（移出本期范围）"]
        review = _at(rnd, self.day_at(1, 0.55))
        self.review_day = review.date()
        for s in self.stories:
            s.reviewed = review + timedelta(minutes=rnd.randint(0, 90))
            if s is dup:
                s.status, s.closed, s.close_reason = "closed", s.reviewed, "duplicate"
                s.stages = [(s.reviewed, "closed")]
            elif s is cut:
                s.status, s.closed, s.close_reason = "closed", _at(rnd, self.day_at(2, 0.3)), "willnotdo"
                s.stages = [(s.reviewed, "planned"), (s.closed, "closed")]
            else:
                s.stages = [(s.reviewed, "planned")]

    def story_progress(self, s: _ZtStory, dev_start: datetime, dev_end: datetime, test_start: datetime,
                       test_end: datetime, verified: datetime | None, released: datetime | None,
                       closed: datetime | None) -> None:
        for when, code in ((dev_start, "developing"), (dev_end, "developed"), (test_start, "testing"),
                           (test_end, "tested"), (verified, "verified"), (released, "released")):
            if when is not None:
                s.stages.append((when, code))
        if closed is not None:
            s.stages.append((closed, "closed"))
            s.status, s.closed, s.close_reason = "closed", closed, "done"

    # -- baseline WBS ---------------------------------------------------------------------------------------
    def build_baseline(self) -> None:
        rnd, m = self.rnd, self.m
        created0 = _dt(self.kickoff, 14 * 60 + 5, rnd)
        mod_stories = {mod: [s for s in self.stories if s.module == mod and s.status != "closed"] for mod in ERP_MODULES}
        # (name, module, stage, type, start (month, frac), due (month, frac), hours, slip days, overrun, story)
        wbs = [("项目启动会 & 项目章程", None, 31, "事务", (0, 0.1), (0, 0.4), 24, 0, 1.0, None),
               ("项目管理计划 / WBS 编制", None, 31, "事务", (0, 0.2), (0, 0.8), 40, 0, 1.1, None),
               ("系统架构与部署方案设计", None, 31, "设计", (1, 0.2), (2, 0.3), 60, 0, 1.0, None),
               ("开发 / 测试环境搭建", None, 32, "事务", (1, 0.5), (2, 0.2), 40, 0, 1.1, None)]
        for mod in (FI, SCM, PP, HR):
            short = mod.split()[0]
            big = 1.0 if mod != HR else 0.6
            first = mod_stories[mod][0]
            wbs += [(f"业务蓝图调研 - {mod}", mod, 31, "需求", (0, 0.4), (1, 0.45), round(80 * big), 0, 1.05, first),
                    (f"差异分析 Gap Analysis - {mod}", mod, 31, "设计", (1, 0.3), (1, 0.95), 40, 0, 1.0, first),
                    (f"系统配置（第一批：组织与主数据）- {mod}", mod, 32, "开发", (2, 0.0), (2, 0.9), round(60 * big),
                     rnd.choice([0, 2]), 1.0, mod_stories[mod][0]),
                    (f"系统配置（第二批：业务流程）- {mod}", mod, 32, "开发", (3, 0.0), (3, 0.7), round(70 * big),
                     rnd.choice([0, 3]), 1.05, mod_stories[mod][1]),
                    (f"客户化开发 {short}-报表 (RICEF)", mod, 32, "开发", (3, 0.5), (4, 0.75), round(80 * big),
                     rnd.choice([0, 2, 4]), 1.1, mod_stories[mod][2]),
                    (f"数据迁移脚本 - {mod}", mod, 32, "开发", (4, 0.5), (6 if mod in (FI, SCM, PP) else 5, 0.2),
                     round(60 * big), 0, 1.0, None),
                    (f"单元测试与配置走查 - {mod}", mod, 32, "测试", (4, 0.6), (5, 0.25), 32, 0, 1.0, None),
                    (f"UAT 培训 - {mod}", mod, 34, "事务", (8, 0.0), (8, 0.3), 24, 0, 1.0, None),
                    (f"用户手册编写 - {mod}", mod, 34, "事务", (8, 0.3), (9, 0.3), 24, 0, 0.9, None)]
        s_int = mod_stories[INT]
        wbs += [
            ("接口方案设计：ERP 与 MES / WMS / OA / 银企 / 考勤", INT, 31, "设计", (1, 0.3), (2, 0.5), 80, 0, 1.2, s_int[5]),
            ("接口开发：ERP 与 MES 生产工单", INT, 32, "开发", (3, 0.0), (5, 0.3), 160, 10, 1.3, s_int[0]),
            ("接口开发：ERP 与 WMS 出入库", INT, 32, "开发", (4, 0.0), (6, 0.4), 140, 34, 1.4, s_int[1]),
            ("接口开发：ERP 与 OA 审批流", INT, 32, "开发", (4, 0.3), (6, 0.6), 100, 30, 1.35, s_int[2]),
            ("接口开发：ERP 与银企直连", INT, 32, "开发", (5, 0.0), (6, 0.8), 120, 38, 1.45, s_int[3]),
            ("接口开发：ERP 与考勤系统", INT, 32, "开发", (5, 0.2), (6, 0.9), 80, 26, 1.3, s_int[4]),
            ("接口联调（MES / WMS 现场）", INT, 33, "测试", (6, 0.2), (7, 0.3), 80, 20, 1.2, s_int[0]),
            ("ESB 接口监控与告警配置", INT, 33, "开发", (7, 0.2), (7, 0.8), 40, 10, 1.0, s_int[5]),
            ("SIT 测试用例编写", None, 32, "测试", (4, 0.5), (5, 0.5), 120, 0, 1.0, None),
            ("SIT 第一轮执行", None, 33, "测试", (5, 0.5), (6, 0.6), 200, 8, 1.15, None),
            ("SIT 第二轮执行（回归）", None, 33, "测试", (6, 0.6), (7, 0.5), 160, 24, 1.2, None),
            ("性能测试 (JMeter 500 并发)", None, 33, "测试", (7, 0.0), (7, 0.7), 80, 21, 1.1, None),
            ("UAT 第一轮执行支持", None, 34, "测试", (8, 0.1), (8, 0.9), 120, 3, 1.1, None),
            ("UAT 第二轮执行支持", None, 34, "测试", (9, 0.0), (9, 0.5), 120, 0, 1.05, None),
            ("UAT 问题跟踪与回归测试", None, 34, "测试", (8, 0.3), (9, 0.8), 120, 0, 1.05, None),
            ("数据迁移演练 第1轮", None, 34, "测试", (8, 0.2), (8, 0.6), 60, 0, 1.0, None),
            ("数据迁移演练 第2轮", None, 34, "测试", (9, 0.0), (9, 0.4), 60, 0, 1.0, None),
            ("上线切换方案 Cutover Plan", None, 34, "设计", (9, 0.3), (9, 0.8), 40, 0, 1.0, None),
            ("生产环境部署", None, 34, "事务", (9, 0.8), (9, 1.0), 40, 0, 1.1, None),
            ("期初数据导入", None, 35, "事务", (10, 0.0), (10, 0.25), 80, 0, 1.1, None),
            ("上线支持 Hypercare 第1-2周", None, 35, "事务", (10, 0.25), (10, 0.6), 120, 0, 1.0, None),
            ("上线支持 Hypercare 第3-4周", None, 35, "事务", (10, 0.6), (10, 1.0), 100, 0, 1.0, None),
            ("首次月结支持", FI, 35, "事务", (10, 0.9), (11, 0.2), 60, 0, 1.2, None),
            ("系统运维移交 / 知识转移", None, 35, "事务", (10, 0.5), (11, 0.9), 100, 0, 1.0, None),
            ("上线后报表性能调优", None, 35, "研究", (11, 0.0), (11, 0.8), 80, 0, 1.1, None),
            ("历史数据归档方案（3 年以上凭证）", FI, 35, "研究", (11, 0.1), (11, 1.0), 40, 0, 1.0, None),
            ("上线支持 Hypercare 第5-8周", None, 35, "事务", (11, 0.0), (11, 1.0), 120, 0, 1.0, None),
            ("项目验收 & 项目总结", None, 35, "事务", (11, 0.6), (11, 1.0), 40, 14, 1.0, None),
        ]
        multi_name = "数据迁移演练 第1轮"
        for j, (name, mod, stage, type_, (sm, sf), (dm, df), hours, slip, overrun, story) in enumerate(wbs):
            start = self.day_at(sm, sf)
            due = max(self.day_at(dm, df), start)
            if df >= 1.0:
                due = _workdays(m[dm], _month_end(m[dm]))[-1]
            owner = (ERP_OWNER[mod] if mod not in (None, INT) else ERP_INT_DEVS[j % 2] if mod == INT else
                     ERP_TESTERS[j % 2] if type_ == "测试" else ERP_PM)
            t = self.task(name, mod, stage, type_, created0 + timedelta(seconds=7 * j), owner, float(hours),
                          est_start=start, deadline=due, story=story, baseline=True, pri=2 if mod == INT else 3,
                          desc=f"WBS {j + 1:03d}：{name}。交付物按《项目管理计划》第 4 章。")
            if name == multi_name:
                t.multi = [(ERP_OWNER[FI], 1 / 3), (ERP_OWNER[SCM], 1 / 3), (ERP_OWNER[PP], 1 / 3)]
                t.owner = t.assigned_to = ERP_OWNER[FI]
            begin = _at(rnd, start)
            finish_day = self.next_workday(due + timedelta(days=slip))
            finish = _at(rnd, finish_day, lo=16 * 60, hi=18 * 60)
            total = hours * overrun * rnd.uniform(0.95, 1.05)
            self.run(t, begin, finish, total, close=self.review_close(finish) if stage < 35 else None)
            if name.startswith("历史数据归档方案") and t.status == "doing":
                t.status = "pause"          # waiting for the DBA's index change window
                t.edited_at = min(t.started + timedelta(days=6), self.export_at - timedelta(hours=20))
                t.consumed = round(t.consumed * 0.3 * 2) / 2
                t.left = max(0.5, t.estimate - t.consumed)

    # -- the PDCA action and the change requests --------------------------------------------------------------
    def build_action_and_crs(self) -> None:
        rnd, x = self.rnd, self.export_at
        created = _at(rnd, self.act_day)
        parent = self.task("【PDCA 改进】INT 接口契约测试 + 提交前代码走查（月度评审行动项）", INT, 33, "事务", created,
                           "马超", 0.0, pri=1, est_start=self.act_day, deadline=self.act_day + timedelta(days=16),
                           mailto=f",{ERP_PM},{ERP_TESTERS[0]}",
                           desc="6 月月度评审：INT 模块缺陷密度超出控制上限、返工工时占比约 30%。行动：接口契约测试进 CI，提交前代码走查。")
        steps = [("编写 MES / WMS / OA 接口契约测试用例", "马超", 16, 0, 6),
                 ("CI 流水线接入契约测试（提交即跑）", "钱坤", 16, 4, 11),
                 ("制定提交前代码走查清单并培训 INT 组", ERP_TESTERS[0], 8, 2, 14)]
        for j, (name, who, hours, d0, d1) in enumerate(steps):
            c = self.task(name, INT, 33, "测试" if j == 0 else "开发" if j == 1 else "讨论",
                          created + timedelta(seconds=20 + j), who, float(hours), pri=1,
                          est_start=self.act_day + timedelta(days=d0), deadline=self.act_day + timedelta(days=d1))
            c.child = True
            parent.children.append(c)
            begin = _at(rnd, self.next_workday(self.act_day + timedelta(days=d0)))
            finish = _at(rnd, self.next_workday(self.act_day + timedelta(days=d1 + 1)), lo=16 * 60, hi=18 * 60)
            self.run(c, max(begin, created + timedelta(hours=1)), finish, hours * rnd.uniform(1.0, 1.2))
        # ZenTao keeps a parent's hours as the sums of its children and its status from theirs.
        kids = parent.children
        parent.estimate = sum(c.estimate for c in kids)
        parent.consumed = sum(c.consumed for c in kids)
        parent.left = sum(c.left for c in kids)
        started = [c.started for c in kids if c.started]
        if started:
            parent.status, parent.started = "doing", min(started)
            parent.edited_by, parent.edited_at = max(((c.edited_at, c.edited_by) for c in kids))[::-1]
        if all(c.status == "done" for c in kids):
            last = max(c.finished for c in kids)
            parent.status, parent.finished, parent.finished_by = "done", last, max(kids, key=lambda c: c.finished).owner
            parent.assigned_to, parent.assigned_at = ERP_PM, last

        for mi, no, title, mod, hours in ERP_CRS:
            created = _at(rnd, self.day_at(mi, rnd.uniform(0.1, 0.5)))
            if created >= x:
                continue
            s = _ZtStory(module=mod, title=f"{no} {title}", category="interface" if mod == INT else "feature",
                         estimate=hours, created=created, opened_by=ERP_PM, plan="R1.0" if mi < 10 else "R1.0.1",
                         source_note=f"变更申请单 {no}（CCB 已批准）", keywords="变更,CCB已批准", pri=2,
                         spec=f"客户提出变更：{title}。影响分析见变更申请单 {no}。", verify="变更验收用例通过。")
            s.reviewed = created + timedelta(days=rnd.randint(2, 4), hours=1)
            s.stages = [(s.reviewed, "planned")]
            self.stories.append(s)
            begin = _office(rnd, s.reviewed + timedelta(days=rnd.randint(1, 3)))
            finish = _at(rnd, self.next_workday((begin + timedelta(days=hours // 4)).date()), lo=16 * 60, hi=18 * 60)
            t = self.task(f"{no} {title} - 开发与测试", mod, self.stage_of(created.date()), "开发",
                          s.reviewed + timedelta(minutes=20), ERP_OWNER[mod] if mod != INT else "钱坤", float(hours),
                          pri=2, est_start=begin.date(), deadline=finish.date(), story=s,
                          desc=f"按变更申请单 {no} 实施。")
            self.run(t, begin, finish, hours * rnd.uniform(1.0, 1.25),
                     close=self.review_close(finish) if mi < 10 else None)
            test_end = finish + timedelta(days=3)
            # R1.0 items ship with the go-live; R1.0.1 (after it) at the end of the last month
            released = (max(_dt(self.golive, 9 * 60), test_end + timedelta(days=2)) if s.plan == "R1.0" else
                        max(_dt(self.day_at(11, 0.9), 18 * 60), test_end + timedelta(days=2)))
            self.story_progress(s, begin, finish, finish + timedelta(hours=2), test_end,
                                test_end + timedelta(days=1), released, released + timedelta(hours=2))

    # -- bugs ----------------------------------------------------------------------------------------------------
    def build_bugs(self) -> None:
        rnd, m, x = self.rnd, self.m, self.export_at
        # Which module each bug of each month belongs to, invalid or not.
        pre = {mod: [j < n[2] for j in range(n[0])] for mod, n in ERP_BUGS_BY_MODULE.items()}
        for flags in pre.values():
            rnd.shuffle(flags)
        int_pre, other_pre = [(INT, f) for f in pre[INT]], [(mod, f) for mod in (FI, SCM, PP, HR) for f in pre[mod]]
        rnd.shuffle(other_pre)
        slots: list[tuple[int, str, bool]] = []
        for months, n_int in ERP_INT_BY_WINDOW:
            n = sum(ERP_BUGS_BY_MONTH[mi] for mi in months)
            pool = [int_pre.pop() for _ in range(n_int)] + [other_pre.pop() for _ in range(n - n_int)]
            rnd.shuffle(pool)
            for mi in months:
                for _ in range(ERP_BUGS_BY_MONTH[mi]):
                    mod, inv = pool.pop()
                    slots.append((mi, mod, inv))
        prod = [(mod, j < n[3]) for mod, n in ERP_BUGS_BY_MODULE.items() for j in range(n[1])]
        rnd.shuffle(prod)
        for mi in (10, 11):
            for _ in range(ERP_BUGS_BY_MONTH[mi]):
                mod, inv = prod.pop()
                slots.append((mi, mod, inv))

        invalid = list(ERP_INVALID)
        rnd.shuffle(invalid)
        title_n: dict[str, int] = {}
        stories = {mod: [s for s in self.stories if s.module == mod and s.close_reason is None] for mod in ERP_MODULES}
        golive_at = _dt(self.golive, 9 * 60)
        for mi, mod, inv in slots:
            production = mi >= 10
            lo = max(0.0, (self.golive - m[10]).days / max(1, (_month_end(m[10]) - m[10]).days)) if mi == 10 else 0.0
            hi = 1.0
            if mi == 11:
                span = max(1, (self.today - m[11]).days)
                hi = max(0.0, (span - 1) / max(1, (_month_end(m[11]) - m[11]).days))
            day = self.day_at(mi, rnd.uniform(lo, max(lo, hi)))
            created = _at(rnd, day, lo=9 * 60, hi=19 * 60)
            if created >= x:
                created = x - timedelta(hours=rnd.randint(15, 40))
            if production and created < golive_at:
                created = golive_at + timedelta(hours=rnd.randint(1, 6))
            weights = ([8, 25, 45, 22] if mod == INT else [4, 18, 50, 28]) if not production else [10, 35, 40, 15]
            sev = rnd.choices([1, 2, 3, 4], weights)[0]
            titles = ERP_BUG_TITLES[mod]
            k = title_n.get(mod, 0)
            title_n[mod] = k + 1
            title = titles[k % len(titles)]
            if k >= len(titles):
                title += f"（{ERP_SCENARIOS[mod][(k // len(titles) + k) % len(ERP_SCENARIOS[mod])]}）"
            d = created.date()
            found = ("设计评审" if mi <= 2 else "单元测试" if mi <= 4 else "SIT" if mi <= 7 else
                     "UAT" if not production else "生产")
            reporter = (rnd.choice(ERP_TESTERS) if found in ("SIT", "单元测试") else
                        ERP_CLIENT[mod] if found in ("UAT", "生产") else ERP_PM)
            dev = rnd.choice(ERP_INT_DEVS) if mod == INT else ERP_OWNER[mod]
            btype = rnd.choices(["codeerror", "config", "designdefect", "performance", "others"],
                                [60, 10, 20, 10, 0] if mod == INT else [55, 25, 10, 5, 5])[0]
            env = {"设计评审": "设计文档", "单元测试": "DEV 10.20.0.15", "SIT": "SIT 10.20.1.15",
                   "UAT": "UAT 10.20.2.15", "生产": "生产 erp.huaxin.com"}[found]
            scenario = ERP_SCENARIOS[mod][k % len(ERP_SCENARIOS[mod])]
            b = _ZtBug(module=mod, title=title, created=created, opened_by=reporter, dev=dev, severity=sev,
                       pri=min(4, max(1, sev + rnd.choice([-1, 0, 0, 0, 1]))), type=btype, stage=self.stage_of(d),
                       build=self.build_of(d), keywords=",".join([found] + (["接口"] if mod == INT else [])),
                       steps=(f"[步骤]\n1. 使用测试账号登录 ERP（{env}）\n2. 进入“{mod}”相关功能，{scenario}\n"
                              f"3. 执行业务操作并提交\n[结果]\n{title}\n[期望]\n数据正确，无报错"),
                       invalid=inv, production=production)
            if stories[mod] and rnd.random() < 0.6:
                b.story = rnd.choice(stories[mod])
            if sev <= 2:
                b.deadline = self.next_workday(d + timedelta(days=2 if sev == 1 else 5))
                b.mailto = ERP_PM if sev == 2 else f"{ERP_PM},{ERP_ARCHITECT}"
            if inv:
                b.resolution = invalid.pop()
            # How often verification will fail (a stream of its own, so other changes leave it be): mostly the
            # interface defects of SIT, rarely after the PDCA action.
            p = (0.3 if mod == INT else 0.1) if created.date() <= self.act_day else 0.04
            if 3 <= mi <= 9 and self.reopen_rnd.random() < p:
                b.reopens = 2 if self.reopen_rnd.random() < 0.3 else 1
            self.bugs.append(b)
        # Valid bugs the team will not fix in this release: minor pre-go-live ones.
        minor = [b for b in self.bugs if not b.invalid and not b.production and b.severity >= 3]
        for b, res in zip(rnd.sample(minor, len(ERP_NOT_FIXED)), ERP_NOT_FIXED):
            b.resolution = res
        self.bugs.sort(key=lambda b: (b.created, b.title))
        for b in self.bugs:
            self.bug_life(b)
        # Two production bugs fixed in the last weeks fail verification and are active again now (currently
        # reopened); the ones fixed after them wait for the customer's verification (已解决).
        recent = [b for b in self.bugs if b.production and b.status() in ("resolved", "closed")
                  and b.resolution[1] == "fixed" and b.activations() == 0
                  and x - timedelta(days=20) < b.last("resolved")[0] < x - timedelta(days=2)]
        for b in recent[:2]:
            self.reopen_now(b)

    def bug_life(self, b: _ZtBug) -> None:
        """The bug's actions (assign, resolve, activate, close) and its fix task, up to the export."""
        rnd, x = self.rnd, self.export_at
        after_action = b.created.date() > self.act_day
        triage = _office(rnd, b.created + timedelta(hours=rnd.uniform(0.2, 6)))
        if triage >= x:
            return
        b.events.append((triage, ERP_PM, "assigned", b.dev))
        if b.invalid:
            t = _office(rnd, triage + timedelta(days=rnd.uniform(0.3, 3)))
            self.resolve(b, t, b.resolution, build=None)
            self.close(b, _office(rnd, t + timedelta(days=rnd.uniform(0.2, 2))))
            return
        if b.resolution is not None:         # not fixed in this release
            t = _office(rnd, triage + timedelta(days=rnd.uniform(2, 10)))
            self.resolve(b, t, b.resolution, build=None, by=ERP_PM)
            self.close(b, _office(rnd, t + timedelta(days=rnd.uniform(1, 5))))
            return
        b.resolution = ("已解决", "fixed")
        sev = b.severity
        lead = rnd.uniform(*{1: (0.2, 2), 2: (1, 5), 3: (2, 12), 4: (4, 25)}[sev])
        if b.module == INT and not after_action:
            lead *= 1.3
        hours = rnd.uniform(*{1: (10, 20), 2: (5, 12), 3: (2.5, 6), 4: (1, 3)}[sev])
        hours *= 1.25 if b.module == INT else 1.0
        if after_action:
            hours *= 0.55 if b.module == INT else 0.8   # contract tests catch interface defects before they spread
        elif self.month_of(b.created.date()) <= 4:
            hours *= 0.6                                # found in design review and unit test: cheap to fix
        if b.production:
            hours *= 0.7                                # hotfixes: small, targeted changes
        aging = (sev >= 3 and self.month_of(b.created.date()) in (6, 7, 8) and b.module == INT
                 and rnd.random() < 0.15)
        start = _office(rnd, triage + timedelta(hours=rnd.uniform(0.2, 8)))
        resolved = max(_office(rnd, b.created + timedelta(days=lead)), start + timedelta(minutes=40))
        if aging:
            resolved = x + timedelta(days=30)            # still open: waiting for the other system's team
        est = max(1.0, round(hours * rnd.uniform(0.8, 1.1) * 2) / 2)
        task = self.task(b.title, b.module, b.stage, "开发", triage + timedelta(minutes=rnd.randint(2, 15)), b.dev,
                         est, pri=b.pri, bug=b, deadline=b.deadline, desc="由 Bug 转为任务：修复并自测，提交到测试环境。")
        b.task = task
        self.run(task, start, resolved, hours, by=b.dev)
        if resolved >= x:
            return
        self.resolve(b, resolved, b.resolution, build=self.build_of(resolved.date(), fixed=True))
        # Verification fails sometimes: the tester activates the bug, the developer fixes it again.
        for _ in range(b.reopens):
            when = _office(rnd, resolved + timedelta(days=rnd.uniform(0.3, 3)))
            if when >= x:
                return
            b.events.append((when, b.opened_by, "activated", None))
            extra = max(1.0, hours * rnd.uniform(0.3, 0.6))
            refix = _office(rnd, when + timedelta(days=rnd.uniform(0.5, 4)))
            self.reactivate(task, when, refix, extra)
            if refix >= x:
                return
            resolved = refix
            self.resolve(b, resolved, b.resolution, build=self.build_of(resolved.date(), fixed=True))
        # the reporter verifies and closes; the customer's users take longer than the testers
        close = _office(rnd, resolved + timedelta(days=rnd.uniform(2, 12) if b.production else rnd.uniform(0.5, 6)))
        if b.production and x - resolved < timedelta(days=14):
            close = x + timedelta(days=3)               # the hotfix is deployed; the customer verifies it next week
        if close < x:
            self.close(b, close)
            if task.status == "done":
                task.status, task.closed, task.close_reason = "closed", close, "已完成"
                task.assigned_to, task.assigned_at, task.edited_by, task.edited_at = "Closed", close, ERP_PM, close

    def resolve(self, b: _ZtBug, when: datetime, res: tuple, build: str | None, by: str | None = None) -> None:
        if when < self.export_at:
            b.events.append((when, by or b.dev, "resolved", (res, build)))

    def close(self, b: _ZtBug, when: datetime) -> None:
        if when < self.export_at:
            b.events.append((when, b.opened_by, "closed", None))

    def reactivate(self, task: _ZtTask, when: datetime, refix: datetime, extra: float) -> None:
        """ZenTao activates the bug's task too: back to 进行中, finish and close cleared, 激活日期 set."""
        if task.status not in ("done", "closed"):
            return
        task.status, task.activated, task.finished, task.finished_by = "doing", when, None, ""
        task.closed, task.close_reason = None, ""
        task.assigned_to, task.assigned_at, task.edited_by, task.edited_at = task.owner, when, ERP_PM, when
        if refix < self.export_at:
            task.consumed = round((task.consumed + extra) * 2) / 2
            task.status, task.finished, task.finished_by, task.left = "done", refix, task.owner, 0.0
            task.assigned_to, task.assigned_at, task.edited_by, task.edited_at = ERP_PM, refix, task.owner, refix
        else:
            task.consumed = round((task.consumed + extra / 2) * 2) / 2
            task.left = round(extra / 2 * 2) / 2 or 0.5

    def reopen_now(self, b: _ZtBug) -> None:
        rnd, x = self.rnd, self.export_at
        resolved = b.last("resolved")[0]
        when = _office(rnd, resolved + timedelta(days=rnd.uniform(0.5, 1.5)))
        if when >= x:
            return
        b.events = [e for e in b.events if not (e[2] == "closed" and e[0] > when)]
        b.events.append((when, b.opened_by, "activated", None))
        b.events.sort(key=lambda e: e[0])
        if b.task is not None:
            self.reactivate(b.task, when, x + timedelta(days=5), 4.0)

    # -- numbering and the stories' progress ----------------------------------------------------------------------
    def finish(self) -> None:
        rnd, x = self.rnd, self.export_at
        golive_at = _dt(self.golive, 9 * 60)
        uat_end = self.uat_end = _at(rnd, self.day_at(9, 0.6))
        for mod in ERP_MODULES:
            mod_tasks = [t for t in self.tasks if t.baseline and t.module == mod and t.type == "开发"]
            for s in (s for s in self.stories if s.module == mod and s.status != "closed" and not s.keywords):
                own = [t for t in mod_tasks if t.story is s] or mod_tasks
                dev_start = min(t.started or x for t in own)
                dev_end = max(t.finished or x for t in own)
                test_start = max(dev_end, _at(rnd, self.day_at(5, 0.5)))
                test_end = max(test_start + timedelta(days=5), _at(rnd, self.day_at(7, 0.6)))
                # released with V1.0 at the go-live; the PM closes the requirement once the release is accepted
                closed = _office(rnd, golive_at + timedelta(days=rnd.uniform(1, 8)))
                self.story_progress(s, dev_start if dev_start < x else None, dev_end if dev_end < x else None,
                                    test_start, test_end, uat_end, golive_at, closed)
        # A change request under change right now: the customer widened it again after the CCB.
        chg = next((s for s in self.stories if s.title.startswith("CR-06")), None)
        if chg is not None:
            chg.changing = chg.reviewed + timedelta(days=rnd.randint(4, 8))
        for s in self.stories:
            s.stages = sorted(st for st in s.stages if st[0] < x)
            if s.closed is not None and s.closed >= x:
                s.closed, s.close_reason, s.status = None, None, "active"
            if s.status != "closed":
                # ZenTao counts 研发完毕 and every later stage as delivered: an open requirement is shown at
                # 已计划 / 研发中 / 测试中 here, so that its done date is always its 关闭日期.
                s.stages = [st for st in s.stages if st[1] in ("planned", "developing", "testing")]
            if s.changing is not None and s.changing >= x:
                s.changing = None
        self.stories.sort(key=lambda s: s.created)
        for n, s in enumerate(self.stories, start=1):
            s.id = n
        self.tasks = [t for t in self.tasks if t.created < x]
        ordered = sorted((t for t in self.tasks if not t.child), key=lambda t: t.created)
        n = 0
        for t in ordered:
            n += 1
            t.id = n
            for c in t.children:
                n += 1
                c.id = n
        for n, b in enumerate(self.bugs, start=1):
            b.id = n
        # Duplicates point at an earlier bug of their module.
        for b in self.bugs:
            if b.resolution and b.resolution[1] == "duplicate":
                earlier = [o for o in self.bugs if o.module == b.module and o.id < b.id and not o.invalid]
                b.duplicate_of = earlier[-1] if earlier else None
        for s in self.stories:
            s.tasks = sum(1 for t in self.tasks if t.story is s)
            s.bugs = sum(1 for b in self.bugs if b.story is s)
            s.cases = 0 if s.keywords or s.close_reason in ("duplicate", "willnotdo") else rnd.randint(4, 18)

    def milestones(self) -> list[dict]:
        """The PMO's milestones (baseline, forecast, actual): only the go-live is named like a release."""
        x = self.export_at.date()
        sit = next(t for t in self.tasks if t.name == "SIT 第二轮执行（回归）")
        last = _workdays(self.m[11], _month_end(self.m[11]))[-1]
        rows = [("蓝图确认", self.day_at(1, 0.6), self.review_day),
                ("系统配置完成", self.day_at(4, 0.75), self.day_at(4, 0.8)),
                ("SIT 完成", sit.deadline, sit.finished.date() if sit.finished else None),
                ("UAT 签字确认", self.day_at(9, 0.6), self.uat_end.date()),
                ("上线 Go-live", self.golive, self.golive),
                ("项目终验", last, None)]
        out = []
        for name, baseline, actual in rows:
            actual = actual if actual is not None and actual < x else None
            forecast = actual or (baseline + timedelta(days=14) if name == "项目终验" else baseline)
            out.append({"name": name, "baseline_date": baseline.isoformat(), "forecast_date": forecast.isoformat(),
                        "actual_date": actual.isoformat() if actual else None,
                        "acceptance_status": "accepted" if actual else "pending", "source": "demo"})
        return out

    # -- the three exports ------------------------------------------------------------------------------------
    def bug_csv(self) -> str:
        header = ["Bug编号", "所属产品", "所属模块", "所属项目", "所属执行", "相关需求", "相关任务", "Bug标题", "关键词",
                  "严重程度", "优先级", "Bug类型", "操作系统", "浏览器", "重现步骤", "Bug状态", "截止日期", "激活次数",
                  "是否确认", "抄送给", "由谁创建", "创建日期", "影响版本", "指派给", "指派日期", "解决者", "解决方案",
                  "解决版本", "解决日期", "由谁关闭", "关闭日期", "重复Bug", "相关Bug", "相关用例", "最后修改者", "修改日期",
                  "附件"]
        rows = []
        for b in sorted(self.bugs, key=lambda b: -b.id):
            status = b.status()
            assigned = [e for e in b.events if e[2] in ("assigned", "activated", "resolved", "closed")]
            if status == "active":
                to = b.dev if assigned else ""
            elif status == "resolved":
                to = b.opened_by                     # resolving assigns the bug back to its reporter
            else:
                to = "Closed"
            assigned_at = assigned[-1][0] if assigned else b.created
            res = b.last("resolved") if status != "active" else None
            closed = b.last("closed") if status == "closed" else None
            last = b.events[-1] if b.events else (b.created, b.opened_by)
            (res_label, res_code), build = res[3] if res else ((None, None), None)
            rows.append([
                b.id, ERP_PRODUCT, _module_cell(b.module), ERP_PROJECT, _stage_cell(b.stage),
                _label(b.story.title, b.story.id) if b.story else "", "", b.title, b.keywords,
                _label(b.severity, b.severity), _label(b.pri, b.pri), _label(ERP_BUG_TYPES[b.type], b.type), "", "",
                b.steps, _label({"active": "激活", "resolved": "已解决", "closed": "已关闭"}[status], status),
                zt_day(b.deadline), b.activations(), "已确认(#1)" if assigned else "未确认(#0)", b.mailto,
                b.opened_by, zt_dt(b.created), b.build, to, zt_dt(assigned_at),
                res[1] if res else "", _label(res_label, res_code) if res else "", build or "",
                zt_dt(res[0]) if res else "", closed[1] if closed else "", zt_dt(closed[0]) if closed else "",
                b.duplicate_of.id if b.duplicate_of and res_code == "duplicate" else "", "", "",
                last[1], zt_dt(last[0]), ""])
        return zentao_csv(header, rows)

    def task_csv(self) -> str:
        header = ["编号", "所属执行", "所属模块", "相关研发需求", "来源Bug", "任务名称", "任务描述", "任务类型", "优先级",
                  "预计开始", "实际开始", "截止日期", "任务状态", "最初预计", "总计消耗", "预计剩余", "抄送给", "进度",
                  "任务模式", "由谁创建", "创建日期", "指派给", "指派日期", "由谁完成", "实际完成", "由谁取消", "取消时间",
                  "由谁关闭", "关闭时间", "关闭原因", "最后修改", "最后修改日期", "激活日期", "附件"]

        def hours(t: _ZtTask, value: float) -> str:
            if t.multi:           # `张三:4\n李四:2\n`
                return "".join(f"{who}:{round(value * share * 2) / 2:g}\n" for who, share in t.multi)
            return zt_hours(value)

        def row(t: _ZtTask) -> list:
            name = ("[多人] " if t.multi else "") + (">" if t.child else "") + t.name
            total = t.consumed + t.left
            progress = f"{round(t.consumed * 100 / total)}%" if total else "0%"
            return [t.id, _stage_cell(t.stage), _module_cell(t.module),
                    _label(t.story.title, t.story.id) if t.story else "",
                    f"#{t.bug.id} {t.bug.title}" if t.bug else "", name, t.desc, t.type, t.pri,
                    zt_day(t.est_start), zt_dt(t.started) if t.started else "0000-00-00 00:00:00", zt_day(t.deadline),
                    ERP_TASK_STATUS[t.status], hours(t, t.estimate), hours(t, t.consumed), hours(t, t.left), t.mailto,
                    progress, "多人并行" if t.multi else "", ERP_PM, zt_day(t.created),
                    t.assigned_to, zt_day(t.assigned_at), t.finished_by if t.finished else "", zt_day(t.finished),
                    ERP_PM if t.canceled else "", zt_day(t.canceled), ERP_PM if t.closed else "", zt_day(t.closed),
                    t.close_reason, t.edited_by, zt_day(t.edited_at), zt_dt(t.activated), ""]

        rows = []
        for t in sorted((t for t in self.tasks if not t.child), key=lambda t: -t.id):
            rows.append(row(t))
            rows += [row(c) for c in sorted(t.children, key=lambda c: c.id)]
        return zentao_csv(header, rows, footer=ERP_TASK_FOOTER)

    def story_csv(self) -> str:
        header = ["编号", "所属产品", "所属模块", "所属计划", "来源", "来源备注", "研发需求名称", "描述", "验收标准", "关键词",
                  "优先级", "预计工时", "当前状态", "所处阶段", "类别", "T", "B", "C", "由谁创建", "创建日期", "指派给",
                  "指派日期", "抄送给", "由谁评审", "评审时间", "由谁关闭", "关闭日期", "关闭原因", "最后修改", "最后修改日期",
                  "细分研发需求", "相关研发需求", "重复研发需求", "附件"]
        categories = {"feature": "功能", "interface": "接口"}
        rows = []
        for s in sorted(self.stories, key=lambda s: -s.id):
            stage = s.stages[-1][1] if s.stages else "wait"
            status = s.status
            if status == "active" and s.changing is not None:
                status = "changing"
            elif status == "active" and not s.stages:
                status = "reviewing"
            owner = ERP_OWNER[s.module] if s.module != INT else "钱坤"
            edited = max([s.created] + [st[0] for st in s.stages] + [t for t in (s.changing, s.closed) if t])
            rows.append([
                s.id, ERP_PRODUCT, _module_cell(s.module), ERP_PLANS[s.plan], _label(*s.source), s.source_note,
                s.title, s.spec, s.verify, s.keywords, _label(s.pri, s.pri), s.estimate,
                _label(ERP_STORY_STATUS[status], status), _label(ERP_STORY_STAGE[stage], stage),
                _label(categories[s.category], s.category), s.tasks, s.bugs, s.cases, s.opened_by, zt_dt(s.created),
                "Closed" if s.status == "closed" else owner, zt_dt(s.closed or s.reviewed or s.created), "",
                f"{ERP_PM},{ERP_CLIENT[s.module]}" if s.reviewed else "", zt_dt(s.reviewed),
                ERP_PM if s.closed else "", zt_dt(s.closed),
                _label(ERP_STORY_REASON[s.close_reason], s.close_reason) if s.close_reason else "",
                ERP_PM, zt_dt(edited), "", "", s.duplicate_of.id if s.duplicate_of else "", ""])
        return zentao_csv(header, rows)


def _erp(today: date) -> tuple[dict[str, str], dict, dict, list[dict]]:
    """The three exports' texts (bug, task, story), the counts the tests check, the EVM settings and the
    PMO's milestone table (ZenTao's CSVs carry no release: the go-live milestone dates the DRE split)."""
    b = _ErpBuilder(today)
    b.build_stories()
    b.build_baseline()
    b.build_action_and_crs()
    b.build_bugs()
    b.finish()
    x = b.export_at
    bugs = b.bugs
    valid = [g for g in bugs if not g.invalid]
    baseline = [t for t in b.tasks if t.baseline and t.status != "cancel"]
    bac_h = sum(t.estimate for t in baseline)
    counts = {
        "bugs": len(bugs), "tasks": len(b.tasks), "stories": len(b.stories),
        "child_tasks": sum(1 for t in b.tasks if t.child),
        "parent_tasks": [f"TASK-{t.id}" for t in b.tasks if t.children],
        "bug_fix_tasks": sum(1 for t in b.tasks if t.bug),
        "valid_bugs_by_module": {mod: sum(1 for g in valid if g.module == mod) for mod in ERP_MODULES},
        "production_bugs": sum(1 for g in valid if g.production),
        "reactivated_bugs": sum(1 for g in bugs if g.activations()),
        "activations": sum(g.activations() for g in bugs),
        "currently_reopened": sorted(f"BUG-{g.id}" for g in bugs if g.activations() and g.status() == "active"),
        "go_live": b.golive.isoformat(), "baseline_date": b.kickoff.isoformat(),
        "requirement_baseline_date": b.review_day.isoformat(),
        "pdca_action_month": b.m[7].strftime("%Y-%m"), "baseline_hours": bac_h,
        "exported_at": x.isoformat(),
    }
    settings = {"bac": bac_h * ERP_RATE, "hourly_rate": ERP_RATE}
    return {"bug": b.bug_csv(), "task": b.task_csv(), "story": b.story_csv()}, counts, settings, b.milestones()


# ----------------------------------------------------------------------------------------------------------
# OPS — a Kanban support team on GitLab: two monthly issues "Export as CSV" files
# ----------------------------------------------------------------------------------------------------------

OPS_KEY = "OPS"
OPS_NAME_ZH, OPS_NAME_EN = "运维支持", "Ops Support"
OPS_GITLAB = "https://gitlab.huaxin-si.com"          # a fictitious self-managed GitLab
OPS_PATH = "it-ops/ops-support"
OPS_FIRST_IID = 301
OPS_TEAM = ["高翔", "罗斌", "徐婷", "杨帆", "谢军"]
OPS_REPORTERS = ["田甜", "冯刚", "蒋丽", "袁野", "韩梅", "高翔"]
OPS_BOT = "监控告警 Bot"
OPS_USERNAMES = {"高翔": "gaoxiang", "罗斌": "luobin", "徐婷": "xuting", "杨帆": "yangfan", "谢军": "xiejun",
                 "田甜": "tiantian", "冯刚": "fenggang", "蒋丽": "jiangli", "袁野": "yuanye", "韩梅": "hanmei",
                 OPS_BOT: "alert-bot"}
OPS_DEPT = {"田甜": "财务部", "冯刚": "销售部", "蒋丽": "人事部", "袁野": "生产部", "韩梅": "采购部", "高翔": "信息中心",
            OPS_BOT: "监控平台"}
# Title templates by type, each with the component (scoped label `component::...`) it concerns.
OPS_TITLES = {
    "task": [("申请开通堡垒机权限 - {who}", "账号权限"), ("新员工入职：邮箱 / VPN / 钉钉账号开通", "账号权限"),
             ("财务共享中心 VPN 无法连接", "网络"), ("申请测试环境数据库只读账号", "数据库"),
             ("月末结账：ERP 批处理窗口延长", "应用"), ("证书续期：*.huaxin.com (到期 30 天)", "中间件"),
             ("K8s 集群节点打补丁 (CVE)", "主机"), ("共享盘配额扩容 500G", "存储"), ("会议室大屏投屏故障", "办公IT"),
             ("备份任务巡检 & 恢复演练", "存储")],
    "bug": [("生产 MySQL 慢查询告警 (order_db)", "数据库"), ("Jenkins 构建节点磁盘满", "主机"),
            ("邮件网关退信：集团域名 SPF 校验失败", "网络"), ("夜间批处理 job 失败：settlement_daily", "应用"),
            ("Nginx 502：网关 upstream 超时", "中间件"), ("Zabbix 告警风暴：交换机端口抖动", "网络"),
            ("OA 附件上传 413 Request Entity Too Large", "中间件"), ("打印服务器队列卡死", "办公IT")],
    "improvement": [("监控 Grafana 面板迁移到新集群", "监控"), ("堡垒机登录接入 LDAP 统一认证", "账号权限"),
                    ("告警分级与值班手册 v2", "监控"), ("日志平台 ES 冷热分离", "存储"),
                    ("自动化巡检脚本 (Ansible)", "主机")],
}
OPS_PRIORITY = {"Highest": 1, "High": 2, "Medium": 3, "Low": 4}
# The team closes every issue with a `resolution::` label (its board's closing lists), so a closed issue says
# whether it was delivered: GitLab itself records no resolution.
OPS_RESOLUTION_LABEL = {"Done": "resolution::done", "Won't Do": "resolution::wontfix",
                        "Duplicate": "resolution::duplicate"}
OPS_WORKFLOW = {"Selected for Development": "workflow::ready", "In Progress": "workflow::in progress"}


@dataclass(eq=False)
class _Ticket:
    type: str                 # task | bug | improvement (the `type::` label)
    summary: str
    component: str
    created: datetime
    reporter: str
    assignee: str | None
    priority: str
    labels: list              # plain labels (值班, 迁移)
    due: date | None
    events: list              # (when, status, resolution or None)
    spent_h: float = 0.0      # time spent by the time it is closed
    estimate_h: float | None = None
    confidential: bool = False
    key: str = ""
    iid: int = 0

    def state(self, at: datetime) -> tuple[str, str | None, datetime | None, datetime]:
        """(status, resolution, closed at, updated) as an export at `at` shows it."""
        status, res, resolved, updated = "Backlog", None, None, self.created
        for when, st, r in self.events:
            if when >= at:
                break
            status, res, updated = st, r, when
            resolved = when if st == "Done" else None
        return status, res, resolved, updated


def _ops(today: date) -> tuple[list[_Ticket], datetime, datetime, list[str]]:
    rnd = random.Random("pmo-pulse-demo:OPS")
    export_at = _export_moment(today)
    prev_day = _workdays(_month_start(today, 1), _month_end(_month_start(today, 1)))[-1]
    prev_at = _dt(prev_day, 17 * 60 + 40)
    m = [_month_start(today, 11 - i) for i in range(12)]
    tickets: list[_Ticket] = []
    for mi, first in enumerate(m):
        last = min(_month_end(first), today - timedelta(days=1))
        if last < first:
            continue
        n = rnd.randint(15, 20) if mi < 9 else rnd.randint(22, 27)   # a migration brings more work late on
        days = list(_days(first, last))
        for _ in range(round(n * len(days) / len(list(_days(first, _month_end(first)))))):
            day = rnd.choice(days)
            created = _at(rnd, day, lo=8 * 60, hi=21 * 60)
            if created >= export_at:
                continue
            type_ = rnd.choices(["task", "bug", "improvement"], [55, 30, 15])[0]
            title, component = rnd.choice(OPS_TITLES[type_])
            title = title.format(who=rnd.choice(["李明", "王静", "赵磊", "孙悦"]))
            prio = rnd.choices(["Highest", "High", "Medium", "Low"], [5, 20, 55, 20])[0]
            reporter = OPS_BOT if type_ == "bug" and rnd.random() < 0.4 else rnd.choice(OPS_REPORTERS)
            late = mi >= 10
            wait = rnd.uniform(0.05, 1.5) if not late else rnd.uniform(1, 10)
            work = {"task": (0.1, 2.5), "bug": (0.05, 1.5), "improvement": (3, 15)}[type_]
            work = rnd.uniform(*work) * (2.2 if late else 1.0)
            if prio == "Highest":
                wait, work = wait * 0.1, work * 0.4
            ip = created + timedelta(days=wait)
            done = ip + timedelta(days=work)
            if prio != "Highest":                 # the on-call handles Highest at any hour; the rest waits
                ip = _office(rnd, ip)
                done = max(_office(rnd, done), ip + timedelta(minutes=rnd.randint(15, 90)))
            events = []
            if rnd.random() < 0.3 and ip - created > timedelta(hours=2):
                events.append((created + (ip - created) * 0.4, "Selected for Development", None))
            events.append((ip, "In Progress", None))
            res = "Done" if rnd.random() > 0.06 else rnd.choice(["Won't Do", "Duplicate"])
            if mi in (7, 8) and type_ == "improvement" and rnd.random() < 0.5:
                done = export_at + timedelta(days=5)      # stuck work: aging items in progress
            events.append((done, "Done", res))
            spent = {"task": (0.25, 4), "bug": (0.5, 6), "improvement": (6, 32)}[type_]
            t = _Ticket(type_, title, component, created, reporter, rnd.choice(OPS_TEAM), prio,
                        ["值班"] * (type_ == "bug") + ["迁移"] * (late and rnd.random() < 0.4),
                        (created + timedelta(days=3)).date() if prio in ("Highest", "High") else None, events,
                        spent_h=round(rnd.uniform(*spent) * 4) / 4 if res == "Done" else 0.0,
                        confidential=component == "账号权限" and rnd.random() < 0.3)
            if type_ == "improvement" or rnd.random() < 0.25:
                t.estimate_h = float(max(1, round(t.spent_h * rnd.uniform(0.7, 1.2)))) if t.spent_h else 2.0
            tickets.append(t)
    tickets.sort(key=lambda t: (t.created, t.summary))
    for n, t in enumerate(tickets):
        t.iid = OPS_FIRST_IID + n
        t.key = f"#{t.iid}"
    # A few closed just before last month's export are reopened after it (the user came back).
    reopened = []
    for t in reversed(tickets):
        st, res, resolved, _ = t.state(prev_at)
        if st == "Done" and res == "Done" and resolved and prev_at - resolved < timedelta(days=12):
            when = _office(rnd, prev_at + timedelta(days=rnd.uniform(1, 8)))
            if when >= export_at:
                continue
            t.events.append((when, "In Progress", None))
            t.events.sort(key=lambda e: e[0])
            reopened.append(t.key)
            if len(reopened) == 3:
                break
    return tickets, prev_at, export_at, sorted(reopened)


def gitlab_ts(t: datetime | None) -> str:
    """GitLab's CSV timestamps: UTC, `2026-10-30 09:40:12`."""
    return t.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if t else ""


def _ops_csv(tickets: list[_Ticket], at: datetime) -> str:
    """Issues "Export as CSV" (GitLab up to 18.3, `Issues::ExportCsvService`): Title and Description first, labels
    sorted and comma-joined in one cell, times UTC, Time Estimate / Time Spent in seconds, rows by title."""
    header = ["Title", "Description", "Issue ID", "URL", "State", "Author", "Author Username", "Assignee",
              "Assignee Username", "Confidential", "Locked", "Due Date", "Created At (UTC)", "Updated At (UTC)",
              "Closed At (UTC)", "Milestone", "Weight", "Labels", "Time Estimate", "Time Spent"]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    for t in sorted((t for t in tickets if t.created < at), key=lambda t: (t.summary, t.iid)):
        status, res, closed_at, updated = t.state(at)
        labels = [f"type::{t.type}", f"priority::{OPS_PRIORITY[t.priority]}", f"component::{t.component}",
                  *t.labels]
        if status == "Done":
            if res in OPS_RESOLUTION_LABEL:
                labels.append(OPS_RESOLUTION_LABEL[res])
            spent = t.spent_h
        else:
            if status in OPS_WORKFLOW:
                labels.append(OPS_WORKFLOW[status])
            spent = round(t.spent_h * 0.4 * 4) / 4 if status == "In Progress" else 0.0
        dept = OPS_DEPT.get(t.reporter, "")
        desc = (f"来源：{'Zabbix / Prometheus 告警' if t.reporter == OPS_BOT else 'ITSM 工单'}（{dept}）\n"
                f"影响范围：{t.component}")
        w.writerow([t.summary, desc, t.iid, f"{OPS_GITLAB}/{OPS_PATH}/-/issues/{t.iid}",
                    "Closed" if status == "Done" else "Open", t.reporter, OPS_USERNAMES[t.reporter],
                    t.assignee or "", OPS_USERNAMES.get(t.assignee, ""), "Yes" if t.confidential else "No", "No",
                    t.due.isoformat() if t.due else "", gitlab_ts(t.created), gitlab_ts(updated), gitlab_ts(closed_at),
                    "", "", ",".join(sorted(labels)), int(round((t.estimate_h or 0) * 3600)), int(round(spent * 3600))])
    return out.getvalue()


# ----------------------------------------------------------------------------------------------------------
# Entry point
# ----------------------------------------------------------------------------------------------------------

def _settings(name: str, name_zh: str, name_en: str, project: dict | None = None,
              extra: dict | None = None, milestones: list[dict] | None = None) -> dict:
    out = {"project": {"name": name, "timezone": TZ_NAME, "calendar": "CN", **(project or {})},
           "settings": {"project_name_zh": name_zh, "project_name_en": name_en, **(extra or {})}}
    if milestones:
        out["milestones"] = milestones
    return out


def _write(path: Path, text: str, encoding: str = "utf-8") -> None:
    path.write_bytes(text.encode(encoding))     # strict: a character GBK lacks is a bug in the demo's text


def write_demo_exports(out_dir: Path, today: date) -> list[DemoFile]:
    """Write the demo's export files into `out_dir` (created if needed); the same `today` gives the same
    bytes. Returned in import order: ERP, OPS (last month's export before this month's), PAY last, so the app
    opens on PAY (the project of the latest import)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files: list[DemoFile] = []

    texts, erp_counts, evm, milestones = _erp(today)
    erp_settings = _settings(ERP_NAME_ZH, ERP_NAME_ZH, ERP_NAME_EN,
                             {"size_kloc": 48.0, "size_fp": 600.0, "currency": "CNY", **evm},
                             {"module_size_kloc": json.dumps(ERP_MODULES, ensure_ascii=False),
                              "evm_baseline_date": erp_counts["baseline_date"],
                              "requirement_baseline_date": erp_counts["requirement_baseline_date"]},
                             milestones)
    for kind, plural in (("bug", "bugs"), ("task", "tasks"), ("story", "stories")):
        p = out_dir / f"ERP_zentao_{plural}_gbk.csv"
        _write(p, texts[kind], "gbk")
        files.append(DemoFile(p, ERP_KEY, f"zentao-{kind}", erp_settings,
                              {"issues": erp_counts[plural], **erp_counts}))

    tickets, prev_at, now_at, reopened = _ops(today)
    ops_settings = _settings(f"{OPS_NAME_ZH} {OPS_NAME_EN}", OPS_NAME_ZH, OPS_NAME_EN)
    for at in (prev_at, now_at):
        p = out_dir / f"OPS_gitlab_issues_{at.date().isoformat()}.csv"
        _write(p, _ops_csv(tickets, at))
        n = sum(t.created < at for t in tickets)
        files.append(DemoFile(p, OPS_KEY, "gitlab-csv", ops_settings,
                              {"issues": n, "exported_at": at.isoformat(),
                               "reopened_since_previous": reopened if at == now_at else []}))

    search, board, pay_counts = _pay(today)
    pay_settings = _settings(f"{PAY_NAME_ZH} {PAY_NAME_EN}", PAY_NAME_ZH, PAY_NAME_EN,
                             {"size_kloc": 36.0, "size_fp": 450.0, "currency": "CNY"},
                             {"module_size_kloc": json.dumps(PAY_MODULE_KLOC, ensure_ascii=False)})
    p = out_dir / "PAY_search_expand_changelog.json"
    _write(p, json.dumps(search, ensure_ascii=False, indent=1) + "\n")
    files.append(DemoFile(p, PAY_KEY, "jira-json", pay_settings, pay_counts))
    p = out_dir / f"PAY_board_{PAY_BOARD}_sprints.json"
    _write(p, json.dumps(board, ensure_ascii=False, indent=1) + "\n")
    files.append(DemoFile(p, PAY_KEY, "jira-sprints-json", pay_settings,
                          {"sprints": len(board["values"]), "board_id": PAY_BOARD}))
    return files
