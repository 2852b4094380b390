#!/usr/bin/env python3
"""Generate labelled_addresses.csv, the address matcher's labelled test set, from the NBS gazetteer.

    python tests/matching/data/make_labelled.py [--gazetteer DIR] [--out FILE] [--summary] [--check FILE]

Standard library only. Every expected code is copied from a gazetteer row (counties.csv, townships.csv,
villages.csv, village_changes_*.csv): this script selects divisions by *name* and writes down the codes
those rows carry, so no code is typed by hand. One fixed seed makes the output byte-for-byte repeatable.

--summary writes the per-status / per-county / per-form counts (markdown) to stdout;
--check FILE re-reads a generated CSV and verifies every label against the gazetteer.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

SEED = 20250601
REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_GAZETTEER = REPO_ROOT / ".." / "shared" / "data" / "liaoning"
DEFAULT_OUT = Path(__file__).resolve().parent / "labelled_addresses.csv"
COLUMNS = [
    "address",
    "operator_county",
    "sort_hint",
    "expected_status",
    "expected_county_code",
    "expected_township_code",
    "expected_village_code",
    "form",
    "note",
]

# --- the counties the set is drawn from, by official name, with the short forms parcels carry -----------
# 辽西 (west) and the eastern mountain counties first, then four plains counties with their own traps.
COUNTY_SHORT: dict[str, list[str]] = {
    "朝阳县": [],
    "喀喇沁左翼蒙古族自治县": ["喀左县", "喀左"],
    "建平县": ["建平"],
    "阜新蒙古族自治县": ["阜新县"],
    "彰武县": ["彰武"],
    "义县": [],
    "黑山县": ["黑山"],
    "北票市": ["北票"],
    "建昌县": ["建昌"],
    "宽甸满族自治县": ["宽甸县", "宽甸"],
    "桓仁满族自治县": ["桓仁县", "桓仁"],
    "本溪满族自治县": ["本溪县"],
    "新宾满族自治县": ["新宾县", "新宾"],
    "清原满族自治县": ["清原县", "清原"],
    "岫岩满族自治县": ["岫岩县", "岫岩"],
    "凤城市": ["凤城"],
    "抚顺县": [],
    "铁岭县": [],
    "大洼区": ["大洼"],
    "盘山县": ["盘山"],
}
TARGET_COUNTIES = list(COUNTY_SHORT)
# What carriers print as 大头笔 for the county.
HINT_COUNTY: dict[str, str] = {
    "朝阳县": "朝阳县",
    "喀喇沁左翼蒙古族自治县": "喀左",
    "建平县": "建平",
    "阜新蒙古族自治县": "阜新县",
    "彰武县": "彰武",
    "义县": "义县",
    "黑山县": "黑山",
    "北票市": "北票",
    "建昌县": "建昌",
    "宽甸满族自治县": "宽甸",
    "桓仁满族自治县": "桓仁",
    "本溪满族自治县": "本溪县",
    "新宾满族自治县": "新宾",
    "清原满族自治县": "清原",
    "岫岩满族自治县": "岫岩",
    "凤城市": "凤城",
    "抚顺县": "抚顺县",
    "铁岭县": "铁岭县",
    "大洼区": "大洼",
    "盘山县": "盘山",
    "凌源市": "凌源",
    "昌图县": "昌图",
}
# Counties whose bare root is also their prefecture's name: 朝阳县/朝阳市, 抚顺县/抚顺市 ...
CITY_ROOT_COUNTIES = ["朝阳县", "抚顺县", "铁岭县", "本溪满族自治县", "阜新蒙古族自治县"]
# Names no longer official that parcels still carry (大洼县 became 大洼区 in 2016).
OLD_COUNTY_NAMES = {"大洼区": "大洼县"}
# City districts with village committees, and the rural county of the same city whose centre gets them.
CITY_DISTRICTS = {
    "龙城区": "朝阳县",
    "双塔区": "朝阳县",
    "东洲区": "抚顺县",
    "南芬区": "本溪满族自治县",
    "细河区": "阜新蒙古族自治县",
    "清河区": "铁岭县",
}
# Townships whose root is also the name of a city or county somewhere (西安镇 in 大洼区 above all).
CITY_NAMED_TOWNSHIPS: list[tuple[str, str, str, int]] = [
    # (county, township, the city it collides with, village rows)
    ("大洼区", "西安镇", "陕西省西安市", 6),
    ("大洼区", "平安镇", "青海省海东市平安区", 2),
    ("岫岩满族自治县", "朝阳镇", "辽宁省朝阳市/朝阳县", 3),
    ("阜新蒙古族自治县", "阜新镇", "辽宁省阜新市/阜新县", 3),
    ("阜新蒙古族自治县", "新民镇", "沈阳市新民市", 2),
    ("彰武县", "平安镇", "大洼区平安镇 (same name, other county)", 2),
    ("朝阳县", "尚志乡", "黑龙江省尚志市", 2),
    ("建平县", "白山乡", "吉林省白山市", 2),
    ("凌源市", "瓦房店镇", "大连市瓦房店市", 2),
    ("昌图县", "朝阳镇", "辽宁省朝阳市/朝阳县", 1),
]
CITY_NAMED_TOWNSHIP_LEVEL = [
    ("大洼区", "西安镇"),
    ("大洼区", "西安镇"),
    ("大洼区", "西安镇"),
    ("岫岩满族自治县", "朝阳镇"),
    ("凌源市", "瓦房店镇"),
    ("朝阳县", "尚志乡"),
    ("建平县", "白山乡"),
]


def words(text: str) -> list[str]:
    return text.split()


SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
    "余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟万段钱汤尹常武乔贺龚关佟那富鄂"
)
GIVEN = words(
    "桂兰 秀英 玉梅 淑珍 凤芝 春华 国庆 建国 志强 德福 海涛 丽娟 晓东 立军 桂芝 "
    "振华 玉华 淑华 秀云 福林 铁柱 红梅 艳秋 凤琴 宝林 长顺 金凤 玉兰 树林 永刚 "
    "丽 伟 敏 静 磊 军 霞 鹏 雪梅 子涵 浩然"
)
HAMLET_SUFFIX = ["屯", "堡子", "沟", "窝堡", "店", "岭", "杖子", "营子", "窝铺", "街"]
DELIVERY_NOTES = words(
    "放驿站 村口超市代收 放门卫 电联 到了打电话 放小卖部 放快递柜 送货上门 放村委会 "
    "放邮政代办点 周末送 不在家放邻居家 先打电话再送 放菜鸟驿站"
)
STREETS = words(
    "人民路 解放路 建设街 中央大街 新华街 胜利路 文化路 站前路 和平街 团结路 光明街 "
    "育才路 商业街 迎宾路 滨河路 北京路 幸福街"
)
COUNTY_POIS = ["人民医院", "汽车站", "第一高级中学", "人民政府", "中医院", "公安局", "邮政局", "客运站"]
TOWNSHIP_POIS = words("政府 卫生院 中心小学 派出所 邮政支局 供销社 农村信用社 中学 便民服务中心 农贸市场")
CN_NUM = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二"]
AREA_CODE = {
    "2101": "024",
    "2103": "0412",
    "2104": "0413",
    "2105": "0414",
    "2106": "0415",
    "2107": "0416",
    "2109": "0418",
    "2111": "0427",
    "2112": "0410",
    "2113": "0421",
    "2114": "0429",
}
ETHNIC = r"(?:满族|蒙古族|朝鲜族|锡伯族|回族)+"


# --- the gazetteer --------------------------------------------------------------------------------------
@dataclass
class County:
    code: str
    name: str
    city_code: str
    city_name: str


@dataclass
class Township:
    code: str
    name: str
    type: str
    county: County
    root: str
    short: str  # 下露河朝鲜族乡 -> 下露河乡; otherwise the name


@dataclass
class Village:
    code: str
    name: str
    kind: str
    township: Township
    display: str | None  # 青山村委会 -> 青山村; 喀西村村委会 -> 喀西村; X社区居委会 -> X社区; None when odd
    root: str  # the display without 村 / 社区
    changed: bool = False  # code appears in the 2022->2023 change list


def village_display(name: str, kind: str) -> tuple[str | None, str]:
    base = re.sub(r"[（(].*?[)）]", "", name)
    if kind == "village_committee":
        for suffix in ("村村民委员会", "村村委会"):
            if base.endswith(suffix):
                display = base[: -len(suffix)] + "村"
                return display, display[:-1]
        for suffix in ("村民委员会", "村委会"):
            if base.endswith(suffix):
                root = base[: -len(suffix)]
                return root + "村", root
        if base.endswith("村"):
            return base, base[:-1]
        return None, base
    for suffix in ("社区居民委员会", "社区居委会", "社区"):
        if base.endswith(suffix):
            root = base[: -len(suffix)]
            return root + "社区", root
    for suffix in ("居民委员会", "居委会"):
        if base.endswith(suffix):
            return None, base[: -len(suffix)]
    return None, base


def township_root(name: str) -> tuple[str, str]:
    short = re.sub(ETHNIC + r"(镇|乡)$", r"\1", name)
    return re.sub(r"(镇|乡|街道)$", "", short), short


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@dataclass
class Gazetteer:
    counties: dict[str, County] = field(default_factory=dict)
    county_by_name: dict[str, County] = field(default_factory=dict)
    townships: dict[str, Township] = field(default_factory=dict)
    villages: dict[str, Village] = field(default_factory=dict)
    renames: list[tuple[str, str, str]] = field(default_factory=list)  # (code, old name, new name)
    # indices
    town_villages: dict[str, list[Village]] = field(default_factory=lambda: defaultdict(list))
    county_townships: dict[str, list[Township]] = field(default_factory=lambda: defaultdict(list))
    county_villages: dict[str, list[Village]] = field(default_factory=lambda: defaultdict(list))
    county_roots: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def county(self, name: str) -> County:
        return self.county_by_name[name]

    def township(self, county_name: str, name: str) -> Township:
        county = self.county(county_name)
        return next(t for t in self.county_townships[county.code] if t.name == name)


def load(directory: Path) -> Gazetteer:
    gaz = Gazetteer()
    for row in read_csv(directory / "counties.csv"):
        county = County(row["county_code"], row["name"], row["city_code"], row["city_name"])
        gaz.counties[county.code] = county
        gaz.county_by_name[county.name] = county
    for row in read_csv(directory / "townships.csv"):
        root, short = township_root(row["name"])
        town = Township(
            row["township_code"],
            row["name"],
            row["township_type"],
            gaz.counties[row["county_code"]],
            root,
            short,
        )
        gaz.townships[town.code] = town
        gaz.county_townships[town.county.code].append(town)
    changed: set[str] = set()
    removed: dict[str, str] = {}
    added: dict[str, str] = {}
    for path in sorted(directory.glob("village_changes_*.csv")):
        for row in read_csv(path):
            if row["level"] != "village":
                continue
            changed.add(row["code"])
            (removed if row["change"] == "removed" else added)[row["code"]] = row["name"]
    for row in read_csv(directory / "villages.csv"):
        found = gaz.townships.get(row["township_code"])
        stale = row.get("township_in_nbs2023", "1") != "1"
        if found is not None and not stale:
            town = found
        else:
            # the parent township is gone or recoded since 2021: such villages still count when deciding
            # whether a name is unique, but never carry a label (type "retired" keeps them out)
            root, short = township_root(row["township_name"])
            town = Township(
                row["township_code"],
                row["township_name"],
                "retired",
                gaz.counties[row["county_code"]],
                root,
                short,
            )
        display, root = village_display(row["name"], row["kind"])
        village = Village(
            row["village_code"],
            row["name"],
            row["kind"],
            town,
            display,
            root,
            row["village_code"] in changed or stale,
        )
        gaz.villages[village.code] = village
    for code, new_name in sorted(added.items()):  # names added in 2023 also count for uniqueness
        if code in removed and code in gaz.villages:
            gaz.renames.append((code, removed[code], new_name))
        parent = gaz.townships.get(code[:9])
        if parent is not None:
            kind = (
                "residents_committee"
                if re.search("社区|居委会|居民委员会", new_name)
                else "village_committee"
            )
            display, root = village_display(new_name, kind)
            gaz.villages.setdefault("+" + code, Village(code, new_name, kind, parent, display, root, True))
    for village in gaz.villages.values():
        gaz.town_villages[village.township.code].append(village)
        gaz.county_villages[village.township.county.code].append(village)
        if len(village.root) >= 2:
            gaz.county_roots[village.township.county.code].add(village.root)
    for town in gaz.townships.values():
        if len(town.root) >= 2:
            gaz.county_roots[town.county.code].add(town.root)
    return gaz


# --- label rules ----------------------------------------------------------------------------------------
class Rules:
    """Which surface forms are safe for which division, decided from the gazetteer alone."""

    def __init__(self, gaz: Gazetteer) -> None:
        self.gaz = gaz
        self.town_display: Counter[tuple[str, str]] = Counter()
        self.town_root: Counter[tuple[str, str]] = Counter()
        self.county_display: dict[tuple[str, str], list[Village]] = defaultdict(list)
        self.county_troot: Counter[tuple[str, str]] = Counter()
        self.city_tname: Counter[tuple[str, str]] = Counter()
        for v in gaz.villages.values():
            if v.display:
                self.town_display[(v.township.code, v.display)] += 1
            self.town_root[(v.township.code, v.root)] += 1
            if v.display and v.display.endswith("村"):
                self.county_display[(v.township.county.code, v.display)].append(v)
        for t in gaz.townships.values():
            self.county_troot[(t.county.code, t.root)] += 1
            self.city_tname[(t.county.city_code, t.name)] += 1
        # bare roots of every county and prefecture (新民 of 新民市, 朝阳 of 朝阳市/朝阳县, 太和 of 太和区 …):
        # a township or village written as such a bare root would read as that county or city
        self.county_city_roots: set[str] = set()
        for c in gaz.counties.values():
            self.county_city_roots.add(re.sub(r"(满族自治县|蒙古族自治县|自治县|县|市|区)$", "", c.name))
            self.county_city_roots.add(c.city_name[:-1])

    def village_row_ok(self, v: Village) -> bool:
        """A village may carry a village label: a live 村委会 whose written name is unique in its township."""
        return (
            v.kind == "village_committee"
            and not v.changed
            and not v.code.startswith("+")
            and v.display is not None
            and "（" not in v.name
            and "(" not in v.name
            and v.township.type in ("镇", "乡", "街道")
            and self.town_display[(v.township.code, v.display)] == 1
        )

    def bare_ok(self, v: Village) -> bool:
        """The village may be written without 村 (青山沟镇青山3组)."""
        root = v.root
        if len(root) < 2 or root[-1] in "一二三四五六七八九十0123456789" or root == v.township.root:
            return False
        if root in self.county_city_roots:
            return False
        if self.town_root[(v.township.code, root)] != 1:
            return False
        others = [o.root for o in self.gaz.town_villages[v.township.code] if o is not v]
        return not any(o.startswith(root) for o in others)

    def county_unique(self, v: Village) -> bool:
        """The village may be named with its county but without its township."""
        assert v.display is not None
        county = v.township.county.code
        same = self.county_display[(county, v.display)]
        troots = {t.root for t in self.gaz.county_townships[county]}
        return len(same) == 1 and v.root not in troots

    def town_root_ok(self, t: Township) -> bool:
        """The township may be written without 镇/乡 (青山沟青山村)."""
        if t.type not in ("镇", "乡") or len(t.root) < 2 or self.county_troot[(t.county.code, t.root)] != 1:
            return False
        if t.root in self.county_city_roots:
            return False
        return all(v.root != t.root or v.township is t for v in self.gaz.county_villages[t.county.code])

    def city_unique(self, t: Township) -> bool:
        return self.city_tname[(t.county.city_code, t.name)] == 1

    def clean(self, text: str, county: County) -> bool:
        """Free text (a name, a street, a note) must not contain a division name of the county."""
        return not any(root in text for root in self.gaz.county_roots[county.code])


# --- surface forms --------------------------------------------------------------------------------------
FULLWIDTH = str.maketrans(
    {
        **{str(d): chr(0xFF10 + d) for d in range(10)},
        " ": "\u3000",
        "-": "－",
        "*": "＊",
        "+": "＋",
        "#": "＃",
    }
)


class Writer:
    def __init__(self, gaz: Gazetteer, rules: Rules, rng: random.Random) -> None:
        self.gaz, self.rules, self.rng = gaz, rules, rng

    # pieces ------------------------------------------------------------------------------------------
    def city(self, county: County) -> str:
        return county.city_name if self.rng.random() < 0.7 else county.city_name[:-1]

    def province(self) -> str:
        return "辽宁省" if self.rng.random() < 0.75 else "辽宁"

    def county_short(self, county: County) -> str:
        shorts = COUNTY_SHORT.get(county.name) or [county.name]
        return self.rng.choice(shorts)

    def township(self, t: Township) -> str:
        if t.short != t.name and self.rng.random() < 0.3:
            return t.short
        return t.name

    def phone(self, county: County, mods: list[str]) -> str:
        r = self.rng.random()
        prefix = self.rng.choice(
            [
                "130",
                "131",
                "132",
                "133",
                "135",
                "136",
                "137",
                "138",
                "139",
                "150",
                "151",
                "152",
                "155",
                "157",
                "158",
                "159",
                "177",
                "180",
                "182",
                "183",
                "186",
                "187",
                "188",
                "189",
                "198",
            ]
        )
        body = "".join(self.rng.choice("0123456789") for _ in range(8))
        if r < 0.15:
            mods.append("masked_phone")
            return f"{prefix}****{body[-4:]}"
        mods.append("phone")
        if r < 0.25:
            return f"{prefix}-{body[:4]}-{body[4:]}"
        if r < 0.32:
            return f"+86 {prefix}{body}"
        if r < 0.38:
            area = AREA_CODE.get(county.city_code, "024")
            return f"{area}-{self.rng.choice('2345678')}{body[:6]}"
        return prefix + body

    def person(self, county: County) -> str:
        for _ in range(50):
            name = self.rng.choice(SURNAMES) + self.rng.choice(GIVEN)
            if self.rules.clean(name, county):
                return name
        return "收件人"

    def tail(self, county: County, mods: list[str], force: bool = False) -> str:
        """组/社/号/屯/队 after the village."""
        r = self.rng.random()
        if not force and r < 0.35:
            return ""
        n = self.rng.randint(1, 12)
        pick = self.rng.random() * (0.86 if force else 1.0)  # after a bare root, numbers only: no hamlet
        if pick < 0.3:
            mods.append("zu")
            return f"{n}组"
        if pick < 0.45:
            mods.append("zu_cn")
            return f"{CN_NUM[n]}组"
        if pick < 0.55:
            mods.append("she")
            return f"{n}社"
        if pick < 0.7:
            mods.append("hao")
            return f"{self.rng.randint(1, 300)}号"
        if pick < 0.78:
            mods.append("zu_hao")
            return f"{n}组{self.rng.randint(1, 80)}号"
        if pick < 0.86:
            mods.append("dui")
            return f"{CN_NUM[n] if self.rng.random() < 0.5 else n}队"
        mods.append("tun")
        return self.hamlet_name(county, None) or f"{n}组"

    def hamlet_name(self, county: County, town: Township | None) -> str | None:
        """A 屯/堡子/沟 name: no village or township of the county, nor sharing a 王家 prefix in town."""
        town_roots = [v.root for v in self.gaz.town_villages[town.code]] if town else []
        for _ in range(80):
            family = self.rng.choice(SURNAMES) + "家"
            name = family + self.rng.choice(HAMLET_SUFFIX)
            if any(family in r for r in town_roots):
                continue
            roots = self.gaz.county_roots[county.code]
            if any(r in name or name in r for r in roots) or not self.rules.clean(name, county):
                continue
            return name
        return None

    def extras(self, county: County, mods: list[str], p_person: float = 0.45, p_note: float = 0.15) -> str:
        out = []
        if self.rng.random() < p_person:
            name = self.person(county)
            mods.append("name")
            sep = self.rng.choice([" ", " ", " ", "", "，", "  "])
            out.append(sep + name + self.rng.choice([" ", " ", "", "："]) + self.phone(county, mods))
        elif self.rng.random() < 0.12:
            out.append(" " + self.phone(county, mods))
        if self.rng.random() < p_note:
            mods.append("note")
            note = self.rng.choice([n for n in DELIVERY_NOTES if self.rules.clean(n, county)])
            opener = self.rng.choice([" ", "（", "，", " 备注：", " "])
            out.append(opener + note + ("）" if opener == "（" else ""))
        return "".join(out)

    def join(self, parts: list[str], mods: list[str]) -> str:
        parts = [p for p in parts if p]
        r = self.rng.random()
        if r < 0.62:
            sep = ""
        elif r < 0.85:
            sep = " " if self.rng.random() < 0.85 else "  "
            mods.append("spaced")
        else:
            sep = self.rng.choice(["，", ",", "、", "-", "/"])
            mods.append("punct")
        return sep.join(parts)

    def finish(self, text: str, mods: list[str]) -> str:
        r = self.rng.random()
        if r < 0.05:
            text = text + self.rng.choice(["。", "！！", "...", "#"])
            mods.append("punct_end")
        elif r < 0.08:
            text = self.rng.choice([" ", "  ", "\u3000"]) + text + " "
            mods.append("pad")
        if self.rng.random() < 0.07:
            text = text.translate(FULLWIDTH)
            mods.append("fullwidth")
        return text

    def hint(self, county: County, town: Township | None, p: float = 0.35) -> str:
        if self.rng.random() >= p:
            return ""
        short = HINT_COUNTY.get(county.name, county.name)
        r = self.rng.random()
        if town is not None and r < 0.55:
            return f"{short} {town.root}"
        if r < 0.75:
            return short
        if r < 0.9:
            return f"{county.city_name[:-1]}{short}"
        return f"辽宁 {county.city_name[:-1]} {short}"

    def village_text(self, v: Village, style: str) -> str:
        assert v.display is not None
        return {
            "display": v.display,
            "official": v.name,
            "cwh": v.root + "村委会",
            "cmwyh": v.root + "村民委员会",
            "cuncwh": v.root + "村村委会",
            "bare": v.root,
        }[style]


# --- the generator --------------------------------------------------------------------------------------
@dataclass
class Row:
    address: str
    operator_county: str
    sort_hint: str
    expected_status: str
    expected_county_code: str = ""
    expected_township_code: str = ""
    expected_village_code: str = ""
    form: str = ""
    note: str = ""


def village_row(
    address: str, operator: County, hint: str, v: Village, form: str, note: str, mods: list[str]
) -> Row:
    t = v.township
    return Row(
        address,
        operator.code,
        hint,
        "village",
        t.county.code,
        t.code,
        v.code,
        form,
        make_note(f"{t.county.name}/{t.name}/{v.name}", note, mods),
    )


def make_note(where: str, note: str, mods: list[str]) -> str:
    parts = [where, note, f"mods={','.join(mods)}" if mods else ""]
    return "; ".join(p for p in parts if p)


class Generator:
    def __init__(self, gaz: Gazetteer, seed: int = SEED) -> None:
        self.gaz = gaz
        self.rules = Rules(gaz)
        self.rng = random.Random(seed)
        self.w = Writer(gaz, self.rules, self.rng)
        self.rows: list[Row] = []
        self.used: set[str] = set()
        self.seen: set[tuple[str, str]] = set()

    def add(self, row: Row) -> None:
        key = (row.address, row.operator_county)
        if key in self.seen:
            return
        self.seen.add(key)
        self.rows.append(row)

    def eligible(self, county: County, townships: list[Township] | None = None) -> list[Village]:
        towns = {t.code for t in townships} if townships else None
        out = [
            v
            for v in self.gaz.county_villages[county.code]
            if self.rules.village_row_ok(v)
            and v.code not in self.used
            and (towns is None or v.township.code in towns)
        ]
        return sorted(out, key=lambda v: v.code)

    # village level ----------------------------------------------------------------------------------
    def prefix(self, form: str, county: County, mods: list[str]) -> list[str]:
        w = self.w
        if form == "full":
            return [w.province(), w.city(county), county.name]
        if form == "no_province":
            return [w.city(county), county.name]
        if form == "no_city":
            return [w.province(), county.name]
        if form == "county_first":
            return [county.name]
        if form == "county_short":
            head = self.rng.choice([[], [], [w.province()], [w.city(county)], [w.province(), w.city(county)]])
            return [*head, w.county_short(county)]
        if form == "city_root_county":
            county_text = county.name if self.rng.random() < 0.4 else w.county_short(county)
            head = [w.province()] if self.rng.random() < 0.4 else []
            return [*head, w.city(county), county_text]
        if form == "city_no_county":
            return [w.province(), w.city(county)] if self.rng.random() < 0.5 else [w.city(county)]
        if form == "old_county_name":
            return [w.province(), w.city(county), OLD_COUNTY_NAMES[county.name]][self.rng.randint(0, 1) :]
        if form == "dup_prefix":
            first = [w.province(), county.city_name, county.name]
            return [" ".join(first), self.rng.choice([county.name, w.county_short(county)])]
        if form in ("no_county", "hint_only"):
            return []
        # any other form: a county-level prefix picked at random
        return self.prefix(
            self.rng.choice(["full", "no_province", "county_first", "county_short"]), county, mods
        )

    def write_village(
        self,
        v: Village,
        form: str,
        *,
        prefix_form: str | None = None,
        operator: County | None = None,
        note: str = "",
        style: str | None = None,
    ) -> None:
        """One village-level row; form is the row's tag, prefix_form (default: form) shapes the text."""
        w, rng = self.w, self.rng
        county, town = v.township.county, v.township
        mods: list[str] = []
        prefix = self.prefix(prefix_form or form, county, mods)
        if form == "township_no_suffix":
            town_text = town.root
        elif form == "township_ethnic_short":
            town_text = town.short
        elif form == "county_village":
            town_text = ""
        else:
            town_text = w.township(town)
        if style is None:
            if form == "village_no_cun":
                style = "bare"
            elif form == "village_committee_name":
                style = rng.choice(["official", "cwh", "cmwyh", "cuncwh"])
            else:
                style = "display"
        village_text = w.village_text(v, style)
        tail = w.tail(county, mods, force=(style == "bare"))
        hamlet_join = "" if not tail or rng.random() < 0.7 else " "
        body = w.join([*prefix, town_text, village_text], mods) + hamlet_join + tail
        address = w.finish(body + w.extras(county, mods), mods)
        hint_town = town if form != "county_village" else None
        hint = w.hint(county, hint_town, p=1.0 if form == "hint_only" else 0.35)
        op = operator or county
        if style != "display":
            mods.insert(0, f"village_as={style}")
        self.used.add(v.code)
        self.add(village_row(address, op, hint, v, form, note, mods))

    def village_forms(self, v: Village) -> list[tuple[str, float]]:
        county, town = v.township.county, v.township
        forms = [
            ("full", 10.0),
            ("no_province", 7.0),
            ("no_city", 6.0),
            ("county_first", 10.0),
            ("no_county", 6.0),
            ("hint_only", 4.0),
            ("village_committee_name", 8.0),
            ("dup_prefix", 2.0),
        ]
        if COUNTY_SHORT.get(county.name):
            forms.append(("county_short", 14.0))
        if county.name in CITY_ROOT_COUNTIES:
            forms.append(("city_root_county", 14.0))
        if county.name in OLD_COUNTY_NAMES:
            forms.append(("old_county_name", 8.0))
        if self.rules.city_unique(town):
            forms.append(("city_no_county", 5.0 if county.name not in CITY_ROOT_COUNTIES else 9.0))
        if self.rules.county_unique(v):
            forms.append(("county_village", 7.0))
        if self.rules.bare_ok(v):
            forms.append(("village_no_cun", 7.0))
        if self.rules.town_root_ok(town):
            forms.append(("township_no_suffix", 6.0))
        return forms

    def gen_main_villages(self, per_county: int) -> None:
        for name in TARGET_COUNTIES:
            county = self.gaz.county(name)
            pool = self.eligible(county)
            for v in self.rng.sample(pool, min(per_county, len(pool))):
                forms = self.village_forms(v)
                form = self.rng.choices([f for f, _ in forms], weights=[x for _, x in forms])[0]
                note = {
                    "city_root_county": "city root + county: must not resolve to the city's districts",
                    "city_no_county": "city + township, no county: township name unique in the city",
                    "county_village": "no township: village name unique in the county",
                    "no_county": "no county in the text: operator_county decides",
                    "hint_only": "no county in the text: the 大头笔 sort_hint and operator_county give it",
                    "village_no_cun": "village written without 村",
                    "township_no_suffix": "township written without 镇/乡",
                    "old_county_name": "pre-2016 name 大洼县 for 大洼区",
                    "dup_prefix": "county repeated (platform prefix + typed address)",
                    "village_committee_name": "village written as a committee name",
                }.get(form, "")
                self.write_village(v, form, note=note)

    def gen_ethnic_townships(self, per_town: int) -> None:
        for name in TARGET_COUNTIES:
            county = self.gaz.county(name)
            for town in self.gaz.county_townships[county.code]:
                if town.short == town.name:
                    continue
                pool = self.eligible(county, [town])
                for v in self.rng.sample(pool, min(per_town, len(pool))):
                    self.write_village(
                        v,
                        "township_ethnic_short",
                        note=f"township {town.name} written {town.short} (ethnic part dropped)",
                    )

    def gen_cuncun(self, limit: int) -> None:
        pool = [
            v
            for name in TARGET_COUNTIES
            for v in self.eligible(self.gaz.county(name))
            if re.search("村(村委会|村民委员会)$", v.name)
        ]
        for v in self.rng.sample(pool, min(limit, len(pool))):
            style = self.rng.choice(["display", "display", "official", "cwh"])
            self.write_village(
                v,
                "cuncun_official",
                style=style,
                note=f"official name ends 村{v.name.rsplit('村', 1)[1]}: village is {v.display}",
            )

    def gen_cross_county(self, count: int) -> None:
        counties = [self.gaz.county(n) for n in TARGET_COUNTIES]
        for i in range(count):
            county = counties[i % len(counties)]
            same_city = [c for c in counties if c.city_code == county.city_code and c is not county]
            operator = self.rng.choice(same_city or [c for c in counties if c is not county])
            pool = self.eligible(county)
            v = self.rng.choice(pool)
            form = self.rng.choice(["full", "no_province", "county_first", "county_short"])
            if form == "county_short" and not COUNTY_SHORT[county.name]:
                form = "county_first"
            self.write_village(
                v,
                "cross_county",
                prefix_form=form,
                operator=operator,
                note=f"parcel at the {operator.name} centre but names {county.name}: "
                f"resolves to its own county [{form}]",
            )

    def gen_city_districts(self, per_district: int) -> None:
        for district_name, operator_name in CITY_DISTRICTS.items():
            district, operator = self.gaz.county(district_name), self.gaz.county(operator_name)
            pool = self.eligible(district)
            for v in self.rng.sample(pool, min(per_district, len(pool))):
                self.write_village(
                    v,
                    "city_district",
                    operator=operator,
                    note=f"{district.city_name}{district.name}, not {operator.name}",
                )

    def gen_city_named(self) -> None:
        for county_name, town_name, clash, n in CITY_NAMED_TOWNSHIPS:
            town = self.gaz.township(county_name, town_name)
            pool = self.eligible(town.county, [town])
            forms = ["full", "county_first", "no_province", "county_short", "no_county", "hint_only"]
            for i, v in enumerate(self.rng.sample(pool, min(n, len(pool)))):
                form = forms[i % len(forms)]
                if form == "county_short" and not COUNTY_SHORT.get(town.county.name):
                    form = "no_city"
                self.write_village(
                    v,
                    "city_named_township",
                    prefix_form=form,
                    note=f"township {town_name} collides with {clash} [{form}]",
                )

    def gen_shequ(self, count: int) -> None:
        pool = []
        for name in TARGET_COUNTIES:
            county = self.gaz.county(name)
            for v in self.gaz.county_villages[county.code]:
                if (
                    v.kind == "residents_committee"
                    and v.display
                    and not v.changed
                    and not v.code.startswith("+")
                    and v.township.type == "镇"
                    and self.rules.town_display[(v.township.code, v.display)] == 1
                    and len(v.root) >= 2
                ):
                    pool.append(v)
        pool.sort(key=lambda v: v.code)
        for v in self.rng.sample(pool, min(count, len(pool))):
            county, town = v.township.county, v.township
            mods: list[str] = []
            prefix = self.prefix(
                self.rng.choice(["full", "county_first", "county_short", "no_province"]), county, mods
            )
            unit = self.rng.choice(
                [
                    "",
                    f"{self.rng.randint(1, 30)}号楼{self.rng.randint(1, 6)}单元",
                    f"{self.rng.randint(1, 200)}号",
                    f"{self.rng.randint(1, 12)}组",
                ]
            )
            address = self.w.finish(
                self.w.join([*prefix, town.name, v.display or ""], mods) + unit + self.w.extras(county, mods),
                mods,
            )
            self.used.add(v.code)
            self.add(
                village_row(
                    address,
                    county,
                    self.w.hint(county, town),
                    v,
                    "shequ",
                    "residents committee (社区) in a town seat",
                    mods,
                )
            )

    def gen_renamed(self) -> None:
        targets = {self.gaz.county(n).code for n in TARGET_COUNTIES}
        for code, old, new in self.gaz.renames:
            v = self.gaz.villages[code]
            if v.township.county.code not in targets or v.kind != "village_committee":
                continue
            for label, name in (("renamed_2023", new), ("renamed_2023_oldname", old)):
                display, _root = village_display(name, "village_committee")
                if display is None:
                    continue
                county, town = v.township.county, v.township
                mods: list[str] = []
                prefix = self.prefix(self.rng.choice(["full", "county_first", "county_short"]), county, mods)
                tail = self.w.tail(county, mods)
                address = self.w.finish(
                    self.w.join([*prefix, town.name, display], mods) + tail + self.w.extras(county, mods),
                    mods,
                )
                what = "NBS 2023 name" if label == "renamed_2023" else "NBS 2021 name, renamed in 2023"
                self.add(
                    village_row(
                        address,
                        county,
                        self.w.hint(county, town),
                        v,
                        label,
                        f"{what}: {old} -> {new}, same code",
                        mods,
                    )
                )

    # township level ---------------------------------------------------------------------------------
    def township_row(
        self, address: str, operator: County, hint: str, t: Township, form: str, note: str, mods: list[str]
    ) -> Row:
        return Row(
            address,
            operator.code,
            hint,
            "township",
            t.county.code,
            t.code,
            "",
            form,
            make_note(f"{t.county.name}/{t.name}", note, mods),
        )

    def rural_towns(self, county: County) -> list[Township]:
        return sorted(
            (t for t in self.gaz.county_townships[county.code] if t.type in ("镇", "乡")),
            key=lambda t: t.code,
        )

    def gen_hamlets(self, per_county: int) -> None:
        for name in TARGET_COUNTIES:
            county = self.gaz.county(name)
            for town in self.rng.sample(self.rural_towns(county), per_county):
                hamlet = self.w.hamlet_name(county, town)
                if hamlet is None:
                    continue
                mods: list[str] = []
                form = self.rng.choice(["full", "county_first", "county_short", "no_province", "no_county"])
                prefix = self.prefix(form, county, mods)
                num = self.rng.choice(["", "", f"{self.rng.randint(1, 60)}号", f"{self.rng.randint(1, 9)}组"])
                town_text = (
                    town.root if self.rules.town_root_ok(town) and self.rng.random() < 0.2 else town.name
                )
                address = self.w.finish(
                    self.w.join([*prefix, town_text, hamlet], mods)
                    + num
                    + self.w.extras(county, mods, p_person=0.6),
                    mods,
                )
                self.add(
                    self.township_row(
                        address,
                        county,
                        self.w.hint(county, town),
                        town,
                        "hamlet",
                        f"hamlet {hamlet} is no village of the gazetteer ({form})",
                        mods,
                    )
                )

    def gen_township_only(self, count: int) -> None:
        counties = [self.gaz.county(n) for n in TARGET_COUNTIES]
        for i in range(count):
            county = counties[(i * 7) % len(counties)]
            town = self.rng.choice(self.rural_towns(county))
            mods: list[str] = []
            form = self.rng.choice(["full", "county_first", "county_short", "no_county"])
            prefix = self.prefix(form, county, mods)
            address = self.w.finish(
                self.w.join([*prefix, town.name], mods)
                + self.w.extras(county, mods, p_person=0.9, p_note=0.3),
                mods,
            )
            self.add(
                self.township_row(
                    address,
                    county,
                    self.w.hint(county, town),
                    town,
                    "township_only",
                    f"township and nothing below it ({form})",
                    mods,
                )
            )

    def gen_township_poi(self, count: int) -> None:
        counties = [self.gaz.county(n) for n in TARGET_COUNTIES]
        for i in range(count):
            county = counties[(i * 3 + 1) % len(counties)]
            town = self.rng.choice(self.rural_towns(county))
            poi = self.rng.choice([p for p in TOWNSHIP_POIS if self.rules.clean(p, county)])
            mods: list[str] = []
            prefix = self.prefix(self.rng.choice(["full", "county_first", "county_short"]), county, mods)
            address = self.w.finish(
                self.w.join([*prefix, town.name + poi], mods) + self.w.extras(county, mods, p_person=0.7),
                mods,
            )
            self.add(
                self.township_row(
                    address,
                    county,
                    self.w.hint(county, town),
                    town,
                    "township_poi",
                    f"institution {poi} in the township seat",
                    mods,
                )
            )

    def gen_township_street(self, count: int) -> None:
        counties = [self.gaz.county(n) for n in TARGET_COUNTIES]
        for i in range(count):
            county = counties[(i * 5 + 2) % len(counties)]
            town = self.rng.choice(self.rural_towns(county))
            streets = [s for s in STREETS if self.rules.clean(s, county)]
            street = self.rng.choice(streets)
            mods: list[str] = []
            prefix = self.prefix(self.rng.choice(["full", "county_first", "county_short"]), county, mods)
            address = self.w.finish(
                self.w.join([*prefix, town.name, f"{street}{self.rng.randint(1, 200)}号"], mods)
                + self.w.extras(county, mods, p_person=0.7),
                mods,
            )
            self.add(
                self.township_row(
                    address,
                    county,
                    self.w.hint(county, town),
                    town,
                    "township_street",
                    f"street address in the township seat ({street})",
                    mods,
                )
            )

    def gen_city_named_township_level(self) -> None:
        for county_name, town_name in CITY_NAMED_TOWNSHIP_LEVEL:
            town = self.gaz.township(county_name, town_name)
            county = town.county
            mods: list[str] = []
            prefix = self.prefix(self.rng.choice(["county_first", "no_province", "full"]), county, mods)
            hamlet = self.w.hamlet_name(county, town)
            tail = self.rng.choice([hamlet or "", "政府", ""])
            address = self.w.finish(
                self.w.join([*prefix, town.name + tail], mods) + self.w.extras(county, mods, p_person=0.9),
                mods,
            )
            self.add(
                self.township_row(
                    address,
                    county,
                    self.w.hint(county, town),
                    town,
                    "city_named_township",
                    f"township-level; {town_name} is also a city name",
                    mods,
                )
            )

    # county level -----------------------------------------------------------------------------------
    def county_row(
        self, address: str, operator: County, hint: str, c: County, form: str, note: str, mods: list[str]
    ) -> Row:
        return Row(
            address, operator.code, hint, "county", c.code, "", "", form, make_note(c.name, note, mods)
        )

    def gen_county_level(self) -> None:
        w, rng = self.w, self.rng
        for name in TARGET_COUNTIES:  # county only
            county = self.gaz.county(name)
            mods: list[str] = []
            prefix = self.prefix(
                rng.choice(["full", "no_province", "county_first", "county_short"]), county, mods
            )
            address = w.finish(w.join(prefix, mods) + w.extras(county, mods, p_person=1.0, p_note=0.3), mods)
            self.add(
                self.county_row(
                    address,
                    county,
                    w.hint(county, None),
                    county,
                    "county_only",
                    "county and nothing below it",
                    mods,
                )
            )
        for i in range(12):  # county seat street
            county = self.gaz.county(TARGET_COUNTIES[(i * 3) % len(TARGET_COUNTIES)])
            street = rng.choice([s for s in STREETS if self.rules.clean(s, county)])
            mods = []
            prefix = self.prefix(rng.choice(["full", "county_first", "county_short"]), county, mods)
            address = w.finish(
                w.join([*prefix, f"{street}{rng.randint(1, 300)}号"], mods)
                + w.extras(county, mods, p_person=0.8),
                mods,
            )
            self.add(
                self.county_row(
                    address,
                    county,
                    w.hint(county, None),
                    county,
                    "county_street",
                    f"street address, no township ({street})",
                    mods,
                )
            )
        for i in range(6):  # county institution
            county = self.gaz.county(TARGET_COUNTIES[(i * 4 + 1) % len(TARGET_COUNTIES)])
            poi = rng.choice([p for p in COUNTY_POIS if self.rules.clean(p, county)])
            mods = []
            head = w.county_short(county) if rng.random() < 0.5 else county.name
            address = w.finish(head + poi + w.extras(county, mods, p_person=0.8), mods)
            self.add(
                self.county_row(
                    address,
                    county,
                    w.hint(county, None),
                    county,
                    "county_poi",
                    f"county institution {poi}",
                    mods,
                )
            )
        for name in CITY_ROOT_COUNTIES:  # 朝阳市朝阳县 ...
            county = self.gaz.county(name)
            for _ in range(2):
                mods = []
                prefix = self.prefix("city_root_county", county, mods)
                address = w.finish(w.join(prefix, mods) + w.extras(county, mods, p_person=0.9), mods)
                self.add(
                    self.county_row(
                        address,
                        county,
                        w.hint(county, None),
                        county,
                        "city_root_county",
                        "city root + county: the county, not the city",
                        mods,
                    )
                )
        for name, old in OLD_COUNTY_NAMES.items():
            county = self.gaz.county(name)
            mods = []
            address = w.finish(f"{county.city_name}{old}" + w.extras(county, mods, p_person=1.0), mods)
            self.add(
                self.county_row(address, county, "", county, "old_county_name", f"pre-2016 name {old}", mods)
            )

    # ambiguous --------------------------------------------------------------------------------------
    def gen_ambiguous(self, cross: int, no_county: int) -> None:
        w, rng = self.w, self.rng
        groups: list[tuple[County, str, list[Village]]] = []
        for name in TARGET_COUNTIES:
            county = self.gaz.county(name)
            troots = {t.root for t in self.gaz.county_townships[county.code]}
            for (code, display), vs in sorted(self.rules.county_display.items()):
                if code != county.code or len({v.township.code for v in vs}) < 2:
                    continue
                if any(v.changed or v.kind != "village_committee" for v in vs) or display[:-1] in troots:
                    continue
                groups.append((county, display, sorted(vs, key=lambda v: v.code)))
        rng.shuffle(groups)
        for i, (county, display, vs) in enumerate(groups[: cross + no_county]):
            mods: list[str] = []
            cands = ", ".join(f"{v.code} {v.township.name}" for v in vs)
            tail = w.tail(county, mods)
            if i < cross:
                prefix = self.prefix(
                    rng.choice(["full", "county_first", "county_short", "no_province"]), county, mods
                )
                form, note = (
                    "amb_village_no_township",
                    "same village name in several townships; no township given",
                )
            else:
                prefix = []
                form = "amb_village_no_county"
                note = (
                    "same village name in several townships of the operator's county; no county, no township"
                )
            address = w.finish(w.join([*prefix, display], mods) + tail + w.extras(county, mods), mods)
            self.add(
                Row(
                    address,
                    county.code,
                    w.hint(county, None),
                    "ambiguous",
                    county.code,
                    "",
                    "",
                    form,
                    make_note(f"{county.name}/{display}: candidates {cands}", note, mods),
                )
            )
        # bare root shared by a 村 and a 社区 of one township
        pairs: list[tuple[Township, list[Village]]] = []
        for name in TARGET_COUNTIES:
            county = self.gaz.county(name)
            for town in self.gaz.county_townships[county.code]:
                by_root: dict[str, list[Village]] = defaultdict(list)
                for v in self.gaz.town_villages[town.code]:
                    by_root[v.root].append(v)
                for root, vs in sorted(by_root.items()):
                    kinds = {v.kind for v in vs}
                    if (
                        len(vs) >= 2
                        and len(root) >= 2
                        and root != town.root
                        and len(kinds) >= 2
                        and not any(v.changed for v in vs)
                    ):
                        pairs.append((town, sorted(vs, key=lambda v: v.code)))
        for town, vs in pairs:
            county = town.county
            mods = []
            prefix = self.prefix(rng.choice(["county_first", "county_short", "full"]), county, mods)
            num = rng.choice(["", f"{rng.randint(1, 99)}号"])
            address = w.finish(
                w.join([*prefix, town.name, vs[0].root], mods) + num + w.extras(county, mods, p_person=0.9),
                mods,
            )
            cands = ", ".join(f"{v.code} {v.name}" for v in vs)
            self.add(
                Row(
                    address,
                    county.code,
                    w.hint(county, town),
                    "ambiguous",
                    county.code,
                    town.code,
                    "",
                    "amb_cun_or_shequ",
                    make_note(
                        f"{county.name}/{town.name}/{vs[0].root}: written without 村/社区, fits {cands}",
                        "",
                        mods,
                    ),
                )
            )
        # two townships of one county share a root (台吉镇 / 台吉街道)
        by_troot: dict[tuple[str, str], list[Township]] = defaultdict(list)
        for t in self.gaz.townships.values():
            by_troot[(t.county.code, t.root)].append(t)
        for (ccode, root), ts in sorted(by_troot.items()):
            county = self.gaz.counties[ccode]
            if len(ts) < 2 or any(v.root == root for v in self.gaz.county_villages[ccode]):
                continue
            mods = []
            address = w.finish(
                w.join([county.city_name, county.name, root], mods) + w.extras(county, mods, p_person=1.0),
                mods,
            )
            cands = ", ".join(f"{t.code} {t.name}" for t in sorted(ts, key=lambda t: t.code))
            self.add(
                Row(
                    address,
                    ccode,
                    "",
                    "ambiguous",
                    ccode,
                    "",
                    "",
                    "amb_township_root",
                    make_note(
                        f"{county.name}/{root}: township root without 镇/乡/街道 fits {cands}", "", mods
                    ),
                )
            )

    # unmatched --------------------------------------------------------------------------------------
    def gen_unmatched(self) -> None:
        counties = [self.gaz.county(n) for n in TARGET_COUNTIES]
        fixed: list[tuple[str, str, str, str]] = [
            # (address, sort_hint, form, note)
            ("河北省承德市平泉市党坝镇三家村 王秀英 13831412345", "", "other_province", "河北"),
            ("河北省承德市宽城满族自治县龙须门镇", "", "other_province", "宽城 (河北) is not 宽甸"),
            (
                "吉林省集安市青石镇 李桂兰 13504352211",
                "集安",
                "other_province",
                "吉林集安, across the Yalu bend",
            ),
            (
                "吉林省通化市集安市清河镇 张德福 13944512345",
                "",
                "other_province",
                "清河 is also a Liaoning district/village name",
            ),
            ("吉林省长春市朝阳区红旗街88号", "", "other_province", "朝阳区 of 长春, not 朝阳县/朝阳市"),
            ("北京市朝阳区建国路93号 刘丽 18611112222", "", "other_province", "朝阳区 of Beijing"),
            ("内蒙古赤峰市喀喇沁旗锦山镇 赵国庆 15947612345", "", "other_province", "喀喇沁旗 is not 喀左"),
            ("内蒙古自治区赤峰市宁城县八里罕镇", "", "other_province", "neighbour of 建平/凌源"),
            ("内蒙古通辽市库伦旗库伦镇 13847512345", "", "other_province", "neighbour of 阜新/彰武"),
            ("陕西省西安市雁塔区小寨东路 王敏 13991234567", "", "other_province", "西安市, not 大洼区西安镇"),
            ("黑龙江省尚志市亚布力镇", "", "other_province", "尚志市, not 朝阳县尚志乡"),
            ("吉林省白山市浑江区 孙宝林 13843912345", "", "other_province", "白山市, not 建平县白山乡"),
            ("吉林省四平市梨树县 13604341234", "", "other_province", "四平市"),
            ("河北省秦皇岛市青龙满族自治县 13730312345", "", "other_province", "满族自治县 outside Liaoning"),
            ("浙江省义乌市稠城街道 快递", "", "other_province", "义乌, not 义县"),
            (
                "山东省烟台市芝罘区 姜海涛 15053512345",
                "",
                "other_province",
                "烟台, also a 灯塔市 street name",
            ),
            ("吉林省吉林市丰满区", "", "other_province", "吉林市"),
            ("江苏省南京市鼓楼区中山路1号", "", "other_province", "中山路 / 鼓楼"),
            ("黑龙江省哈尔滨市道里区", "", "other_province", ""),
            ("天津市河北区 李伟 13012345678", "", "other_province", "河北区 of 天津"),
            ("13904271234", "", "phone_only", "a phone number and nothing else"),
            ("138****1234", "", "phone_only", "masked phone only"),
            ("0415-5612345", "", "phone_only", "landline only"),
            ("张三 13800001111", "", "name_phone_only", "name and phone, no place"),
            ("", "", "empty", "empty string"),
            (" ", "", "empty", "one space"),
            ("\u3000\u3000", "", "empty", "full-width spaces"),
            ("无", "", "placeholder", "placeholder 无"),
            ("同上", "", "placeholder", "placeholder 同上"),
            ("详见备注", "", "placeholder", "placeholder"),
            ("-", "", "placeholder", "dash"),
            ("null", "", "placeholder", "null string"),
            ("N/A", "", "placeholder", ""),
            ("测试地址请勿发货", "", "placeholder", "test order"),
            ("📦📦📦", "", "emoji", "emoji only"),
            ("🏠😊🙏", "", "emoji", "emoji only"),
            ("asdfghjkl", "", "garbage", "keyboard mash"),
            ("？？？？", "", "garbage", "question marks"),
            ("123456789", "", "garbage", "digits"),
            ("!@#$%^&*()", "", "garbage", "punctuation"),
            ("啊啊啊啊啊", "", "garbage", "filler characters"),
            ("辽宁省 王秀英 13904271234", "", "province_only", "province only: names no county"),
            (
                "辽宁省朝阳市 刘丽 13904211234",
                "",
                "city_only",
                "city only: must not become 朝阳县 ({朝阳县}); names no county",
            ),
            (
                "辽宁省抚顺市 李伟 13904131234",
                "",
                "city_only",
                "city only: must not become 抚顺县 ({抚顺县}); names no county",
            ),
        ]
        for i, (address, hint, form, note) in enumerate(fixed):
            operator = counties[(i * 7 + 3) % len(counties)]
            note = note.format_map({n: self.gaz.county(n).code for n in ("朝阳县", "抚顺县")})
            if form == "city_only":
                city = "朝阳市" if "朝阳" in address else "抚顺市"
                operator = next(c for c in counties if c.city_name == city)
            self.add(Row(address, operator.code, hint, "unmatched", "", "", "", form, note))

    def generate(self) -> list[Row]:
        self.gen_city_named()
        self.gen_renamed()
        self.gen_ethnic_townships(per_town=2)
        self.gen_cuncun(limit=15)
        self.gen_shequ(count=15)
        self.gen_city_districts(per_district=2)
        self.gen_main_villages(per_county=20)
        self.gen_cross_county(count=20)
        self.gen_hamlets(per_county=2)
        self.gen_township_only(count=12)
        self.gen_township_poi(count=10)
        self.gen_township_street(count=6)
        self.gen_city_named_township_level()
        self.gen_county_level()
        self.gen_ambiguous(cross=32, no_county=6)
        self.gen_unmatched()
        return self.rows


# --- output, summary, check -----------------------------------------------------------------------------
def write_csv(rows: list[Row], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for r in rows:
            writer.writerow([getattr(r, c) for c in COLUMNS])


def summary(rows: list[dict[str, str]], gaz: Gazetteer) -> str:
    out = [f"rows: {len(rows)}", ""]

    def table(title: str, counter: Counter[str]) -> None:
        out.extend([f"| {title} | rows |", "|---|---:|"])
        out.extend(f"| {k} | {n} |" for k, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))
        out.append("")

    table("expected_status", Counter(r["expected_status"] for r in rows))
    county_names = Counter(
        f"{gaz.counties[r['expected_county_code']].name} {r['expected_county_code']}"
        if r["expected_county_code"]
        else "(none)"
        for r in rows
    )
    table("expected county", county_names)
    table("form (status)", Counter(f"{r['form']} ({r['expected_status']})" for r in rows))
    mods: Counter[str] = Counter()
    for r in rows:
        m = re.search(r"mods=([\w,=]+)", r["note"])
        if m:
            mods.update(x for x in m.group(1).split(",") if x)
    table("modifier (in note, mods=...)", mods)
    hinted = sum(1 for r in rows if r["sort_hint"])
    elsewhere = sum(
        1 for r in rows if r["expected_county_code"] and r["operator_county"] != r["expected_county_code"]
    )
    out.append(
        f"rows with a sort_hint: {hinted}; rows whose operator_county is not the expected county: {elsewhere}"
    )
    return "\n".join(out) + "\n"


def check(rows: list[dict[str, str]], gaz: Gazetteer) -> list[str]:
    """Every label is consistent with the gazetteer; returns the problems found."""
    problems = []
    vnames = {v.code: v for v in gaz.villages.values() if not v.code.startswith("+")}
    for i, r in enumerate(rows, start=2):
        status, c, t, v = (
            r["expected_status"],
            r["expected_county_code"],
            r["expected_township_code"],
            r["expected_village_code"],
        )
        if r["operator_county"] not in gaz.counties:
            problems.append(f"line {i}: operator_county {r['operator_county']} unknown")
        want = {"village": (1, 1, 1), "township": (1, 1, 0), "county": (1, 0, 0), "unmatched": (0, 0, 0)}
        if status == "ambiguous":
            if not c or v:
                problems.append(f"line {i}: ambiguous needs a county and no village")
        elif status in want:
            if tuple(int(bool(x)) for x in (c, t, v)) != want[status]:
                problems.append(f"line {i}: {status} with codes {c!r} {t!r} {v!r}")
        else:
            problems.append(f"line {i}: status {status!r}")
        if c and c not in gaz.counties:
            problems.append(f"line {i}: county {c} unknown")
        if t and (t not in gaz.townships or gaz.townships[t].county.code != c):
            problems.append(f"line {i}: township {t} not in county {c}")
        if v and (v not in vnames or vnames[v].township.code != t):
            problems.append(f"line {i}: village {v} not in township {t}")
        if status == "village" and r["form"] not in ("renamed_2023", "renamed_2023_oldname"):
            village = vnames[v]
            written = re.sub(r"\s", "", r["address"].translate({0x3000: None}))
            if village.root not in written:
                problems.append(f"line {i}: village root {village.root} not in the address")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gazetteer", type=Path, default=DEFAULT_GAZETTEER)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--summary", action="store_true", help="print the counts of an existing --out file")
    parser.add_argument("--check", type=Path, help="verify a generated CSV against the gazetteer")
    parser.add_argument("--seed", type=int, default=SEED, help="another seed gives a held-out set")
    args = parser.parse_args(argv)
    gaz = load(args.gazetteer.resolve())
    if args.check or args.summary:
        path = args.check or args.out
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        if args.summary:
            sys.stdout.write(summary(rows, gaz))
        if args.check:
            problems = check(rows, gaz)
            sys.stdout.write("\n".join(problems) + "\n" if problems else f"ok: {len(rows)} rows\n")
            return 1 if problems else 0
        return 0
    generated = Generator(gaz, args.seed).generate()
    write_csv(generated, args.out)
    sys.stdout.write(f"wrote {len(generated)} rows to {args.out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
