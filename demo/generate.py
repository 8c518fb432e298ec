"""The demo: three projects' tracker exports, written exactly as the trackers write them.

`write_demo_exports(out_dir, today)` writes real export files (never rows straight into the database), so
the demo goes through the same import path as a user's files. Everything is seeded: the same `today` gives
byte-identical files. The twelve months up to `today`'s month are covered:

- PAY  支付平台 Payments (Jira Scrum): `/rest/api/2/search?expand=changelog,names` JSON with full
  changelogs (status, resolution, Sprint, Story Points), worklogs, sub-tasks and epics, plus the board's
  `/rest/agile/1.0/board/{id}/sprint` JSON. Two-week sprints over the last ~4-5 months, the last one
  active; one sprint spans a Chinese statutory holiday and ends on a 调休 make-up working day (per
  chinese-calendar), and the team committed a normal load to it; mid-sprint additions, a removal, a
  re-estimate, carry-over and reopened issues.
- ERP  ERP 升级实施 (system-integration waterfall in Jira): "Export CSV (all fields)" with ~150 bugs over
  five modules (Components), severities, resolutions, found-in phase, baseline tasks with estimates,
  due dates and `Log Work` worklogs, change requests. Module INT's defect density breaks its limit; the
  interface work slips (SPI below 0.9); bug-fix effort rises through SIT, then falls after a PDCA action.
- OPS  运维支持 Ops Support (Jira Kanban): two "Export CSV (current fields)" files, last month's and this
  month's, of the same issues in different states (a few moved from Done back to In Progress).

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
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import holidays

TZ_NAME = "Asia/Shanghai"
TZ = ZoneInfo(TZ_NAME)
SITE = "https://huaxin-si.atlassian.net"      # a fictitious Jira Cloud site
MON = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


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


def csv_ts(t: datetime) -> str:
    """Jira CSV: dd/MMM/yy h:mm AM, in the exporting user's time zone (English month names, any locale)."""
    t = t.astimezone(TZ)
    h = t.hour % 12 or 12
    return f"{t.day:02d}/{MON[t.month - 1]}/{t.year % 100:02d} {h}:{t.minute:02d} {'AM' if t.hour < 12 else 'PM'}"


def csv_day(d: date) -> str:
    """A Cloud date-picker value in CSV: 05/Oct/25 12:00 AM."""
    return f"{d.day:02d}/{MON[d.month - 1]}/{d.year % 100:02d} 12:00 AM"


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
# ERP — system-integration waterfall in Jira, "Export CSV (all fields)"
# ----------------------------------------------------------------------------------------------------------

ERP_KEY = "ERP"
ERP_NAME_ZH, ERP_NAME_EN = "ERP 升级实施", "ERP Upgrade"
ERP_MODULES = {"FI 财务": 14.0, "SCM 供应链": 12.0, "PP 生产制造": 10.0, "HR 人力资源": 6.0, "INT 接口集成": 6.0}
FI, SCM, PP, HR, INT = ERP_MODULES
ERP_PM = "王建国"
ERP_OWNER = {FI: "周丽", SCM: "孙强", PP: "吴涛", HR: "郑红", INT: "钱坤"}
ERP_INT_DEVS = ["钱坤", "马超"]
ERP_TESTERS = ["何静", "林峰"]
ERP_CLIENT = ["刘芳(客户财务部)", "黄磊(客户供应链部)", "张敏(客户人力部)"]
ERP_RATE = 600.0          # CNY per hour, blended

# Bugs by module: (total, invalid). INT carries ~4x the others' density.
ERP_BUGS_BY_MODULE = {FI: (31, 3), SCM: (26, 3), PP: (23, 2), HR: (14, 2), INT: (56, 8)}
# Bugs raised per project month m0..m11 (sum 150): design-review and unit-test defects early, the SIT wave,
# UAT, then production after go-live.
ERP_BUGS_BY_MONTH = [0, 1, 3, 8, 14, 24, 30, 26, 18, 12, 8, 6]
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
ERP_FOUND = ("设计评审", "单元测试", "SIT", "UAT", "生产环境")


@dataclass(eq=False)
class _Row:
    type: str
    summary: str
    created: datetime
    reporter: str
    assignee: str | None
    priority: str = "Medium"
    status: str = "To Do"
    resolution: str | None = None
    resolved: datetime | None = None
    components: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    fix_versions: list = field(default_factory=list)
    due: date | None = None
    start: date | None = None
    severity: str | None = None
    found: str | None = None
    original_s: int | None = None
    remaining_s: int | None = None
    worklogs: list = field(default_factory=list)       # (when, author, seconds)
    comments: list = field(default_factory=list)       # (when, author, text)
    description: str | None = None
    watchers: list = field(default_factory=list)
    updated: datetime | None = None
    category_changed: datetime | None = None
    reopened: bool = False
    key: str = ""
    id: int = 0

    def spent(self) -> int:
        return sum(w[2] for w in self.worklogs)


ERP_STATUS_CATEGORY = {"Open": "To Do", "To Do": "To Do", "Reopened": "To Do", "In Progress": "In Progress",
                       "Resolved": "Done", "Closed": "Done", "Done": "Done"}


def _weekly_logs(rnd, start: datetime, end: datetime, seconds: int, author: str, export_at: datetime) -> list:
    """Spread `seconds` of work over [start, end] as one log per week (how consultants fill timesheets),
    each on a working day; only logs before the export are kept."""
    days = _workdays(start.date(), end.date()) or [start.date()]
    weeks: dict[tuple, list[date]] = {}
    for d in days:
        weeks.setdefault(d.isocalendar()[:2], []).append(d)
    chunks = list(weeks.values())
    per = seconds / len(chunks)
    out = []
    for week in chunks:
        day = week[-1]
        when = max(_at(rnd, day, lo=15 * 60, hi=18 * 60), start + timedelta(minutes=30))
        s = int(round(per / 1800)) * 1800
        if s > 0 and when < export_at:
            out.append((when, author, s))
    return out


def _erp(today: date) -> tuple[list[_Row], dict, dict]:
    rnd = random.Random("pmo-pulse-demo:ERP")
    export_at = _export_moment(today)
    m = [_month_start(today, 11 - i) for i in range(12)]
    golive = _workdays(m[10], m[10] + timedelta(days=10))[0]
    rows: list[_Row] = []

    def day_in(month_i: int, frac0: float = 0.0, frac1: float = 1.0) -> date:
        first = m[month_i]
        last = _month_end(first)
        span = (last - first).days
        d = first + timedelta(days=int(span * frac0) + rnd.randint(0, max(0, int(span * (frac1 - frac0)))))
        while not is_workday(d):
            d += timedelta(days=1)
        return d

    # --- baseline tasks (the WBS imported in the first weeks) -----------------------------------------
    kickoff = _workdays(m[0] + timedelta(days=2), m[0] + timedelta(days=20))[0]
    wbs: list[tuple] = [  # (summary, module, start (month, frac), due (month, frac), hours, slip_days, overrun)
        ("项目启动会 & 项目章程", None, (0, 0.1), (0, 0.4), 24, 0, 1.0),
        ("项目管理计划 / WBS 编制", None, (0, 0.2), (0, 0.8), 40, 0, 1.1),
    ]
    for mod in ERP_MODULES:
        short = mod.split()[0]
        if mod != INT:
            wbs += [(f"业务蓝图调研 - {mod}", mod, (0, 0.4), (1, 0.5), 80, 0, 1.05),
                    (f"差异分析 Gap Analysis - {mod}", mod, (1, 0.3), (1, 0.95), 40, 0, 1.0),
                    (f"系统配置 - {mod}", mod, (2, 0.0), (3, 0.6), 120, rnd.choice([0, 0, 3]), 1.0),
                    (f"客户化开发 {short}-报表 (RICEF)", mod, (3, 0.0), (4, 0.7), 80, rnd.choice([0, 2, 5]), 1.1),
                    (f"数据迁移脚本 - {mod}", mod, (4, 0.2), (5, 0.5), 60, 0, 1.0),
                    (f"UAT 培训 - {mod}", mod, (8, 0.0), (8, 0.3), 24, 0, 1.0)]
    wbs += [
        ("接口方案设计：ERP 与 MES / WMS / OA / 银企 / 考勤", INT, (1, 0.3), (2, 0.5), 80, 0, 1.2),
        ("接口开发：ERP ↔ MES 生产工单", INT, (3, 0.0), (5, 0.3), 160, 10, 1.3),
        ("接口开发：ERP ↔ WMS 出入库", INT, (4, 0.0), (6, 0.4), 140, 34, 1.4),
        ("接口开发：ERP ↔ OA 审批流", INT, (4, 0.3), (6, 0.6), 100, 30, 1.35),
        ("接口开发：ERP ↔ 银企直连", INT, (5, 0.0), (6, 0.8), 120, 38, 1.45),
        ("接口开发：ERP ↔ 考勤系统", INT, (5, 0.2), (6, 0.9), 80, 26, 1.3),
        ("SIT 测试用例编写", None, (4, 0.5), (5, 0.5), 120, 0, 1.0),
        ("SIT 第一轮执行", None, (5, 0.5), (6, 0.6), 200, 8, 1.15),
        ("SIT 第二轮执行（回归）", None, (6, 0.6), (7, 0.5), 160, 24, 1.2),
        ("性能测试 (JMeter 500 并发)", None, (7, 0.0), (7, 0.7), 80, 21, 1.1),
        ("UAT 执行支持", None, (8, 0.1), (9, 0.5), 240, 5, 1.1),
        ("数据迁移演练 第1轮", None, (8, 0.2), (8, 0.6), 60, 0, 1.0),
        ("数据迁移演练 第2轮", None, (9, 0.0), (9, 0.4), 60, 0, 1.0),
        ("用户手册编写", None, (8, 0.0), (9, 0.6), 80, 0, 0.9),
        ("上线切换方案 Cutover Plan", None, (9, 0.3), (9, 0.8), 40, 0, 1.0),
        ("生产环境部署", None, (9, 0.8), (9, 1.0), 40, 0, 1.1),
        ("期初数据导入", None, (10, 0.0), (10, 0.2), 80, 0, 1.1),
        ("上线支持 Hypercare 第1-2周", None, (10, 0.0), (10, 0.5), 120, 0, 1.0),
        ("上线支持 Hypercare 第3-4周", None, (10, 0.5), (10, 1.0), 100, 0, 1.0),
        ("首次月结支持", FI, (10, 0.9), (11, 0.2), 60, 0, 1.2),
        ("UAT 问题跟踪与回归测试", None, (8, 0.3), (9, 0.8), 160, 0, 1.05),
        ("系统运维移交 / 知识转移", None, (10, 0.5), (11, 0.9), 100, 0, 1.0),
        ("上线后报表性能调优", None, (11, 0.0), (11, 0.8), 80, 0, 1.1),
        ("上线支持 Hypercare 第5-8周", None, (11, 0.0), (11, 1.0), 120, 0, 1.0),
        ("项目验收 & 项目总结", None, (11, 0.6), (11, 1.0), 40, 14, 1.0),
    ]
    created0 = _dt(kickoff, 14 * 60 + 5, rnd)
    for j, (summary, mod, (sm, sf), (dm, df), hours, slip, overrun) in enumerate(wbs):
        start = day_in(sm, sf, sf)
        due = max(day_in(dm, df, df), start)
        if df >= 1.0:
            due = _workdays(m[dm], _month_end(m[dm]))[-1]
        owner = ERP_OWNER.get(mod, ERP_PM) if mod else rnd.choice([ERP_PM] + ERP_TESTERS)
        if mod == INT:
            owner = ERP_INT_DEVS[j % 2]
        r = _Row("Task", summary, created0 + timedelta(seconds=7 * j), ERP_PM, owner, priority="Medium",
                 components=[mod] if mod else [], labels=["WBS"], fix_versions=["R1.0"], due=due, start=start,
                 original_s=hours * 3600)
        begin = _at(rnd, start)
        finish_day = due + timedelta(days=slip)
        while not is_workday(finish_day):
            finish_day += timedelta(days=1)
        finish = _at(rnd, finish_day, lo=16 * 60, hi=18 * 60)
        total = int(hours * 3600 * overrun * rnd.uniform(0.95, 1.05))
        r.worklogs = _weekly_logs(rnd, begin, finish, total, owner, export_at)
        if begin < export_at:
            r.status, r.category_changed = "In Progress", begin
        if finish < export_at:
            r.status, r.resolution, r.resolved, r.category_changed = "Done", "Done", finish, finish
            r.remaining_s = 0
        else:
            r.remaining_s = max(0, total - r.spent()) if begin < export_at else r.original_s
        rows.append(r)

    # --- the PDCA action on rework (month 7 review) and change requests ---------------------------------
    act_day = _workdays(m[7], m[7] + timedelta(days=12))[1]
    act = _Row("Task", "【PDCA 改进】INT 接口契约测试 + 提交前代码走查（月度评审行动项）", _at(rnd, act_day), ERP_PM,
               "马超", priority="High", components=[INT], labels=["PDCA", "改进"], fix_versions=["R1.0"],
               due=act_day + timedelta(days=14), original_s=40 * 3600)
    act_end = _at(rnd, act_day + timedelta(days=16))
    act.worklogs = _weekly_logs(rnd, act.created, act_end, 46 * 3600, "马超", export_at)
    act.status, act.category_changed = "In Progress", act.created + timedelta(hours=1)
    if act_end < export_at:
        act.status, act.resolution, act.resolved, act.category_changed, act.remaining_s = (
            "Done", "Done", act_end, act_end, 0)
    rows.append(act)
    crs = [(4, "CR-01 新增集团合并报表需求", FI, 80), (6, "CR-02 采购审批增加三级审批", SCM, 40),
           (7, "CR-03 MES 接口字段扩展（批次号 / 序列号）", INT, 60), (8, "CR-04 工资条移动端推送", HR, 32),
           (9, "CR-05 供应商门户对接", INT, 72), (10, "CR-06 上线后新增成本中心维度", FI, 24)]
    for mi, summary, mod, hours in crs:
        c = _Row("Change Request", summary, _at(rnd, day_in(mi, 0.1, 0.5)), ERP_PM, ERP_OWNER[mod], priority="High",
                 components=[mod], labels=["变更", "CCB已批准"], fix_versions=["R1.0" if mi < 10 else "R1.0.1"],
                 original_s=hours * 3600)
        if c.created >= export_at:
            continue
        begin = c.created + timedelta(days=rnd.randint(3, 8))
        finish = _at(rnd, (begin + timedelta(days=hours // 3)).date(), lo=16 * 60, hi=18 * 60)
        while not is_workday(finish.date()):
            finish += timedelta(days=1)
        total = int(hours * 3600 * rnd.uniform(1.0, 1.25))
        c.worklogs = _weekly_logs(rnd, begin, finish, total, c.assignee, export_at)
        c.status = "In Progress" if begin < export_at else "To Do"
        c.category_changed = begin if begin < export_at else None
        c.remaining_s = c.original_s
        if finish < export_at:
            c.status, c.resolution, c.resolved, c.category_changed, c.remaining_s = "Done", "Done", finish, finish, 0
        elif begin < export_at:
            c.remaining_s = max(0, total - c.spent())
        rows.append(c)

    # --- bugs --------------------------------------------------------------------------------------------
    modules = []
    for mod, (n, invalid) in ERP_BUGS_BY_MODULE.items():
        modules += [(mod, j < invalid) for j in range(n)]
    rnd.shuffle(modules)
    months = [mi for mi, n in enumerate(ERP_BUGS_BY_MONTH) for _ in range(n)]
    invalid_res = ["Duplicate"] * 7 + ["Cannot Reproduce"] * 6 + ["Not a Bug"] * 5
    rnd.shuffle(invalid_res)
    title_n: dict[str, int] = {}
    reopen_pool = []
    for n, ((mod, invalid), mi) in enumerate(zip(modules, months)):
        hi_frac = 1.0
        if mi == 11:  # the current month: only up to yesterday
            span = max(1, (today - m[11]).days)
            hi_frac = max(0.0, (span - 1) / max(1, (_month_end(m[11]) - m[11]).days))
        created = _at(rnd, day_in(mi, 0.0, hi_frac), lo=9 * 60, hi=19 * 60)
        if created >= export_at:
            created = export_at - timedelta(hours=rnd.randint(15, 40))
        found = (ERP_FOUND[0] if mi <= 2 else ERP_FOUND[1] if mi <= 4 else ERP_FOUND[2] if mi <= 7 else
                 ERP_FOUND[3] if created.date() < golive else ERP_FOUND[4])
        weights = [8, 25, 45, 22] if mod == INT else [4, 18, 50, 28]
        sev = rnd.choices(["S1-致命", "S2-严重", "S3-一般", "S4-轻微"], weights)[0]
        titles = ERP_BUG_TITLES[mod]
        k = title_n.get(mod, 0)
        title_n[mod] = k + 1
        summary = titles[k % len(titles)]
        if k >= len(titles):   # the same symptom in another scenario
            summary += f"（{ERP_SCENARIOS[mod][(k // len(titles) + k) % len(ERP_SCENARIOS[mod])]}）"
        client = {FI: ERP_CLIENT[0], SCM: ERP_CLIENT[1], PP: ERP_CLIENT[1], HR: ERP_CLIENT[2]}.get(
            mod, ERP_CLIENT[n % 2])
        reporter = (rnd.choice(ERP_TESTERS) if found in ("SIT", "单元测试") else
                    client if found in ("UAT", "生产环境") else ERP_PM)
        assignee = rnd.choice(ERP_INT_DEVS) if mod == INT else ERP_OWNER[mod]
        comps = [mod]
        if mod == INT and rnd.random() < 0.15:
            comps.append(rnd.choice([FI, SCM]))       # an interface defect seen in both systems
        prio = {"S1": "Highest", "S2": "High", "S3": "Medium", "S4": "Low"}[sev[:2]]
        b = _Row("Bug", summary, created, reporter, assignee, priority=prio, status="Open", components=comps,
                 labels=[found] + (["接口"] if mod == INT else []), severity=sev, found=found,
                 fix_versions=["R1.0.1 Hotfix"] if found == "生产环境" else ["R1.0"],
                 watchers=[ERP_PM, reporter],
                 description=(f"【环境】{found}\n【重现步骤】\n1. 使用测试账号登录 ERP\n2. 进入\"{mod}\"相关功能\n"
                              f"3. {summary}\n【预期结果】数据正确, 无报错"))
        sev_n = int(sev[1])
        lead_days = {1: (0.2, 2), 2: (1, 5), 3: (2, 14), 4: (4, 30)}[sev_n]
        if invalid:
            res = invalid_res.pop() if invalid_res else "Duplicate"
            lead = rnd.uniform(0.5, 3)
            fix_h = rnd.uniform(0.5, 1.5)
        else:
            res = "Won't Fix" if rnd.random() < 0.04 else "Fixed"
            lead = rnd.uniform(*lead_days) * (1.6 if mod == INT and mi in (5, 6, 7) else 1.0)
            fix_h = {1: (10, 20), 2: (5, 12), 3: (2, 6), 4: (1, 3)}[sev_n]
            fix_h = rnd.uniform(*fix_h) * (1.5 if mod == INT else 1.0)
            if created.date() > act_day:
                fix_h *= 0.6      # after the action: contract tests catch interface defects before they spread
            if res == "Won't Fix":
                fix_h = rnd.uniform(1, 2)
        aging = (not invalid and sev_n >= 3 and mi in (6, 7, 8) and rnd.random() < 0.12)
        start_fix = _office(rnd, created + timedelta(hours=rnd.uniform(0.5, 20)))
        resolved = max(_office(rnd, created + timedelta(days=lead)), start_fix + timedelta(minutes=40))
        if aging:
            resolved = export_at + timedelta(days=30)     # still open: waiting for the other system's team
        b.original_s = int(round(fix_h * 2)) * 1800 if not invalid else None
        logs_end = min(resolved, export_at) - timedelta(minutes=5)
        if start_fix < logs_end:
            parts = 1 if fix_h < 4 else rnd.randint(2, 3)
            span = (logs_end - start_fix).total_seconds()
            for p in range(parts):
                when = _office(rnd, start_fix + timedelta(seconds=span * p / parts))
                s = int(round(fix_h * 3600 / parts / 900)) * 900
                if s and when < logs_end:
                    b.worklogs.append((when, assignee, s))
            b.status, b.category_changed = "In Progress", start_fix
        if resolved < export_at:
            b.resolution, b.resolved, b.category_changed = res, resolved, resolved
            b.status = "Resolved" if export_at - resolved < timedelta(days=7) else "Closed"
            b.comments.append((resolved - timedelta(minutes=2), assignee,
                               {"Fixed": "已修复，已部署到测试环境，请验证。", "Won't Fix": "经评审属已知限制，本期不修复，已纳入二期。",
                                "Duplicate": "与已有缺陷重复，关闭。", "Cannot Reproduce": "按步骤无法重现，请补充日志。",
                                "Not a Bug": "系统按设计工作（配置问题），已指导用户。"}[res]))
            if res == "Fixed" and mi >= 8:
                reopen_pool.append(b)
        if b.original_s is not None:
            b.remaining_s = 0 if b.resolved else max(0, b.original_s - b.spent())
        rows.append(b)

    # Reopened: verification failed after the fix (Jira clears Resolution and Resolved).
    for b in reopen_pool[-6:]:
        when = _office(rnd, b.resolved + timedelta(days=rnd.uniform(0.5, 3)))
        if when >= export_at:
            continue
        b.status, b.resolution, b.resolved, b.category_changed, b.reopened = "Reopened", None, None, when, True
        b.comments.append((when, b.reporter, "验证未通过，问题仍存在，重新打开。"))
        if when + timedelta(hours=2) < export_at:
            b.worklogs.append((when + timedelta(hours=2), b.assignee, 2 * 3600))

    rows.sort(key=lambda r: (r.created, r.summary))
    for n, r in enumerate(rows, start=1):
        r.key, r.id = f"{ERP_KEY}-{n}", 31000 + n
        r.updated = max([r.created] + [w[0] for w in r.worklogs] + [c[0] for c in r.comments]
                        + [t for t in (r.resolved, r.category_changed) if t])
        r.updated = min(r.updated, export_at - timedelta(minutes=1))

    by_type: dict[str, int] = {}
    for r in rows:
        by_type[r.type] = by_type.get(r.type, 0) + 1
    valid_by_module = {mod: sum(1 for r in rows if r.type == "Bug" and mod in r.components
                                and r.resolution not in ("Duplicate", "Cannot Reproduce", "Not a Bug"))
                       for mod in ERP_MODULES}
    bac_h = sum(w[4] for w in wbs)
    counts = {"issues": len(rows), "by_type": by_type, "valid_bugs_by_module": valid_by_module,
              "reopened": sum(r.reopened for r in rows), "go_live": golive.isoformat(),
              "pdca_action_month": m[7].strftime("%Y-%m"), "baseline_hours": bac_h}
    settings = {"bac": bac_h * ERP_RATE, "hourly_rate": ERP_RATE}
    return rows, counts, settings


def _erp_csv(rows: list[_Row]) -> str:
    """The all-fields export: repeated headers for multi-value fields, as many as the largest row needs."""
    n_log = max(1, max(len(r.worklogs) for r in rows))
    n_comp = max(1, max(len(r.components) for r in rows))
    n_lab = max(1, max(len(r.labels) for r in rows))
    n_cmt = max(1, max(len(r.comments) for r in rows))
    n_w = max(1, max(len(r.watchers) for r in rows))
    header = (["Summary", "Issue key", "Issue id", "Issue Type", "Status", "Project key", "Project name",
               "Project type", "Project lead", "Project lead id", "Project description", "Priority", "Resolution",
               "Assignee", "Assignee Id", "Reporter", "Reporter Id", "Creator", "Creator Id", "Created", "Updated",
               "Last Viewed", "Resolved", "Affects versions", "Fix versions", *["Components"] * n_comp, "Due date",
               "Votes", *["Labels"] * n_lab, "Description", "Environment", *["Watchers"] * n_w,
               *["Watchers Id"] * n_w, *["Log Work"] * n_log, "Original estimate", "Remaining Estimate",
               "Time Spent", "Work Ratio", "Σ Original Estimate", "Σ Remaining Estimate", "Σ Time Spent",
               "Security Level", "Custom field (Development)", "Custom field (Found In)", "Custom field (Rank)",
               "Custom field (Severity)", "Sprint", "Custom field (Start date)", "Custom field (Story Points)",
               *["Comment"] * n_cmt, "Parent", "Parent key", "Parent summary", "Status Category",
               "Status Category Changed"])

    def pad(values: list, n: int) -> list:
        return list(values) + [""] * (n - len(values))

    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    lead_id = account_id(ERP_PM)
    for r in sorted(rows, key=lambda r: -r.id):
        spent = r.spent()
        logs = [f"{'周报工时' if r.type != 'Bug' else '缺陷修复'};{csv_ts(t)};{account_id(a)};{s}"
                for t, a, s in sorted(r.worklogs, key=lambda x: x[0])]
        ratio = f"{round(spent * 100 / r.original_s)}%" if r.original_s else ""
        sec = (lambda v: "" if v is None else str(v))
        w.writerow([
            r.summary, r.key, r.id, r.type, r.status, ERP_KEY, ERP_NAME_ZH, "software", ERP_PM, lead_id,
            "集团 ERP 升级实施项目：财务、供应链、生产制造、人力资源及外围系统接口（MES / WMS / OA / 银企直连 / 考勤）",
            r.priority, r.resolution or "", r.assignee or "", account_id(r.assignee) if r.assignee else "",
            r.reporter, account_id(r.reporter), r.reporter, account_id(r.reporter), csv_ts(r.created),
            csv_ts(r.updated), "", csv_ts(r.resolved) if r.resolved else "", "",
            r.fix_versions[0] if r.fix_versions else "",
            *pad(r.components, n_comp), csv_day(r.due) if r.due else "", 0, *pad(r.labels, n_lab),
            r.description or "", "SIT: 10.20.1.15 / UAT: 10.20.2.15" if r.type == "Bug" else "",
            *pad(r.watchers, n_w), *pad([account_id(x) for x in r.watchers], n_w), *pad(logs, n_log),
            sec(r.original_s), sec(r.remaining_s), spent or "", ratio, sec(r.original_s), sec(r.remaining_s),
            spent or "", "", "{}", r.found or "", f"0|i{r.id - 31000:04x}:", r.severity or "", "",
            csv_day(r.start) if r.start else "", "",
            *pad([f"{csv_ts(t)};{account_id(a)};{text}" for t, a, text in sorted(r.comments)], n_cmt),
            "", "", "", ERP_STATUS_CATEGORY[r.status], csv_ts(r.category_changed or r.created),
        ])
    return out.getvalue()


# ----------------------------------------------------------------------------------------------------------
# OPS — Jira Kanban support team, two monthly "current fields" exports
# ----------------------------------------------------------------------------------------------------------

OPS_KEY = "OPS"
OPS_NAME_ZH, OPS_NAME_EN = "运维支持", "Ops Support"
OPS_TEAM = ["高翔", "罗斌", "徐婷", "杨帆", "谢军"]
OPS_REPORTERS = ["田甜(财务部)", "冯刚(销售部)", "蒋丽(人事部)", "袁野(生产部)", "韩梅(采购部)", "高翔", "监控告警 bot"]
OPS_TITLES = {
    "Task": ["申请开通堡垒机权限 - {who}", "新员工入职：邮箱 / VPN / 钉钉账号开通", "财务共享中心 VPN 无法连接",
             "申请测试环境数据库只读账号", "月末结账：ERP 批处理窗口延长", "证书续期：*.huaxin.com (到期 30 天)",
             "K8s 集群节点打补丁 (CVE)", "共享盘配额扩容 500G", "会议室大屏投屏故障", "备份任务巡检 & 恢复演练"],
    "Bug": ["生产 MySQL 慢查询告警 (order_db)", "Jenkins 构建节点磁盘满", "邮件网关退信：集团域名 SPF 校验失败",
            "夜间批处理 job 失败：settlement_daily", "Nginx 502：网关 upstream 超时", "Zabbix 告警风暴：交换机端口抖动",
            "OA 附件上传 413 Request Entity Too Large", "打印服务器队列卡死"],
    "Improvement": ["监控 Grafana 面板迁移到新集群", "堡垒机登录接入 LDAP 统一认证", "告警分级与值班手册 v2",
                    "日志平台 ES 冷热分离", "自动化巡检脚本 (Ansible)"],
}


@dataclass(eq=False)
class _Ticket:
    type: str
    summary: str
    created: datetime
    reporter: str
    assignee: str | None
    priority: str
    labels: list
    due: date | None
    events: list          # (when, status, resolution or None)
    key: str = ""
    id: int = 0

    def state(self, at: datetime) -> tuple[str, str | None, datetime | None, datetime]:
        """(status, resolution, resolved, updated) as an export at `at` shows it."""
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
            type_ = rnd.choices(["Task", "Bug", "Improvement"], [55, 30, 15])[0]
            title = rnd.choice(OPS_TITLES[type_]).format(who=rnd.choice(["李明", "王静", "赵磊", "孙悦"]))
            prio = rnd.choices(["Highest", "High", "Medium", "Low"], [5, 20, 55, 20])[0]
            reporter = "监控告警 bot" if type_ == "Bug" and rnd.random() < 0.4 else rnd.choice(OPS_REPORTERS[:6])
            late = mi >= 10
            wait = rnd.uniform(0.05, 1.5) if not late else rnd.uniform(1, 10)
            work = {"Task": (0.1, 2.5), "Bug": (0.05, 1.5), "Improvement": (3, 15)}[type_]
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
            if mi in (7, 8) and type_ == "Improvement" and rnd.random() < 0.5:
                done = export_at + timedelta(days=5)      # stuck work: aging items in progress
            events.append((done, "Done", res))
            tickets.append(_Ticket(type_, title, created, reporter, rnd.choice(OPS_TEAM), prio,
                                   ["值班"] * (type_ == "Bug") + ["迁移"] * (late and rnd.random() < 0.4),
                                   (created + timedelta(days=3)).date() if prio in ("Highest", "High") else None,
                                   events))
    tickets.sort(key=lambda t: (t.created, t.summary))
    for n, t in enumerate(tickets, start=1):
        t.key, t.id = f"{OPS_KEY}-{n}", 52000 + n
    # A few resolved just before last month's export are reopened after it (the user came back).
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


def _ops_csv(tickets: list[_Ticket], at: datetime) -> str:
    rows = [t for t in tickets if t.created < at]
    n_lab = max(1, max(len(t.labels) for t in rows))
    header = ["Issue Type", "Issue key", "Issue id", "Summary", "Assignee", "Assignee Id", "Reporter", "Reporter Id",
              "Priority", "Status", "Resolution", "Created", "Updated", "Due date", "Resolved", *["Labels"] * n_lab]
    out = io.StringIO()
    out.write("\ufeff")                                    # Cloud's current-fields export carries a BOM
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    for t in sorted(rows, key=lambda t: -t.id):
        status, res, resolved, updated = t.state(at)
        w.writerow([t.type, t.key, t.id, t.summary, t.assignee or "", account_id(t.assignee) if t.assignee else "",
                    t.reporter, account_id(t.reporter), t.priority, status, res or "", csv_ts(t.created),
                    csv_ts(updated), csv_day(t.due) if t.due else "", csv_ts(resolved) if resolved else "",
                    *(list(t.labels) + [""] * (n_lab - len(t.labels)))])
    return out.getvalue()


# ----------------------------------------------------------------------------------------------------------
# Entry point
# ----------------------------------------------------------------------------------------------------------

def _settings(name: str, name_zh: str, name_en: str, project: dict | None = None,
              extra: dict | None = None) -> dict:
    return {"project": {"name": name, "timezone": TZ_NAME, "calendar": "CN", **(project or {})},
            "settings": {"project_name_zh": name_zh, "project_name_en": name_en, **(extra or {})}}


def _write(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8"))


def write_demo_exports(out_dir: Path, today: date) -> list[DemoFile]:
    """Write the demo's export files into `out_dir` (created if needed); the same `today` gives the same
    bytes. Returned in import order (last month's OPS export before this month's)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files: list[DemoFile] = []

    search, board, pay_counts = _pay(today)
    pay_settings = _settings(f"{PAY_NAME_ZH} {PAY_NAME_EN}", PAY_NAME_ZH, PAY_NAME_EN)
    p = out_dir / "PAY_search_expand_changelog.json"
    _write(p, json.dumps(search, ensure_ascii=False, indent=1) + "\n")
    files.append(DemoFile(p, PAY_KEY, "jira-json", pay_settings, pay_counts))
    p = out_dir / f"PAY_board_{PAY_BOARD}_sprints.json"
    _write(p, json.dumps(board, ensure_ascii=False, indent=1) + "\n")
    files.append(DemoFile(p, PAY_KEY, "jira-sprints-json", pay_settings,
                          {"sprints": len(board["values"]), "board_id": PAY_BOARD}))

    rows, erp_counts, evm = _erp(today)
    erp_settings = _settings(ERP_NAME_ZH, ERP_NAME_ZH, ERP_NAME_EN,
                             {"size_kloc": 48.0, "size_fp": 600.0, "currency": "CNY", **evm},
                             {"module_size_kloc": json.dumps(ERP_MODULES, ensure_ascii=False)})
    p = out_dir / "ERP_Jira_all_fields.csv"
    _write(p, _erp_csv(rows))
    files.append(DemoFile(p, ERP_KEY, "jira-csv", erp_settings, erp_counts))

    tickets, prev_at, now_at, reopened = _ops(today)
    ops_settings = _settings(f"{OPS_NAME_ZH} {OPS_NAME_EN}", OPS_NAME_ZH, OPS_NAME_EN)
    for at in (prev_at, now_at):
        p = out_dir / f"OPS_Jira_current_fields_{at.date().isoformat()}.csv"
        _write(p, _ops_csv(tickets, at))
        n = sum(t.created < at for t in tickets)
        files.append(DemoFile(p, OPS_KEY, "jira-csv", ops_settings,
                              {"issues": n, "exported_at": at.isoformat(),
                               "reopened_since_previous": reopened if at == now_at else []}))
    return files
