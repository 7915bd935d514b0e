from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.workcal import TimeUnit  # noqa: F401 - re-exported: categories count limits in these units


class HandlingLevel(models.TextChoices):
    """The escalation ladder of SPEC §4, bottom to top."""

    GRID = "grid", _("网格 grid")
    COMMUNITY = "community", _("社区 community")
    SUBDISTRICT = "subdistrict", _("街道 sub-district")
    DISTRICT = "district", _("区平台 district platform")
    DEPARTMENT = "department", _("职能部门 department")


LEVEL_ORDER = [
    HandlingLevel.GRID,
    HandlingLevel.COMMUNITY,
    HandlingLevel.SUBDISTRICT,
    HandlingLevel.DISTRICT,
    HandlingLevel.DEPARTMENT,
]


class EventChannel(models.TextChoices):
    GRID_WORKER = "grid", _("网格员上报 grid worker")
    BUILDING_HEAD = "building", _("楼栋长/信息员 building head")
    PORTAL = "portal", _("居民端 resident portal")
    HOTLINE = "hotline", _("热线 hotline")
    MAILBOX = "mailbox", _("信箱/门栋留言 mailbox")
    SERVICE_HALL = "hall", _("服务大厅 service hall")
    API = "api", _("开放接口 API/Open311")
    OTHER = "other", _("其他 other")


class Priority(models.TextChoices):
    NORMAL = "normal", _("一般 normal")
    URGENT = "urgent", _("加急 urgent")


class EventStatus(models.TextChoices):
    REPORTED = "reported", _("待受理 reported")
    ACCEPTED = "accepted", _("已立案 accepted")
    REJECTED = "rejected", _("不予立案 rejected")
    DISPATCHED = "dispatched", _("已派遣待签收 dispatched")
    RETURNED = "returned", _("已退回 returned")
    HANDLING = "handling", _("处置中 handling")
    FED_BACK = "fed_back", _("已反馈待核查 fed back")
    VERIFIED = "verified", _("已核查 verified")
    CLOSED = "closed", _("已结案 closed")
    RATED = "rated", _("已评价 rated")
    ARCHIVED = "archived", _("已归档 archived")
    SHELVED = "shelved", _("挂账 shelved")


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

    DISSATISFIED = 1, _("不满意 dissatisfied")
    BASICALLY_SATISFIED = 2, _("基本满意 basically satisfied")
    SATISFIED = 3, _("满意 satisfied")


class StepAction(models.TextChoices):
    REPORT = "report", _("上报 report")
    ACCEPT = "accept", _("受理立案 accept")
    REJECT = "reject", _("不予立案 reject")
    DISPATCH = "dispatch", _("派遣 dispatch")
    SIGN = "sign", _("签收 sign")
    RETURN = "return", _("退回 return")
    START = "start", _("自行处置 handle directly")
    ESCALATE = "escalate", _("上报上级 escalate")
    AUTO_ESCALATE = "auto_escalate", _("超时自动上报 escalated (overdue)")
    LOCALITY = "locality", _("属地兜底 to the locality")
    REQUEST_EXTENSION = "request_extension", _("延期申请 extension requested")
    APPROVE_EXTENSION = "approve_extension", _("延期批准 extension approved")
    DENY_EXTENSION = "deny_extension", _("延期驳回 extension denied")
    FEED_BACK = "feed_back", _("处置反馈 fed back")
    VERIFY = "verify", _("核查通过 verified")
    REWORK = "rework", _("核查不通过返工 rework")
    CLOSE = "close", _("结案 close")
    RATE = "rate", _("回访评价 rate")
    ARCHIVE = "archive", _("归档 archive")
    SHELVE = "shelve", _("挂账 shelve")
    REVIEW_SHELVED = "review_shelved", _("挂账复核 shelf review")
    RESUME = "resume", _("恢复办理 resume")
    SHELF_DUE = "shelf_due", _("挂账到期待复核 shelf review due")
    SUPERVISE = "supervise", _("督办 supervise")
    EXPEDITE = "expedite", _("加急 expedite")
    ARRIVE = "arrive", _("到达现场 on site")
    NOTE = "note", _("补充说明 note")
    YELLOW_CARD = "yellow_card", _("黄牌预警 yellow card")
    RED_CARD = "red_card", _("红牌超期 red card")


class CalendarDayKind(models.TextChoices):
    HOLIDAY = "holiday", _("放假 holiday")
    WORKDAY = "workday", _("调休上班 make-up working day")
