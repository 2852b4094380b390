"""Address text as parcels carry it -> a compact form the matcher reads, and the names' surface forms.

Normalising: full-width to half-width (NFKC), spaces and punctuation out, trailing phone numbers and
recipient names out, delivery notes (放驿站, 村口超市代收 …) out. Surface forms: how a division's name is
written on waybills — 宽甸满族自治县 as 宽甸县 or 宽甸, 青山村委会 as 青山村 or 青山, 青山沟镇 as 青山沟.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

MAX_CHARS = 300
"""Longer text is cut: no real address is longer, and matching time stays bounded."""

_PHONE = re.compile(
    r"(?:\+?86[-\s]?)?1[3-9]\d[-\s]?[\d*]{4}[-\s]?\d{4}(?:[-转]\d{1,6})?"  # mobile (grouped, masked), + ext
    r"|0\d{2,3}-?\d{7,8}"  # landline
)
_NOTE = re.compile(
    r"^(?:请?放|放到|放在|送到|送至|寄存|存放)|(?:代收|代签|代取)$"
    r"|^(?:电联|电话联系|打电话|先联系|联系|送货前|到了|不在家|周末|工作日|急件|易碎|备注|先打|谢谢)"
)
_NOTE_ANYWHERE = re.compile(r"电话|再送|送货|派送前|代收|驿站")
_BRACKETED = re.compile(r"[(（]([^()（）]*)[)）]")
_SEGMENTS = re.compile(r"[\s,，。;；、|:：]+")
_ADMIN_END = (
    "省",
    "市",
    "县",
    "区",
    "旗",
    "镇",
    "乡",
    "村",
    "屯",
    "组",
    "社",
    "号",
    "街道",
    "路",
    "街",
    "队",
    "委会",
    "社区",
)
_NAME = re.compile(r"^[\u4e00-\u9fff]{2,4}(?:先生|女士|小姐)?$")
_PUNCT = re.compile(r"[\s,，。.、;；:：()（）【】\[\]{}<>《》\"'“”‘’!！?？*~～·…#＃/\\|_=+\-—–－]+")
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f]")

_CN_DIGITS = "零〇一二三四五六七八九十"


def normalise(text: str, *, is_place: Callable[[str], bool] | None = None) -> str:
    """The address with width, spacing, punctuation, phones, recipient names and delivery notes taken out.

    Parts after the first that are only a phone, a personal name (2-4 characters with no place suffix)
    or a delivery note (放驿站, 村口超市代收, 电联) are dropped; the first part is always kept.
    """
    text = unicodedata.normalize("NFKC", text or "")[: MAX_CHARS * 2]
    text = _EMOJI.sub("", text)
    text = _PHONE.sub(" ", text)
    text = _BRACKETED.sub(lambda m: " " if _is_note(m.group(1)) else m.group(0), text)
    segments = [s for s in _SEGMENTS.split(text) if s]
    # Names and notes trail the address ("… 3组 刘桂兰 放驿站"): drop them from the end only, so a
    # place written apart ("黑山县 大虎山街道 七台子 11组") is never taken for a name.
    while len(segments) > 1:
        last = segments[-1]
        if _is_note(last) or (_is_name(last) and not (is_place and is_place(last))):
            segments.pop()
            continue
        break
    return _PUNCT.sub("", "".join(segments))[:MAX_CHARS]


def _is_note(segment: str) -> bool:
    """A delivery note: opens like one, or is short, has no number and names a delivery word."""
    if _NOTE.search(segment):
        return True
    return (
        len(segment) <= 10 and not any(c.isdigit() for c in segment) and bool(_NOTE_ANYWHERE.search(segment))
    )


def _is_name(segment: str) -> bool:
    return bool(_NAME.match(segment)) and not segment.endswith(_ADMIN_END)


def is_cjk(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff"


# ---- surface forms of division names ------------------------------------------------------------------

_VILLAGE_SUFFIXES = (
    "村村民委员会",
    "村村委会",
    "村民委员会",
    "村委会",
    "社区居民委员会",
    "社区居委会",
    "居民委员会",
    "居委会",
    "社区",
    "委员会",
    "村",
)
_ETHNIC = ("满族", "蒙古族", "朝鲜族", "回族", "锡伯族", "达斡尔族")
_COUNTY_SHORT = {"喀喇沁左翼蒙古族自治县": ("喀左县", "喀左")}


_PAREN = re.compile(r"[(（]([^)）]*)[)）]$")


def village_forms(name: str) -> tuple[list[str], list[str]]:
    """(strong forms, weak forms) of a village name. A weak form (the bare root) is only trusted right
    after the township or county it belongs to. 山根村（山根分场） is also known by the part in brackets."""
    name = unicodedata.normalize("NFKC", name)
    bracket = _PAREN.search(name)
    if bracket:
        inner_strong, _inner_weak = village_forms(bracket.group(1)) if bracket.group(1) else ([], [])
        outer_strong, outer_weak = village_forms(name[: bracket.start()])
        return sorted({*outer_strong, *inner_strong}), outer_weak
    root = name
    for suffix in _VILLAGE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            root = name[: -len(suffix)]
            break
    residents = name.endswith(("社区", "居委会", "居民委员会"))
    strong = {name}
    if residents:
        strong |= {root + "社区", root + "社区居委会", root + "居委会"}
    else:
        strong |= {root + "村", root + "村委会", root + "村民委员会", root + "村村委会"}
    weak = [root] if len(root) >= 2 else []
    return sorted(strong), weak


def township_forms(name: str) -> tuple[list[str], list[str]]:
    root = name
    for ethnic in _ETHNIC:
        if name.endswith(ethnic + "乡"):
            root = name[: -len(ethnic) - 1]
            break
    else:
        for suffix in ("街道办事处", "街道", "镇", "乡", "苏木"):
            if name.endswith(suffix) and len(name) > len(suffix):
                root = name[: -len(suffix)]
                break
    strong = {name}
    if root != name and len(root) >= 2:
        strong |= {root + "镇", root + "乡"} if not name.endswith(("街道", "街道办事处")) else {root + "街道"}
    weak = [root] if root != name and len(root) >= 2 else []
    return sorted(strong), weak


def county_forms(name: str) -> tuple[list[str], list[str]]:
    strong = {name}
    weak: list[str] = []
    if name in _COUNTY_SHORT:
        short, bare = _COUNTY_SHORT[name]
        strong.add(short)
        weak.append(bare)
    root = name
    if name.endswith("自治县"):
        root = name[: -len("自治县")]
        for ethnic in _ETHNIC:
            root = root.removesuffix(ethnic)
        strong.add(root + "县")
    elif name.endswith(("县", "区", "市")) and len(name) > 2:
        root = name[:-1]
    if root != name and len(root) >= 2:
        weak.append(root)
    return sorted(strong), weak


def city_forms(name: str) -> tuple[list[str], list[str]]:
    root = name.removesuffix("市")
    return ([name], [root] if root != name and len(root) >= 2 else [])


PROVINCES = (
    "北京",
    "天津",
    "河北",
    "山西",
    "内蒙古",
    "辽宁",
    "吉林",
    "黑龙江",
    "上海",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "广西",
    "海南",
    "重庆",
    "四川",
    "贵州",
    "云南",
    "西藏",
    "陕西",
    "甘肃",
    "青海",
    "宁夏",
    "新疆",
    "台湾",
    "香港",
    "澳门",
)
"""Province roots; an address that opens with another province's name is outside this gazetteer."""

_HOUSE = re.compile(
    r"^(?:[\d" + _CN_DIGITS + r"]+(?:组|社|队|号|排|栋|单元|户|号院)|[\d" + _CN_DIGITS + r"]+$)"
)


def starts_with_house_part(rest: str, is_place: Callable[[str], bool] | None = None) -> bool:
    """True when what follows a name is a group/house number (3组, 二社, 12号), nothing, or only a
    person's name glued on at the end (民主曾志强)."""
    if not rest or _HOUSE.match(rest):
        return True
    return _is_name(rest) and not (is_place and is_place(rest))


_HOUSE_ANYWHERE = re.compile(r"[\d" + _CN_DIGITS + r"]+(?:组|社|队|号|排|栋|单元|户|号院|楼|层|室)|\d+$")


def alias_form(normalised: str) -> str:
    """A normalised address with group and house numbers taken out (the key dispatchers' corrections
    are remembered under)."""
    return _HOUSE_ANYWHERE.sub("", normalised)
