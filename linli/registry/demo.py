"""Demo data: a realistic district, built fast and reproducibly (``linli demo``).

The generator builds 湖北省武汉市汉阳区 with its real sub-districts (the ``subdistrict`` code table),
invented communities, grids, compounds, buildings, units and houses, and fills them with households
whose members hang together the way a community worker expects: one head per household, children
at least 20 years younger than their parents, spouses of similar age, valid and unique ID numbers
that agree with birth date and sex, floating residents with origin, inflow reason and residence
permit, tenants linked to their landlords, and special groups (低保, 残疾人, 党员 …) as typed
sub-records. The same seed gives the same people (on the same day: ages count back from today).

Scale follows the seeds: about 300 households per grid (社工每人包户300户), 3,000 per community and
ten communities per sub-district, so ``--people 1000000`` gives 11 sub-districts, ~120 communities
and ~1,200 grids. To make that feasible the bulk of the data is built in memory one batch of
households at a time and written with :func:`linli.core.history.bulk_create`, which also writes the
creation history. A few hundred life events (births, deaths, moves) then go through
:mod:`linli.registry.services`, so the demo also shows what those paths leave behind.
"""

import datetime as dt
import itertools
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from random import Random

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from linli.areas.choices import AreaLevel, HouseUse
from linli.areas.models import Area, Building, House, Unit
from linli.codes.models import Code
from linli.core import context
from linli.core.context import Channel
from linli.core.history import bulk_create, bulk_update
from linli.core.validators import compose_id_number

from . import services
from .choices import HEAD_RELATION, PopulationType
from .groups import validate_detail
from .models import GroupMembership, GroupType, Household, Membership, Person, Tenancy, add_years

DISTRICT_CODE = "420105"
DISTRICT_NAME = "汉阳区"
DISTRICT_PREFIX = "湖北省武汉市汉阳区"
DEFAULT_PEOPLE = 12_000  # two communities with a handful of grids each: enough to show scoping
DEFAULT_SEED = 2026
DEFAULT_BATCH_HOUSEHOLDS = 3000

PEOPLE_PER_HOUSEHOLD = 2.8
HOUSEHOLDS_PER_GRID = 300  # seed 004: 社工每人包户300户
HOUSEHOLDS_PER_COMMUNITY = 3000
COMMUNITIES_PER_SUBDISTRICT = 10
MAX_GRIDS_PER_COMMUNITY = 99  # a CJ/T 349 grid number has two digits
VACANCY = 0.08
INSERT_BATCH = 2000

# Life events that go through the service layer: enough to exercise every path, few enough to
# stay cheap (each is a handful of queries).
MIN_EVENTS, MAX_EVENTS, PEOPLE_PER_EVENT = 8, 400, 150
EVENT_SHARES = {"birth": 0.3, "death": 0.3, "move_out": 0.25, "move_in": 0.15}

DEMO_PASSWORD = "Linli@demo2026"  # noqa: S105 - the published demo password, shown by `linli accounts`
DEMO_URL = "http://127.0.0.1:8000/"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    full_name: str
    role_zh: str
    role_en: str
    role: str  # a key of accounts/data/roles.json
    level: str  # the area level the role is assigned at: the first node of that level


DEMO_ACCOUNTS = (
    DemoAccount("gridworker", "王芳", "网格员", "grid worker", "grid_worker", "grid"),
    DemoAccount("community", "李秀兰", "社区书记", "community leader", "community_leader", "community"),
    DemoAccount("staff", "陈明", "社区工作人员", "community staff", "community_staff", "community"),
    DemoAccount(
        "subdistrict", "周建华", "街道管理员", "sub-district officer", "subdistrict_officer", "subdistrict"
    ),
    DemoAccount("admin", "刘强", "系统管理员", "administrator", "admin", "district"),
    DemoAccount("auditor", "孙丽", "审计员", "auditor", "auditor", "district"),
)


# -- reference tables ---------------------------------------------------------------------------
class Weighted:
    """A weighted choice, prepared once: ``Weighted({"10": 88, "20": 7}).pick(rng)``."""

    __slots__ = ("items", "cum")

    def __init__(self, weights: dict):
        self.items = list(weights)
        self.cum = list(itertools.accumulate(weights.values()))

    def pick(self, rng: Random):
        return rng.choices(self.items, cum_weights=self.cum)[0]


def _words(text: str) -> list[str]:
    """Word tables are kept as text: easier to read and extend than long list literals."""
    return text.split()


def _weights(text: str) -> dict[str, int]:
    """``"王710 李700"`` → ``{"王": 710, "李": 700}``."""
    return {m[1]: int(m[2]) for m in re.finditer(r"(\D+?)(\d+)", text.replace(" ", "").replace("\n", ""))}


# Surnames by frequency (per ten thousand, after the 2020 household-register statistics), with the
# names common in Hubei (胡 余 万 熊 涂 程 汪 夏) weighted up. 单, 曾 and 解 are read shan, zeng and xie
# as surnames: search has to find them under those readings.
SURNAMES = Weighted(
    _weights("""
王710 李700 张674 刘510 陈461 杨322 黄245 赵219 吴200 周195 徐145 孙138 马129 朱128 胡190 郭113 何106
林102 高97 罗95 郑90 梁88 谢80 宋70 唐68 许66 韩65 冯64 邓62 曹60 彭70 曾58 肖57 田56 董55 袁54 潘53
于52 蒋51 蔡50 余80 杜48 叶47 程70 苏45 魏44 吕43 丁42 任41 沈40 姚39 卢38 姜37 崔36 钟35 谭34 陆33
汪50 范31 金30 石29 廖28 贾27 夏40 韦25 付24 方23 白22 邹21 孟20 熊45 秦19 邱19 江18 尹18 薛17 闫17
段16 雷16 侯15 龙15 史15 陶14 黎14 贺14 顾13 毛13 郝13 龚12 邵12 万30 钱11 严11 覃10 武10 戴10 莫10
孔9 向9 汤9 涂25 单8 解6 欧阳4 司马1 诸葛1
""")
)
HETERONYM_SURNAMES = ("单", "曾", "解")

MALE_CHARS = (
    "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林阳建国峰亮成东文志新海清云晨博睿泽轩航"
)
FEMALE_CHARS = "芳娜敏静丽艳娟霞秀英慧巧美婷雪琳晶燕玲桂丹萍红梅莉倩颖洁怡欣琪悦萱涵妍彤雨思佳"
# Whole given names typical of each generation: (born before 1960, 1960–89, 1990–2004, 2005 on).
ERA_NAMES = (
    {"1": _words("建国 国庆 建华 德明 志强 永福 国华 卫东 振华 建军 保国 庆华 长林 家宝 海山 金生 福林"),
     "2": _words("秀英 桂英 淑珍 玉兰 凤英 秀兰 桂兰 玉珍 翠兰 金凤 素珍 春兰 秀珍 玉梅 冬梅")},
    {"1": _words("伟 勇 军 斌 强 磊 涛 峰 刚 辉 明 杰 志刚 建平 海波 晓东 小明 文斌 红军 卫国"),
     "2": _words("丽 芳 敏 静 艳 娟 霞 红 燕 萍 丽华 晓燕 红梅 丽娟 海燕 小红 春燕 雪梅 玉洁")},
    {"1": _words("浩 鹏 宇 超 磊 鑫 帅 凯 浩然 子豪 俊杰 宇航 晨阳 志豪 文博 家豪 天宇"),
     "2": _words("婷 雪 琳 倩 颖 佳 欣怡 雨婷 佳琪 梦瑶 思雨 诗琪 雅婷 婧 晓雪")},
    {"1": _words("子轩 浩宇 宇轩 梓睿 一鸣 俊熙 沐宸 睿泽 皓轩 铭泽 奕辰 浩然 子墨 宇航 梓豪"),
     "2": _words("梓涵 欣怡 一诺 梓萱 雨桐 思涵 若汐 诗涵 语桐 可馨 佳怡 子涵 芷若 梓晴 依诺")},
)  # fmt: skip

# Foreign residents, by passport: family names, given names by sex, passport number prefix, country.
FOREIGN = {
    "KOR": (_words("KIM LEE PARK CHOI JUNG KANG"), {"1": _words("MINJUN JIHO SEOJUN DOYUN"),
            "2": _words("SEOYEON JIWOO HAEUN SUAH")}, "M", "韩国"),
    "JPN": (_words("SATO SUZUKI TAKAHASHI TANAKA ITO"), {"1": _words("HARUTO SOTA YUTO REN"),
            "2": _words("YUI HINA AOI MIO")}, "TK", "日本"),
    "USA": (_words("SMITH JOHNSON BROWN MILLER DAVIS"), {"1": _words("JOHN DAVID MICHAEL JAMES"),
            "2": _words("MARY EMMA SARAH OLIVIA")}, "A", "美国"),
    "DEU": (_words("MUELLER SCHMIDT WEBER WAGNER"), {"1": _words("LUKAS FELIX JONAS"),
            "2": _words("ANNA LENA MARIE")}, "C", "德国"),
    "FRA": (_words("MARTIN BERNARD DUBOIS LEROY"), {"1": _words("LUCAS LOUIS HUGO"),
            "2": _words("CLAIRE CHLOE LEA")}, "FR", "法国"),
}  # fmt: skip
NATIONALITIES = Weighted({"KOR": 35, "JPN": 20, "USA": 20, "DEU": 15, "FRA": 10})

COMMUNITY_STEMS = _words("""
龟山 晴川 月湖 琴台 鹦鹉 知音 归元 钟家村 显正 西大街 古琴 梅子山 汉阳树 江欣苑 四新 芳草 墨水湖 国博 江城 五里
翠微 拦江 龙阳 永丰 洲头 江堤 建桥 汉桥 二桥 琴断口 米粮 玉龙 十升 郭茨口 七里 黄金口 马鹦 赫山 仙山 太子湖
三里坡 夹河 汉中 杨泗 腰路堤 铁桥 伯牙 莲花湖 锦绣 新城 阳光 和平 安澜 杨柳 桃花 紫荆 丹桂 芙蓉 丁香 玉兰
银杏 梧桐 翠竹 青松 枫林 荷塘 月亮湾 凤凰 麒麟 龙泉 福星 兴隆 长丰 长江 汉江 滨江 江景 南岸 东城 西城
南湖 北湖 红星 红旗 光明 幸福 团结 友谊 建设 胜利 前进 民主 和谐 文明 华中 荆楚 楚天 江汉 晴园 柳营
赵家条 徐家湾 李家墩 王家湾 陈家湾 张家湾 刘家墩 沌阳 德胜 拦江堤 马沧湖 琴川 鹦鹉洲 江滩 汉阳村
""")
ROADS = _words("""
汉阳大道 鹦鹉大道 龙阳大道 墨水湖北路 墨水湖南路 芳草路 江城大道 四新北路 四新南路 五里墩路 琴台大道 翠微路
拦江路 汉阳大街 归元寺路 显正街 西大街 晴川大道 十升路 二桥路 滨江大道 杨泗港路 知音西路 龟山北路 龟山南路
鹦鹉洲大道 玉龙路 七里庙路 郭茨口路 马鹦路
""")
PROPERTY_COMPANIES = ("武汉万科物业服务有限公司", "武汉保利物业服务有限公司", "武汉中建物业管理有限公司",
                      "武汉福星物业管理有限公司", "武汉城建物业管理有限公司", "湖北联投物业服务有限公司",
                      "华润万象生活武汉分公司")  # fmt: skip
SHOP_OWNERS = ("商贸有限公司", "餐饮管理有限公司", "便利店", "药房", "超市", "五金店", "理发店")
EMPLOYERS = ("汉阳区人民政府", "武汉市第五医院", "汉阳区教育局", "东风汽车集团有限公司", "中建三局集团有限公司",
             "武汉地铁集团有限公司", "国网武汉供电公司", "武汉市水务集团有限公司", "中国工商银行武汉汉阳支行",
             "汉阳区人民医院", "汉阳区琴台中学", "武汉经济技术开发区管委会")  # fmt: skip
ELSEWHERE = ("湖北省武汉市洪山区", "湖北省武汉市武昌区", "湖北省武汉市江夏区", "湖北省宜昌市", "湖北省襄阳市",
             "广东省深圳市", "广东省广州市", "上海市浦东新区", "北京市海淀区", "浙江省杭州市", "江苏省苏州市")  # fmt: skip
ORIGIN_TOWNS = _words("王庄 李集 新店 白沙 三河 石桥 高桥 长岗 河口 杨林 龙泉 双河 马店 南湖 柳林")

MOBILE_PREFIXES = _words("134 135 136 137 138 139 150 151 152 157 158 159 182 183 187 188 130 131 132 155 156 "
                         "185 186 133 153 180 181 189 177 199 166 176 198")  # fmt: skip

ETHNICITY = Weighted({"01": 960, "15": 15, "03": 10, "06": 5, "11": 3, "08": 3, "02": 2, "10": 2})
RELIGION = Weighted({"0": 920, "1": 40, "5": 20, "4": 5, "2": 5, "9": 10})
MARRIED = Weighted({"20": 80, "21": 15, "22": 5})
MARITAL_ELDER_ALONE = Weighted({"30": 75, "40": 10, "10": 15})
MARITAL_SINGLE_ADULT = Weighted({"10": 50, "40": 45, "30": 5})
CHILD_COUNT = Weighted({1: 65, 2: 30, 3: 5})
EDUCATION_BY_COHORT = (  # born before 1965, 1965–84, 1985 on
    Weighted({"21": 5, "31": 5, "61": 20, "41": 5, "71": 35, "81": 22, "83": 3, "90": 5}),
    Weighted({"14": 2, "21": 15, "31": 15, "61": 25, "41": 6, "44": 2, "47": 2, "71": 28, "81": 5}),
    Weighted({"14": 6, "21": 35, "31": 22, "61": 15, "41": 4, "44": 3, "47": 3, "71": 12}),
)
EDUCATION_FOREIGN = Weighted({"21": 50, "14": 25, "11": 5, "31": 10, "61": 10})
WORK = Weighted({"企业职员": 20, "工人": 10, "个体工商户": 8, "教师": 4, "医护人员": 4, "公务员": 2,
                 "工程技术人员": 6, "销售人员": 6, "司机": 4, "餐饮服务": 4, "快递员": 3, "保安": 2, "保洁": 2,
                 "自由职业": 5, "灵活就业": 5, "无业": 5})  # fmt: skip
WORK_FLOATING = Weighted({"务工": 20, "建筑工人": 10, "个体工商户": 12, "餐饮服务": 10, "快递员": 8, "外卖骑手": 8,
                          "家政服务": 5, "销售人员": 8, "企业职员": 10, "司机": 5, "无业": 4})  # fmt: skip
WORK_FOREIGN = Weighted({"外企职员": 40, "外籍教师": 20, "留学生": 25, "商人": 15})
FOREIGN_INFLOW = {"留学生": "05", "商人": "02"}
INFLOW_REASON = Weighted({"01": 55, "02": 20, "04": 8, "05": 5, "07": 4, "08": 2, "09": 1, "99": 1})
PERMIT = Weighted({"1": 60, "2": 10, "9": 30})
DISABILITY_CATEGORY = Weighted({"4": 50, "1": 12, "2": 13, "3": 1, "5": 7, "6": 8, "7": 9})
DISABILITY_GRADE = Weighted({"1": 10, "2": 20, "3": 30, "4": 40})
CHRONIC = Weighted({"高血压": 45, "2型糖尿病": 20, "冠心病": 10, "慢性阻塞性肺疾病": 8, "脑卒中后遗症": 7,
                    "慢性肾病": 4, "类风湿性关节炎": 6})  # fmt: skip
ENTITLED = Weighted({"伤残军人": 20, "带病回乡退伍军人": 25, "在乡复员军人": 35, "参战参试退役人员": 20})
RISK_LEVEL = Weighted({"0": 60, "1": 25, "2": 10, "3": 5})
DEMOCRATIC_PARTIES = ("04", "05", "06", "07", "08", "09", "10", "12")

# Household compositions and their weights, per population type. Together they give about 2.8 people
# per registered household and about 2 per floating one.
KINDS = {
    PopulationType.REGISTERED: Weighted({"single_elder": 9, "elder_couple": 13, "single": 9, "couple": 10,
                                         "nuclear": 33, "three_gen_up": 12, "three_gen_down": 10,
                                         "single_parent": 4, "siblings": 2}),
    PopulationType.FLOATING: Weighted({"single": 40, "couple": 25, "nuclear": 25, "shared": 7, "three_gen_up": 3}),
    PopulationType.FOREIGN: Weighted({"single": 6, "couple": 3, "nuclear": 1}),
}  # fmt: skip
# Household-level shares chosen so that persons come out ~80 % 户籍, ~18 % 流动, ~1 % 境外.
POPULATION = Weighted(
    {PopulationType.REGISTERED: 745, PopulationType.FLOATING: 235, PopulationType.FOREIGN: 20}
)
# Head's age range per composition: (registered, floating or foreign).
HEAD_AGES = {
    "single": ((22, 59), (18, 50)),
    "couple": ((22, 59), (20, 50)),
    "nuclear": ((25, 58), (24, 45)),
    "three_gen_up": ((28, 55), (26, 42)),
    "three_gen_down": ((55, 82), (55, 82)),
    "single_parent": ((30, 55), (30, 55)),
    "siblings": ((25, 70), (25, 70)),
    "shared": ((18, 35), (18, 35)),
}

# GB/T 4761: 兄 71, 弟 73, 姐姐 75, 妹妹 77, keyed by (sex, older than the head).
SIBLING_RELATION = {("1", True): "71", ("1", False): "73", ("2", True): "75", ("2", False): "77"}

ONE_DAY = dt.timedelta(days=1)


# -- plan ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scale:
    """How big the tree is for a number of people (small demos get a small tree, never an empty one)."""

    people: int
    households: int
    subdistricts: int
    communities: int
    grids_per_community: int

    @classmethod
    def for_people(cls, people: int, available_subdistricts: int) -> "Scale":
        households = max(1, round(people / PEOPLE_PER_HOUSEHOLD))
        communities = max(1, round(households / HOUSEHOLDS_PER_COMMUNITY))
        grids = max(1, min(MAX_GRIDS_PER_COMMUNITY, round(households / communities / HOUSEHOLDS_PER_GRID)))
        subdistricts = max(
            1, min(available_subdistricts, math.ceil(communities / COMMUNITIES_PER_SUBDISTRICT))
        )
        return cls(people, households, subdistricts, communities, grids)

    @property
    def grids(self) -> int:
        return self.communities * self.grids_per_community


@dataclass
class CommunityCtx:
    area: Area
    stem: str
    roads: list[str]
    households: int = 0  # 户号 sequence within the community


@dataclass
class GridCtx:
    area: Area
    community: CommunityCtx


@dataclass
class Spec:
    """One member of a household being composed, before it becomes a :class:`Person`."""

    relation: str
    sex: str
    age: int
    surname: str
    marital: str
    role: str  # head, spouse, child, parent, child_spouse, grandchild, sibling, lodger


@dataclass
class Draft:
    """A household built in memory; rows are created from it when its batch is written."""

    grid: GridCtx
    kind: str
    population: str
    since: dt.date
    renting: bool
    origin_region: str = ""
    origin_address: str = ""
    nationality: str = "CHN"
    members: list[tuple[Person, Spec]] = field(default_factory=list)
    house: House | None = None
    household: Household | None = None

    @property
    def head(self) -> Person:
        return self.members[0][0]

    def spouse(self) -> Person | None:
        return next((p for p, s in self.members if s.role == "spouse"), None)


@dataclass
class Slot:
    """A room in a planned building, before its :class:`House` row exists."""

    building: Building
    unit: Unit
    room: str
    floor: int
    area: Decimal
    commercial: bool


class Sample:
    """A fixed-size uniform sample of a stream (reservoir sampling): life-event candidates cost
    O(size) memory however many people are generated, and stay reproducible under the seed."""

    def __init__(self, size: int, rng: Random):
        self.size, self.rng, self.seen, self.items = size, rng, 0, []

    def offer(self, item) -> None:
        self.seen += 1
        if len(self.items) < self.size:
            self.items.append(item)
        else:
            j = self.rng.randrange(self.seen)
            if j < self.size:
                self.items[j] = item


@dataclass
class DemoSummary:
    seed: int
    people_requested: int
    scale: Scale
    persons: int = 0
    households: int = 0
    rows: int = 0
    life_events: int = 0
    skipped_events: int = 0
    elapsed: float = 0.0


# -- generator ----------------------------------------------------------------------------------
class DemoGenerator:
    """Builds the demo district. Use :func:`generate`; the class keeps the state of one run."""

    def __init__(self, people: int = DEFAULT_PEOPLE, *, seed: int = DEFAULT_SEED,
                 batch_households: int = DEFAULT_BATCH_HOUSEHOLDS, log: Callable[[str], None] | None = None,
                 today: dt.date | None = None):  # fmt: skip
        if people < 1:
            raise ValueError("people must be at least 1")
        self.people = people
        self.seed = seed
        self.batch_households = max(1, batch_households)
        self.log = log or (lambda message: None)
        self.today = today or dt.date.today()
        self.rng = Random(seed)
        self._ids: set[int] = set()  # (region, birth date, sequence) of every ID number issued
        self._passports: set[str] = set()
        self._road_numbers: dict[str, int] = {}
        self._contracts = itertools.count(1)
        # The first Chinese surnames drawn are the heteronyms, so even a tiny demo can show that
        # 单 is found under "shan", 曾 under "zeng" and 解 under "xie".
        self._forced_surnames = list(HETERONYM_SURNAMES)
        self._chinese_names = True
        self._pending_groups: list[GroupMembership] = []
        events = min(MAX_EVENTS, max(MIN_EVENTS, people // PEOPLE_PER_EVENT))
        self.samples = {
            kind: Sample(max(1, round(events * share)), self.rng) for kind, share in EVENT_SHARES.items()
        }

    # -- run ----------------------------------------------------------------------------------
    def run(self) -> DemoSummary:
        started = time.perf_counter()
        with context.acting(user=None, channel=Channel.DEMO):
            self._load_reference()
            grids = self._build_tree()
            create_demo_users(Area.objects.get(code=DISTRICT_CODE))
            summary = DemoSummary(self.seed, self.people, self.scale)
            self._populate(grids, summary, started)
            self._life_events(summary)
        summary.elapsed = time.perf_counter() - started
        return summary

    def _load_reference(self) -> None:
        rows = list(
            Code.objects.filter(table__key="region", active=True).values_list("code", "name", "parent_code")
        )
        names = {code: name for code, name, _ in rows}
        parents = {code: parent for code, _, parent in rows}
        wuhan = [c for c, _, p in rows if p == "420100" and c != DISTRICT_CODE]
        hubei = [c for c, _, p in rows if (p == "420000" and c not in ("420100", "429000")) or p == "429000"]
        # 71/81/82 residents do not hold mainland ID numbers; they would come as 境外/港澳台 records.
        provinces = [
            c for c, _, p in rows if not p and c.endswith("0000") and c[:2] not in ("42", "71", "81", "82")
        ]
        if not (wuhan and hubei and provinces):
            raise RuntimeError("the region code table is incomplete: run `linli init` first")
        self.region_names = names
        self.region_parents = parents
        # Where registered residents were born (their ID number's region) and where floating ones come from.
        self.id_region = {
            "home": [DISTRICT_CODE],
            "wuhan": wuhan,
            "hubei": hubei,
            "province": provinces,
        }
        self.id_region_mix = Weighted({"home": 60, "wuhan": 15, "hubei": 17, "province": 8})
        self.origin_mix = Weighted({"hubei": 60, "province": 40})
        self.subdistricts = list(
            Code.objects.filter(table__key="subdistrict", parent_code=DISTRICT_CODE, active=True)
            .order_by("code")
            .values_list("code", "name")
        )
        if not self.subdistricts:
            raise RuntimeError("the subdistrict code table has no rows for 420105: run `linli init` first")
        self.group_types = {gt.key: gt for gt in GroupType.objects.filter(active=True, min_age__isnull=True)}
        self.scale = Scale.for_people(self.people, len(self.subdistricts))

    # -- area tree ----------------------------------------------------------------------------
    def _build_tree(self) -> list[GridCtx]:
        scale, r = self.scale, self.rng
        grids: list[GridCtx] = []
        stems = self._community_names(scale.communities)
        per_sub = [scale.communities // scale.subdistricts] * scale.subdistricts
        for i in range(scale.communities % scale.subdistricts):
            per_sub[i] += 1
        columns = math.ceil(math.sqrt(scale.grids))
        with transaction.atomic():
            district = Area.objects.add_root(
                instance=Area(level=AreaLevel.DISTRICT, name=DISTRICT_NAME, code=DISTRICT_CODE)
            )
            stem_iter = iter(stems)
            for (code, name), count in zip(self.subdistricts, per_sub, strict=False):
                sub = district.add_area(name=name, code=code)
                for k in range(1, count + 1):
                    stem = next(stem_iter)
                    area = sub.add_area(name=f"{stem}社区", code=f"{code}{k:03d}")
                    roads = [f"{stem}{r.choice(('路', '街', '北路', '南路'))}", *r.sample(ROADS, 2)]
                    community = CommunityCtx(area, stem, roads)
                    for g in range(1, scale.grids_per_community + 1):
                        lat, lng, boundary = self._grid_geometry(len(grids), columns)
                        grid = area.add_area(name=f"{stem}{g}号网格", grid_number=g, centre_lat=lat,
                                             centre_lng=lng, boundary=boundary)  # fmt: skip
                        grids.append(GridCtx(grid, community))
        self.log(
            f"区划 areas: {scale.subdistricts} 街道 sub-districts, {scale.communities} 社区 communities, "
            f"{len(grids)} 网格 grids"
        )
        return grids

    def _community_names(self, count: int) -> list[str]:
        stems = self.rng.sample(COMMUNITY_STEMS, len(COMMUNITY_STEMS))
        names = list(stems)
        for suffix in "东西南北新中":
            names += [f"{s}{suffix}" for s in stems]
        for n in itertools.count(2):
            if len(names) >= count:
                break
            names += [f"{s}第{n}" for s in stems]
        return names[:count]

    @staticmethod
    def _grid_geometry(index: int, columns: int):
        """A square cell of a lattice over 汉阳: enough for a map to show grids side by side."""
        cell, lat0, lng0 = 0.004, 30.50, 114.14
        row, col = divmod(index, columns)
        south, west = lat0 + row * cell, lng0 + col * cell
        north, east = round(south + cell, 6), round(west + cell, 6)
        south, west = round(south, 6), round(west, 6)
        ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
        centre = (Decimal(f"{south + cell / 2:.6f}"), Decimal(f"{west + cell / 2:.6f}"))
        return centre[0], centre[1], {"type": "Polygon", "coordinates": [ring]}

    # -- population ---------------------------------------------------------------------------
    def _populate(self, grids: list[GridCtx], summary: DemoSummary, started: float) -> None:
        batch: list[tuple[GridCtx, list[Draft]]] = []
        pending = planned = batches = 0
        for i, grid in enumerate(grids):
            # Each grid gets its share of the requested people, so the total lands on N.
            target = round(self.people * (i + 1) / len(grids)) - planned
            drafts = []
            people = 0
            while people < target or not drafts:
                draft = self._household(grid)
                drafts.append(draft)
                people += len(draft.members)
            planned += people
            batch.append((grid, drafts))
            pending += len(drafts)
            if pending >= self.batch_households or i == len(grids) - 1:
                summary.rows += self._write(batch, summary)
                batches += 1
                elapsed = time.perf_counter() - started
                self.log(
                    f"  批次 batch {batches} · 人员 persons {summary.persons:,}"
                    f"/{self.people:,} · 户 households {summary.households:,} · 行 rows {summary.rows:,} · "
                    f"{summary.rows / elapsed:,.0f} 行/秒 rows/s · {elapsed:.1f} s"
                )
                batch, pending = [], 0

    def _household(self, grid: GridCtx) -> Draft:
        r = self.rng
        population = POPULATION.pick(r)
        kind = KINDS[population].pick(r)
        self._chinese_names = population != PopulationType.FOREIGN
        specs = self._compose(kind, population)
        head = specs[0]
        registered = population == PopulationType.REGISTERED
        if registered:
            years = max(1, min(30, head.age - 18))
            since = self.today - dt.timedelta(days=r.randint(365, years * 365))
        else:
            days = max(30, min(10 * 365, (head.age - 16) * 365))
            since = self.today - dt.timedelta(days=r.randint(30, days))
        draft = Draft(grid, kind, population, since, renting=not registered or r.random() < 0.08)
        if population == PopulationType.FLOATING:
            draft.origin_region = r.choice(self.id_region[self.origin_mix.pick(r)])
            draft.origin_address = (
                f"{self._region_full_name(draft.origin_region)}{r.choice(ORIGIN_TOWNS)}镇"
                f"{r.choice(ORIGIN_TOWNS)}村{r.randint(1, 12)}组"
            )
        elif population == PopulationType.FOREIGN:
            draft.nationality = NATIONALITIES.pick(r)
            draft.origin_address = FOREIGN[draft.nationality][3]
        latin: dict[str, str] = {}
        ethnicity = ETHNICITY.pick(r)
        for spec in specs:
            person = self._person(spec, draft, latin, ethnicity)
            draft.members.append((person, spec))
            self._groups(person, spec, draft)
        self._household_groups(draft)
        self._offer_candidates(draft)
        return draft

    # -- household composition ----------------------------------------------------------------
    def _compose(self, kind: str, population: str) -> list[Spec]:
        r = self.rng
        young = population != PopulationType.REGISTERED
        if kind == "single_elder":
            sex = "2" if r.random() < 0.6 else "1"
            age = min(100, int(r.triangular(65, 98, 74)))
            return [Spec(HEAD_RELATION, sex, age, self._surname(), MARITAL_ELDER_ALONE.pick(r), "head")]
        if kind == "elder_couple":
            head = Spec(HEAD_RELATION, "1" if r.random() < 0.75 else "2", r.randint(60, 90), self._surname(),
                        MARRIED.pick(r), "head")  # fmt: skip
            return [head, self._spouse(head)]
        lo, hi = HEAD_AGES[kind][young]
        head_age = r.randint(lo, hi)
        if kind == "single":
            sex = "1" if r.random() < (0.6 if young else 0.55) else "2"
            marital = "10" if head_age < 30 else MARITAL_SINGLE_ADULT.pick(r)
            return [Spec(HEAD_RELATION, sex, head_age, self._surname(), marital, "head")]
        if kind == "shared":
            head = Spec(HEAD_RELATION, r.choice("12"), head_age, self._surname(), "10", "head")
            lodgers = [
                Spec("99", head.sex if r.random() < 0.8 else r.choice("12"), r.randint(18, 40), self._surname(),
                     "10" if r.random() < 0.8 else "20", "lodger")
                for _ in range(r.randint(1, 3))
            ]  # fmt: skip
            return [head, *lodgers]
        if kind == "siblings":
            head = Spec(
                HEAD_RELATION, r.choice("12"), head_age, self._surname(), MARITAL_SINGLE_ADULT.pick(r), "head"
            )
            sex = r.choice("12")
            age = max(18, head_age + r.choice((-1, 1)) * r.randint(1, 12))
            older = age > head_age
            relation = SIBLING_RELATION[sex, older]
            return [head, Spec(relation, sex, age, head.surname, MARITAL_SINGLE_ADULT.pick(r), "sibling")]
        if kind == "single_parent":
            head = Spec(HEAD_RELATION, "2" if r.random() < 0.7 else "1", head_age, self._surname(),
                        Weighted({"40": 70, "30": 30}).pick(r), "head")  # fmt: skip
            surname = head.surname if head.sex == "1" else self._surname()
            return [head, *self._children([head], surname)]
        sex = "1" if r.random() < 0.7 else "2"
        head = Spec(HEAD_RELATION, sex, head_age, self._surname(), MARRIED.pick(r), "head")
        members = [head]
        spouse = None
        with_spouse = {"couple": 1.0, "nuclear": 1.0, "three_gen_up": 0.9, "three_gen_down": 0.75}[kind]
        if r.random() < with_spouse:
            spouse = self._spouse(head)
            members.append(spouse)
        else:
            head.marital = Weighted({"30": 50, "40": 50}).pick(r)
        family_surname = head.surname if head.sex == "1" or spouse is None else spouse.surname
        if kind in ("nuclear", "three_gen_up"):
            members += self._children([head, *([spouse] if spouse else [])], family_surname)
        if kind == "three_gen_up":
            members += self._elders(head, spouse)
        elif kind == "three_gen_down":
            members += self._younger_generations(head, spouse, family_surname)
        return members

    def _spouse(self, head: Spec) -> Spec:
        r = self.rng
        sex = "2" if head.sex == "1" else "1"
        gap = max(-15, min(15, round(r.gauss(2.5, 3))))  # husbands are usually a little older
        age = head.age - gap if head.sex == "1" else head.age + gap
        age = max(head.age - 15, min(head.age + 15, max(20 if sex == "2" else 22, min(100, age))))
        relation = "10" if r.random() < 0.4 else ("12" if sex == "2" else "11")
        return Spec(relation, sex, age, self._surname(), MARRIED.pick(r), "spouse")

    def _children(self, parents: list[Spec], surname: str, *, max_age: int = 32) -> list[Spec]:
        """Children at least 20 years younger than either parent, born before their mother turned 42."""
        r = self.rng
        lo = max(0, max(p.age for p in parents) - 42)
        hi = min(max_age, min(p.age for p in parents) - 20)
        if lo > hi:
            return []
        count = CHILD_COUNT.pick(r)
        ages = sorted((r.randint(lo, hi) for _ in range(count)), reverse=True)
        specific = r.random() < 0.6  # many registers use 22 长子 / 31 独生女 …, others just 20 / 30
        sons = daughters = 0
        children = []
        for age in ages:
            sex = r.choice("12")
            if sex == "1":
                relation = ("21" if count == 1 else "2" + str(min(sons + 2, 6))) if specific else "20"
                sons += 1
            else:
                relation = ("31" if count == 1 else "3" + str(min(daughters + 2, 6))) if specific else "30"
                daughters += 1
            children.append(Spec(relation, sex, age, surname, "10", "child"))
        return children

    def _elders(self, head: Spec, spouse: Spec | None) -> list[Spec]:
        """The head's own parents (51/52), or the spouse's (岳父母 55/56 or 公婆 53/54)."""
        r = self.rng
        own = spouse is None or r.random() < 0.65
        base = head if own else spouse
        father_code, mother_code = (
            ("51", "52") if own else (("55", "56") if head.sex == "1" else ("53", "54"))
        )
        oldest_child = max(head.age, base.age)
        father_age = max(base.age + r.randint(22, 34), oldest_child + 20)
        mother_age = max(father_age - r.randint(0, 5), oldest_child + 20)
        which = Weighted({"both": 40, "mother": 42, "father": 18}).pick(r)
        marital = MARRIED.pick(r) if which == "both" else "30"
        elders = []
        if which in ("both", "father") and father_age <= 100:
            elders.append(Spec(father_code, "1", father_age, base.surname, marital, "parent"))
        if which in ("both", "mother") and mother_age <= 100:
            elders.append(Spec(mother_code, "2", mother_age, self._surname(), marital, "parent"))
        return elders

    def _younger_generations(self, head: Spec, spouse: Spec | None, surname: str) -> list[Spec]:
        """An adult child living with the elderly head, perhaps with spouse and children (三代同堂)."""
        r = self.rng
        parents = [head, *([spouse] if spouse else [])]
        lo = max(20, max(p.age for p in parents) - 40)
        hi = min(p.age for p in parents) - 22
        if lo > hi:
            return []
        son = r.random() < 0.7
        sex = "1" if son else "2"
        relation = ("22" if r.random() < 0.5 else "20") if son else ("32" if r.random() < 0.5 else "30")
        child = Spec(relation, sex, r.randint(lo, hi), surname, "10", "child")
        members = [child]
        in_law = None
        if r.random() < 0.75:
            child.marital = MARRIED.pick(r)
            age = max(20 if son else 22, min(head.age - 18, child.age + r.randint(-3, 4)))
            # 38 儿媳 (son's wife) / 28 女婿 (daughter's husband): counted with the children, so also
            # at least 16 years younger than the head.
            in_law = Spec("38" if son else "28", "2" if son else "1", age, self._surname(), child.marital,
                          "child_spouse")  # fmt: skip
            members.append(in_law)
        elif child.age >= 30 and r.random() < 0.3:
            child.marital = "40"
        if in_law is not None:
            grand_surname = child.surname if son else in_law.surname
            generic = r.random() < 0.3
            for grandchild in self._children([child, in_law], grand_surname, max_age=25):
                if generic:
                    grandchild.relation = "40"
                elif son:
                    grandchild.relation = "41" if grandchild.sex == "1" else "42"
                else:
                    grandchild.relation = "43" if grandchild.sex == "1" else "44"
                grandchild.role = "grandchild"
                members.append(grandchild)
        return members

    # -- persons ------------------------------------------------------------------------------
    def _surname(self) -> str:
        if self._forced_surnames and self._chinese_names:
            return self._forced_surnames.pop(0)
        return SURNAMES.pick(self.rng)

    def _given_name(self, sex: str, year: int) -> str:
        r = self.rng
        if r.random() < 0.5:
            era = 0 if year < 1960 else 1 if year < 1990 else 2 if year < 2005 else 3
            return r.choice(ERA_NAMES[era][sex])
        chars = MALE_CHARS if sex == "1" else FEMALE_CHARS
        return r.choice(chars) if r.random() < 0.3 else r.choice(chars) + r.choice(chars)

    def _outsider_name(self) -> str:
        """The name of an owner who is not registered here."""
        return SURNAMES.pick(self.rng) + self._given_name(self.rng.choice("12"), self.rng.randint(1950, 1995))

    def _birth(self, age: int) -> dt.date:
        latest = add_years(self.today, -age)
        earliest = add_years(self.today, -(age + 1)) + ONE_DAY
        return earliest + dt.timedelta(days=self.rng.randrange((latest - earliest).days + 1))

    def _id_number(self, region: str, birth: dt.date, sex: str) -> str:
        """A valid number, unique in this run: odd sequence for men, even for women (GB 11643)."""
        base = (int(region) * 1_000_000 + birth.toordinal()) * 1000
        parity = 1 if sex == "1" else 0
        for _ in range(200):
            sequence = self.rng.randrange(500) * 2 + parity
            if base + sequence not in self._ids:
                self._ids.add(base + sequence)
                return compose_id_number(region, birth, sequence)
        raise RuntimeError(f"no free ID sequence left for {region} {birth}")

    def _passport(self, nationality: str) -> str:
        prefix = FOREIGN[nationality][2]
        while True:
            number = f"{prefix}{self.rng.randrange(10**7, 10**8)}"
            if number not in self._passports:
                self._passports.add(number)
                return number

    def _phone(self) -> str:
        return f"{self.rng.choice(MOBILE_PREFIXES)}{self.rng.randrange(10**8):08d}"

    def _region_full_name(self, code: str) -> str:
        """``429004`` → 湖北省仙桃市: the names up the tree, without grouping rows."""
        parts = []
        while code:
            name = self.region_names.get(code, "")
            if name and name not in ("省直辖县级行政区划", "市辖区"):
                parts.append(name)
            code = self.region_parents.get(code, "")
        return "".join(reversed(parts))

    def _education(self, age: int, birth_year: int, population: str) -> str:
        if age < 16:
            return ""
        if age < 19:
            return "71"
        if age < 23:
            return "61"
        if population == PopulationType.FOREIGN:
            return EDUCATION_FOREIGN.pick(self.rng)
        cohort = 0 if birth_year < 1965 else 1 if birth_year < 1985 else 2
        if population == PopulationType.FLOATING:
            cohort = max(0, cohort - 1)  # floating workers tend to have less schooling
        return EDUCATION_BY_COHORT[cohort].pick(self.rng)

    def _political(self, age: int) -> str:
        r = self.rng
        if age < 14:
            return ""
        party = 0.03 if age < 30 else 0.065 if age < 60 else 0.10
        if age >= 18 and r.random() < party:
            return "02" if age < 35 and r.random() < 0.15 else "01"
        if age <= 28 and r.random() < 0.45:
            return "03"
        if age >= 25 and r.random() < 0.004:
            return r.choice(DEMOCRATIC_PARTIES)
        return "13"

    def _occupation(self, age: int, sex: str, population: str) -> tuple[str, str]:
        r = self.rng
        if age < 6:
            return "", ""
        if age < 18 or (age < 23 and r.random() < 0.6):
            return "学生", ""
        if age >= (60 if sex == "1" else 55):
            return "离退休人员", ""
        if population == PopulationType.FOREIGN:
            return WORK_FOREIGN.pick(r), ""
        if population == PopulationType.FLOATING:
            return WORK_FLOATING.pick(r), ""
        job = WORK.pick(r)
        employer = (
            r.choice(EMPLOYERS) if job not in ("无业", "自由职业", "灵活就业") and r.random() < 0.25 else ""
        )
        return job, employer

    def _person(self, spec: Spec, draft: Draft, latin: dict[str, str], ethnicity: str) -> Person:
        r = self.rng
        grid = draft.grid.area
        age, sex = spec.age, spec.sex
        birth = self._birth(age)
        population = draft.population
        occupation, employer = self._occupation(age, sex, population)
        fields = {
            "area": grid,
            "area_path": grid.path,
            "sex": sex,
            "birth_date": birth,
            "population_type": population,
            "marital_status": spec.marital if age >= 20 else "10",
            "education": self._education(age, birth.year, population),
            "political_status": self._political(age) if population != PopulationType.FOREIGN else "",
            "occupation": occupation,
            "employer": employer,
            "phone": self._phone() if age >= 16 and r.random() < (0.9 if age < 70 else 0.7 if age < 80 else 0.4) else "",
        }  # fmt: skip
        if population == PopulationType.FOREIGN:
            families, given, _, _ = FOREIGN[draft.nationality]
            family = latin.setdefault(spec.surname, r.choice(families))
            fields.update(
                name=f"{family} {r.choice(given[sex])}",
                id_type="414",
                id_number=self._passport(draft.nationality),
                nationality=draft.nationality,
                ethnicity="",
                residence_status="40",
                origin_address=draft.origin_address,
                inflow_reason=FOREIGN_INFLOW.get(
                    occupation, "06" if spec.role in ("spouse", "child") else "01"
                ),
                inflow_date=max(birth, draft.since),
            )
            return Person(**fields)
        fields["name"] = spec.surname + self._given_name(sex, birth.year)
        fields["ethnicity"] = ethnicity if spec.role == "head" or r.random() < 0.9 else ETHNICITY.pick(r)
        fields["religion"] = "3" if fields["ethnicity"] == "03" and r.random() < 0.9 else RELIGION.pick(r)
        if r.random() < 0.01 and age >= 18:
            fields["former_name"] = spec.surname + self._given_name(sex, birth.year)
        if population == PopulationType.FLOATING:
            region = draft.origin_region
            if spec.role == "head" or spec.role == "lodger":
                reason = INFLOW_REASON.pick(r)
            elif spec.role == "spouse":
                reason = "01" if r.random() < 0.7 else "06"
            else:
                reason = "06" if spec.role == "child" else "07"
            permit = PERMIT.pick(r) if age >= 16 else "9"
            expiry = None
            if permit == "1":
                expiry = self.today + dt.timedelta(days=r.randint(-60, 700))
            elif permit == "2":
                expiry = self.today + dt.timedelta(days=r.randint(-30, 180))
            fields.update(
                registered_region=region,
                registered_address=draft.origin_address,
                origin_region=region,
                origin_address=draft.origin_address,
                residence_status="40",
                inflow_reason=reason,
                inflow_date=max(birth, draft.since),
                residence_permit_type=permit,
                residence_permit_expiry=expiry,
            )
        else:
            region = (
                DISTRICT_CODE
                if age < 20 and r.random() < 0.8
                else r.choice(self.id_region[self.id_region_mix.pick(r)])
            )
            status = "10"
            if 18 <= age <= 45 and r.random() < 0.06:
                status = "30"  # registered here, working or studying elsewhere
            elif r.random() < 0.05:
                status = "20"
            fields.update(registered_region=DISTRICT_CODE, residence_status=status)
            if status == "30":
                fields["current_address"] = r.choice(ELSEWHERE)
        fields["id_type"] = "111"
        fields["id_number"] = self._id_number(region, birth, sex)
        return Person(**fields)

    # -- special groups -----------------------------------------------------------------------
    def _join(self, person: Person, key: str, *, years: int = 10, **detail) -> None:
        gt = self.group_types.get(key)
        if gt is None:
            return  # an administrator retired this group type
        start = self._start_date(person.birth_date, years)
        self._pending_groups.append(
            GroupMembership(person=person, group_type=gt, area=person.area, area_path=person.area_path,
                            start_date=start, detail=validate_detail(gt, detail))
        )  # fmt: skip

    def _start_date(self, birth: dt.date, years: int) -> dt.date:
        earliest = max(birth, self.today - dt.timedelta(days=365 * years))
        latest = self.today - dt.timedelta(days=30)
        if earliest >= latest:
            return earliest
        return earliest + dt.timedelta(days=self.rng.randrange((latest - earliest).days))

    def _groups(self, person: Person, spec: Spec, draft: Draft) -> None:
        """Per-person groups; household-wide ones (低保 …) are in :meth:`_household_groups`."""
        r = self.rng
        age, sex = spec.age, spec.sex
        if age >= 40 and r.random() < (0.08 if age < 60 else 0.25):
            self._join(person, "chronic_disease", years=15, disease=CHRONIC.pick(r))
        if draft.population == PopulationType.FOREIGN:
            return  # the other ledgers are for Chinese citizens
        if person.political_status in ("01", "02"):
            self._join(person, "party_member", years=max(1, age - 18))
        if r.random() < (0.015 if age < 18 else 0.05 if age < 60 else 0.11):
            self._join(person, "disabled", years=max(1, age), category=DISABILITY_CATEGORY.pick(r),
                       grade=DISABILITY_GRADE.pick(r))  # fmt: skip
        if age >= 60:
            if draft.kind == "single_elder":
                if r.random() < 0.2 and person.marital_status in ("10", "30"):
                    self._join(person, "elderly_alone")
                    if r.random() < 0.5:
                        self._join(person, "tekun", support_mode="分散供养")
                else:
                    self._join(person, "elderly_empty_nest", living_alone=True)
            elif draft.kind == "elder_couple":
                self._join(person, "elderly_empty_nest", living_alone=False)
            if r.random() < (0.03 if age < 80 else 0.15):
                self._join(person, "elderly_dependent", years=5, self_care="2" if r.random() < 0.7 else "3")
        retirement = 60 if sex == "1" else 55
        if (
            draft.population == PopulationType.REGISTERED
            and 18 <= age < retirement
            and person.occupation != "学生"
            and r.random() < 0.05  # about the registered urban unemployment rate
        ):
            person.occupation, person.employer = "待业", ""
            is_4050 = age >= (50 if sex == "1" else 40)
            self._join(person, "unemployed", years=2, registered_on=self._start_date(person.birth_date, 2),
                       is_4050=is_4050, wants_training=r.random() < 0.4)  # fmt: skip
        if age >= 22 and r.random() < (0.03 if sex == "1" else 0.002):
            self._join(person, "veteran", years=max(1, age - 22))
            if r.random() < 0.1:
                self._join(person, "entitled", years=max(1, age - 22), category=ENTITLED.pick(r))
        if 18 <= age <= 70:
            roll = r.random()
            if roll < 0.0015:
                released = self._start_date(person.birth_date, 8)
                self._join(person, "released_prisoner", years=8, released_on=released,
                           under_assistance=(self.today - released).days < 5 * 365)  # fmt: skip
            elif roll < 0.002:
                end = self.today + dt.timedelta(days=r.randint(90, 1000))
                self._join(person, "community_correction", years=2, period_end=end)
            elif roll < 0.003:
                self._join(person, "mental_disorder", risk_level=RISK_LEVEL.pick(r))
            elif roll < 0.0033:
                self._join(person, "drug_user", years=5)
        if 14 <= age <= 25 and r.random() < 0.001:
            self._join(person, "key_youth", years=2)

    def _household_groups(self, draft: Draft) -> None:
        r = self.rng
        if draft.population != PopulationType.REGISTERED:
            return
        poor = 2.0 if draft.kind in ("single_elder", "single_parent") else 1.0
        roll = r.random()
        size = len(draft.members)
        if roll < 0.02 * poor:
            certificate = f"汉民低字{self.today.year - r.randint(0, 6)}{r.randrange(100000):05d}号"
            amount = Decimal(r.randrange(40, 100) * 10)
            for person, spec in draft.members:
                self._join(person, "dibao", years=6, certificate=certificate, monthly_amount=amount,
                           household_size=size)  # fmt: skip
                if spec.age >= 60:
                    self._join(person, "elderly_poor", years=6)
        elif roll < 0.028 * poor:
            for person, _ in draft.members:
                self._join(person, "dibao_edge", years=3)
        if draft.kind == "elder_couple" and r.random() < 0.02:
            for person, _ in draft.members:
                self._join(person, "family_planning_special", years=10)

    # -- life-event candidates ----------------------------------------------------------------
    def _offer_candidates(self, draft: Draft) -> None:
        head, spec = draft.members[0]
        s = self.samples
        if draft.population == PopulationType.REGISTERED:
            if draft.kind == "couple" and all(23 <= m.age <= 38 for _, m in draft.members):
                s["birth"].offer(draft)
            elif draft.kind == "single" and 24 <= spec.age <= 40 and spec.marital == "10":
                s["move_in"].offer(draft)
            elif draft.kind == "single_elder" and spec.age >= 78:
                s["death"].offer((head, None))
            elif draft.kind == "elder_couple" and spec.age >= 75:
                s["death"].offer((head, draft.members[1][0]))
            for person, member in draft.members[1:]:
                if member.role == "parent" and member.age >= 75:
                    s["death"].offer((person, None))
                elif draft.kind == "nuclear" and member.role == "child" and 20 <= member.age <= 32:
                    s["move_out"].offer(person)
        elif draft.population == PopulationType.FLOATING and draft.kind == "single":
            s["move_out"].offer(head)

    # -- writing a batch ----------------------------------------------------------------------
    def _write(self, batch: list[tuple[GridCtx, list[Draft]]], summary: DemoSummary) -> int:
        """Insert one batch in one transaction, parents before children; returns the rows written."""
        rows = 0
        with transaction.atomic():
            layouts = [(grid, drafts, self._layout(grid, len(drafts))) for grid, drafts in batch]
            buildings = [b for _, _, (bs, _, _) in layouts for b in bs]
            units = [u for _, _, (_, us, _) in layouts for u in us]
            rows += len(bulk_create(Building, buildings, batch_size=INSERT_BATCH))
            rows += len(bulk_create(Unit, units, batch_size=INSERT_BATCH))
            houses, owners, tenancies = [], [], []
            for grid, drafts, (_, _, slots) in layouts:
                self._houses(grid, drafts, slots, houses, owners, tenancies)
            rows += len(bulk_create(House, houses, batch_size=INSERT_BATCH))

            drafts = [d for _, ds, _ in layouts for d in ds]
            persons, households = [], []
            for d in drafts:
                # Registered residents' 户籍地址 is this house; floating residents' is back home.
                registered = d.population == PopulationType.REGISTERED
                registered_address = (
                    f"{DISTRICT_PREFIX}{d.house.address.replace(' ', '')}" if registered else ""
                )
                for person, _ in d.members:
                    if person.residence_status != "30":
                        person.house = d.house
                        person.current_address = d.house.address
                    if registered:
                        person.registered_address = (
                            registered_address if person.residence_status != "20" else self._other_address()
                        )
                    person.derive()
                    persons.append(person)
                community = d.grid.community
                community.households += 1
                d.household = Household(number=f"{community.area.code}{community.households:05d}", house=d.house,
                                        registered_address=registered_address, area=d.grid.area,
                                        area_path=d.grid.area.path)  # fmt: skip
                households.append(d.household)
            rows += len(bulk_create(Person, persons, batch_size=INSERT_BATCH))
            rows += len(bulk_create(Household, households, batch_size=INSERT_BATCH))

            memberships = [
                Membership(household=d.household, person=person, relation=spec.relation,
                           start_date=max(d.since, person.birth_date))
                for d in drafts
                for person, spec in d.members
            ]  # fmt: skip
            rows += len(bulk_create(Membership, memberships, batch_size=INSERT_BATCH))

            # Houses were written before the people who own them; link the owners now.
            for house, owner in owners:
                house.owner = owner
            bulk_update([house for house, _ in owners], ["owner"], batch_size=INSERT_BATCH)
            rows += len(bulk_create(Tenancy, tenancies, batch_size=INSERT_BATCH))
            rows += len(bulk_create(GroupMembership, self._pending_groups, batch_size=INSERT_BATCH))
        self._pending_groups = []
        summary.persons += len(persons)
        summary.households += len(households)
        return rows

    def _street_address(self, community: CommunityCtx) -> str:
        road = self.rng.choice(community.roads)
        number = self._road_numbers.get(road, self.rng.randint(1, 20)) + self.rng.randint(2, 12)
        self._road_numbers[road] = number
        return f"{road}{number}号"

    def _other_address(self) -> str:
        return f"{DISTRICT_PREFIX}{self.rng.choice(ROADS)}{self.rng.randint(1, 300)}号"

    def _layout(self, grid: GridCtx, households: int) -> tuple[list[Building], list[Unit], list[Slot]]:
        """Compounds of old walk-ups (6–7 floors, 2 flats a landing) or newer towers, enough for the
        grid's households plus some vacancy; towers on a street may have shops on the ground floor."""
        r = self.rng
        area, path = grid.area, grid.area.path
        need = max(1, math.ceil(households / (1 - VACANCY)))
        buildings, units, slots = [], [], []
        homes = 0
        while homes < need:
            new = r.random() < 0.4
            street = self._street_address(grid.community)
            built = r.randint(2005, 2022) if new else r.randint(1982, 2004)
            company = r.choice(PROPERTY_COMPANIES) if new or r.random() < 0.4 else ""
            for k in range(1, r.randint(2, 8) + 1 if new else r.randint(3, 10) + 1):
                if homes >= need:
                    break
                unit_count = r.randint(1, 3) if new else r.randint(2, 4)
                per_floor = r.randint(2, 4) if new else (2 if r.random() < 0.8 else 3)
                floors = r.randint(11, 33) if new else r.randint(5, 7)
                mixed = new and r.random() < 0.3
                first_home_floor = 2 if mixed else 1
                # The last building of a grid is only as tall as needed, so vacancy stays realistic.
                home_floors = min(
                    floors - first_home_floor + 1, math.ceil((need - homes) / (unit_count * per_floor))
                )
                floors = home_floors + first_home_floor - 1
                building = Building(area=area, area_path=path, name=f"{k}栋", street_address=street,
                                    building_type="mixed" if mixed else "residential", floors=floors,
                                    built_year=built, property_company=company)  # fmt: skip
                buildings.append(building)
                size = (78, 145) if new else (45, 95)
                for u in range(1, unit_count + 1):
                    unit = Unit(area=area, area_path=path, building=building, name=f"{u}单元")
                    units.append(unit)
                    for floor in range(1, floors + 1):
                        commercial = floor < first_home_floor
                        for position in range(1, per_floor + 1):
                            m2 = r.uniform(20, 200) if commercial else r.uniform(*size)
                            slots.append(Slot(building, unit, f"{floor}{position:02d}", floor,
                                              Decimal(f"{m2:.2f}"), commercial))  # fmt: skip
                            homes += not commercial
        return buildings, units, slots

    def _houses(self, grid: GridCtx, drafts: list[Draft], slots: list[Slot], houses: list, owners: list,
                tenancies: list) -> None:  # fmt: skip
        """Create the grid's houses, move each household into one, and record owners and tenancies."""
        r = self.rng
        homes = [s for s in slots if not s.commercial]
        occupants: list[Draft | None] = [*drafts, *([None] * (len(homes) - len(drafts)))]
        r.shuffle(occupants)
        # Owner-occupiers are also the landlords of the grid's rented and empty flats.
        landlords = [d.head for d in drafts if not d.renting]
        for slot in slots:
            house = House(area=grid.area, area_path=grid.area.path, building=slot.building, unit=slot.unit,
                          room=slot.room, floor=slot.floor, floor_area=slot.area)  # fmt: skip
            house.address = house.compose_address()
            house.room_key = house.compose_room_key()
            houses.append(house)
            if slot.commercial:
                house.use = HouseUse.COMMERCIAL
                house.owner_name = f"武汉市汉阳区{grid.community.stem}{r.choice(SHOP_OWNERS)}"
                continue
            draft = occupants.pop()
            if draft is None:
                house.use = HouseUse.VACANT
                if landlords and r.random() < 0.5:
                    owners.append((house, r.choice(landlords)))
                else:
                    house.owner_name = self._outsider_name()
                continue
            draft.house = house
            if not draft.renting:
                house.use = HouseUse.OWNER_OCCUPIED
                spouse = draft.spouse()
                owners.append((house, spouse if spouse is not None and r.random() < 0.35 else draft.head))
                continue
            house.use = HouseUse.RENTED
            landlord = r.choice(landlords) if landlords else None
            landlord_name = ""
            if landlord is None:
                landlord_name = self._outsider_name()
                house.owner_name = landlord_name
            else:
                owners.append((house, landlord))
            if r.random() < 0.9:  # some lettings are never registered: part of what grid workers find
                contract = f"HYZL{draft.since.year}{next(self._contracts):06d}" if r.random() < 0.6 else ""
                tenancies.append(
                    Tenancy(house=house, tenant=draft.head, landlord=landlord, landlord_name=landlord_name,
                            start_date=draft.since, contract_number=contract, area=grid.area,
                            area_path=grid.area.path)
                )  # fmt: skip

    # -- life events through the services -------------------------------------------------------
    def _life_events(self, summary: DemoSummary) -> None:
        r = self.rng
        done = skipped = 0
        actions = (
            [(self._birth_event, item) for item in self.samples["birth"].items]
            + [(self._death_event, item) for item in self.samples["death"].items]
            + [(self._move_out_event, item) for item in self.samples["move_out"].items]
            + [(self._move_in_event, item) for item in self.samples["move_in"].items]
        )
        r.shuffle(actions)
        for action, item in actions:
            try:
                action(item)
                done += 1
            except services.RegistryError:
                skipped += 1  # e.g. two sampled events touching the same household
        summary.life_events, summary.skipped_events = done, skipped
        self.log(f"人口变动 life events: {done} (跳过 skipped {skipped})")

    def _event_date(self, person: Person) -> dt.date:
        membership = person.current_membership
        earliest = self.today - dt.timedelta(days=180)
        if membership is not None and membership.start_date:
            earliest = max(earliest, membership.start_date)
        latest = self.today - ONE_DAY
        if earliest >= latest:
            return latest
        return earliest + dt.timedelta(days=self.rng.randrange((latest - earliest).days + 1))

    def _birth_event(self, draft: Draft) -> None:
        r = self.rng
        household = Household.objects.select_related("house", "area").get(pk=draft.household.pk)
        head = draft.head
        father = next(spec for _, spec in draft.members if spec.sex == "1")
        sex = r.choice("12")
        birth = self.today - dt.timedelta(days=r.randint(1, 180))
        baby = Person(
            name=father.surname + self._given_name(sex, birth.year),
            sex=sex,
            birth_date=birth,
            id_type="111",
            id_number=self._id_number(DISTRICT_CODE, birth, sex),
            ethnicity=head.ethnicity,
            registered_region=DISTRICT_CODE,
            registered_address=household.registered_address,
            current_address=household.house.address if household.house else "",
            population_type=PopulationType.REGISTERED,
            residence_status="10",
            marital_status="10",
        )
        services.record_birth(baby, household=household, relation="20" if sex == "1" else "30", date=birth,
                              note="演示数据 demo")  # fmt: skip

    def _death_event(self, item: tuple[Person, Person | None]) -> None:
        person = Person.objects.get(pk=item[0].pk)
        new_head = Person.objects.get(pk=item[1].pk) if item[1] is not None else None
        services.record_death(person, date=self._event_date(person), new_head=new_head, note="演示数据 demo")

    def _move_out_event(self, person: Person) -> None:
        person = Person.objects.get(pk=person.pk)
        services.move_out(person, date=self._event_date(person), place=self.rng.choice(ELSEWHERE),
                          note="演示数据 demo")  # fmt: skip

    def _move_in_event(self, draft: Draft) -> None:
        """Marriage: a spouse from elsewhere joins a single head's household (迁入)."""
        r = self.rng
        household = Household.objects.select_related("house", "area").get(pk=draft.household.pk)
        head = Person.objects.get(pk=draft.head.pk)
        head_spec = draft.members[0][1]
        sex = "2" if head.sex == "1" else "1"
        age = max(22, head_spec.age + r.randint(-5, 5))
        spec = Spec("12" if sex == "2" else "11", sex, age, self._surname(), "20", "spouse")
        origin = r.choice(self.id_region[self.id_region_mix.pick(r)])
        newcomer = Person(
            name=spec.surname + self._given_name(sex, self.today.year - age),
            sex=sex,
            birth_date=self._birth(age),
            id_type="111",
            ethnicity=ETHNICITY.pick(r),
            education=self._education(age, self.today.year - age, PopulationType.REGISTERED),
            political_status=self._political(age),
            marital_status="20",
            religion=RELIGION.pick(r),
            phone=self._phone(),
            registered_region=DISTRICT_CODE,
            registered_address=household.registered_address,
            current_address=household.house.address if household.house else "",
            population_type=PopulationType.REGISTERED,
            residence_status="10",
        )
        newcomer.id_number = self._id_number(origin, newcomer.birth_date, sex)
        date = self._event_date(head)
        services.move_in(newcomer, household=household, relation=spec.relation, date=date,
                         place=self._region_full_name(origin), note="结婚迁入 marriage (演示数据 demo)")  # fmt: skip
        head.marital_status = "20"
        head.save(change_note="结婚 married")


def create_demo_users(district: Area) -> list:
    """The demo accounts with their roles, created once with :data:`DEMO_PASSWORD`.

    Each role is assigned on the first area of its level under the demo district. Existing users
    are left alone. Nobody is a Django superuser: in Linli that flag grants nothing.
    """
    from linli.accounts.models import Role, RoleAssignment

    user_model = get_user_model()
    validate_password(DEMO_PASSWORD)
    subtree = Area.objects.filter(district.subtree_q("path")).order_by("path")
    users = []
    for account in DEMO_ACCOUNTS:
        user = user_model.objects.filter(username=account.username).first()
        if user is None:
            user = user_model.objects.create_user(account.username, password=DEMO_PASSWORD,
                                                  full_name=account.full_name)  # fmt: skip
            area = subtree.filter(level=account.level).first()
            RoleAssignment.objects.create(user=user, role=Role.objects.get(key=account.role), area=area)
        users.append(user)
    return users


def generate(people: int = DEFAULT_PEOPLE, *, seed: int = DEFAULT_SEED,
             batch_households: int = DEFAULT_BATCH_HOUSEHOLDS, log: Callable[[str], None] | None = None,
             today: dt.date | None = None) -> DemoSummary:  # fmt: skip
    """Build the demo district with about ``people`` residents. Needs a database without it."""
    if Area.objects.filter(code=DISTRICT_CODE).exists():
        raise RuntimeError(f"区划 {DISTRICT_CODE} {DISTRICT_NAME} 已存在 (the demo district already exists)")
    generator = DemoGenerator(people, seed=seed, batch_households=batch_households, log=log, today=today)
    return generator.run()
