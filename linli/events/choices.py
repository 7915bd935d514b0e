from django.db import models

from linli.core.workcal import TimeUnit  # noqa: F401 - re-exported: categories count limits in these units


class HandlingLevel(models.TextChoices):
    """The escalation ladder of SPEC §4, bottom to top."""

    GRID = "grid", "网格 grid"
    COMMUNITY = "community", "社区 community"
    SUBDISTRICT = "subdistrict", "街道 sub-district"
    DISTRICT = "district", "区平台 district platform"
    DEPARTMENT = "department", "职能部门 department"


LEVEL_ORDER = [
    HandlingLevel.GRID,
    HandlingLevel.COMMUNITY,
    HandlingLevel.SUBDISTRICT,
    HandlingLevel.DISTRICT,
    HandlingLevel.DEPARTMENT,
]


class EventChannel(models.TextChoices):
    GRID_WORKER = "grid", "网格员上报 grid worker"
    BUILDING_HEAD = "building", "楼栋长/信息员 building head"
    PORTAL = "portal", "居民端 resident portal"
    HOTLINE = "hotline", "热线 hotline"
    MAILBOX = "mailbox", "信箱/门栋留言 mailbox"
    SERVICE_HALL = "hall", "服务大厅 service hall"
    API = "api", "开放接口 API/Open311"
    OTHER = "other", "其他 other"


class Priority(models.TextChoices):
    NORMAL = "normal", "一般 normal"
    URGENT = "urgent", "加急 urgent"


class EventStatus(models.TextChoices):
    REPORTED = "reported", "待受理 reported"
    ACCEPTED = "accepted", "已立案 accepted"
    REJECTED = "rejected", "不予立案 rejected"
    DISPATCHED = "dispatched", "已派遣待签收 dispatched"
    RETURNED = "returned", "已退回 returned"
    HANDLING = "handling", "处置中 handling"
    FED_BACK = "fed_back", "已反馈待核查 fed back"
    VERIFIED = "verified", "已核查 verified"
    CLOSED = "closed", "已结案 closed"
    RATED = "rated", "已评价 rated"
    ARCHIVED = "archived", "已归档 archived"
    SHELVED = "shelved", "挂账 shelved"


# A handler's clock runs in these states: they are swept for yellow/red cards and escalation.
CLOCK_STATES = frozenset(
    {
        EventStatus.REPORTED,
        EventStatus.ACCEPTED,
        EventStatus.DISPATCHED,
        EventStatus.RETURNED,
        EventStatus.HANDLING,
    }
)
# No more work on these (a rejected event can still be archived).
FINISHED_STATES = frozenset(
    {EventStatus.REJECTED, EventStatus.CLOSED, EventStatus.RATED, EventStatus.ARCHIVED}
)
OPEN_STATES = frozenset(EventStatus.values) - FINISHED_STATES


class Satisfaction(models.IntegerChoices):
    """回访/评价, the three answers 12345 hotlines use."""

    DISSATISFIED = 1, "不满意 dissatisfied"
    BASICALLY_SATISFIED = 2, "基本满意 basically satisfied"
    SATISFIED = 3, "满意 satisfied"


class StepAction(models.TextChoices):
    REPORT = "report", "上报 report"
    ACCEPT = "accept", "受理立案 accept"
    REJECT = "reject", "不予立案 reject"
    DISPATCH = "dispatch", "派遣 dispatch"
    SIGN = "sign", "签收 sign"
    RETURN = "return", "退回 return"
    START = "start", "自行处置 handle directly"
    ESCALATE = "escalate", "上报上级 escalate"
    AUTO_ESCALATE = "auto_escalate", "超时自动上报 escalated (overdue)"
    LOCALITY = "locality", "属地兜底 to the locality"
    REQUEST_EXTENSION = "request_extension", "延期申请 extension requested"
    APPROVE_EXTENSION = "approve_extension", "延期批准 extension approved"
    DENY_EXTENSION = "deny_extension", "延期驳回 extension denied"
    FEED_BACK = "feed_back", "处置反馈 fed back"
    VERIFY = "verify", "核查通过 verified"
    REWORK = "rework", "核查不通过返工 rework"
    CLOSE = "close", "结案 close"
    RATE = "rate", "回访评价 rate"
    ARCHIVE = "archive", "归档 archive"
    SHELVE = "shelve", "挂账 shelve"
    REVIEW_SHELVED = "review_shelved", "挂账复核 shelf review"
    RESUME = "resume", "恢复办理 resume"
    SHELF_DUE = "shelf_due", "挂账到期待复核 shelf review due"
    SUPERVISE = "supervise", "督办 supervise"
    EXPEDITE = "expedite", "加急 expedite"
    ARRIVE = "arrive", "到达现场 on site"
    NOTE = "note", "补充说明 note"
    YELLOW_CARD = "yellow_card", "黄牌预警 yellow card"
    RED_CARD = "red_card", "红牌超期 red card"


class CalendarDayKind(models.TextChoices):
    HOLIDAY = "holiday", "放假 holiday"
    WORKDAY = "workday", "调休上班 make-up working day"
