"""The address matcher: county → township → village, from the names an address text contains.

It never guesses. Every level it reports is named in the text (or, for the county, given by the operator
or the carrier's sort hint as evidence), each lower level must belong to the level above, and where two
villages fit equally the answer is ``ambiguous``. A bare name root (青山 for 青山村委会) is trusted only
right after its township; a city root that is also a county root (朝阳 for 朝阳市 and 朝阳县) is the city.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import ahocorasick

from dispatch.matching.gazetteer import Division, Gazetteer, Level
from dispatch.matching.normalise import (
    PROVINCES,
    alias_form,
    city_forms,
    county_forms,
    normalise,
    starts_with_house_part,
    township_forms,
    village_forms,
)

HOME_PROVINCE = "辽宁"


class Status(StrEnum):
    VILLAGE = "village"
    TOWNSHIP = "township"
    COUNTY = "county"
    AMBIGUOUS = "ambiguous"
    UNMATCHED = "unmatched"


@dataclass(frozen=True, slots=True)
class Match:
    status: Status
    county_code: str | None = None
    township_code: str | None = None
    village_code: str | None = None
    confidence: float = 0.0
    evidence: tuple[str, ...] = ()
    reason: str | None = None  # why not (further): unmatched / ambiguous / stopped at a level
    candidates: tuple[str, ...] = ()  # the villages that fit equally, for ambiguous answers


@dataclass(frozen=True, slots=True)
class _Entry:
    level: str  # "province" | "other_province" | "city" | county/township/village
    code: str
    strong: bool
    county: str = ""  # the county of a county, township or village entry


@dataclass(frozen=True, slots=True)
class _Hit:
    start: int
    end: int  # exclusive
    entry: _Entry
    form: str


@dataclass
class Matcher:
    """Built once per gazetteer (about a second for a province); ``match`` is then pure and fast."""

    gazetteer: Gazetteer
    _automaton: ahocorasick.Automaton = field(init=False, repr=False)
    _city_counties: dict[str, set[str]] = field(init=False, repr=False)
    _hint_cache: dict[str, list[_Hit]] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        forms: dict[str, list[_Entry]] = defaultdict(list)
        city_roots: set[str] = set()
        self._city_counties = defaultdict(set)
        for county in self.gazetteer.counties():
            if county.city_name:
                strong, weak = city_forms(county.city_name)
                city_roots.update(weak)
                for form in strong + weak:
                    self._city_counties[form].add(county.code)
        for city_form in self._city_counties:
            forms[city_form].append(_Entry("city", city_form, True))
        for root in PROVINCES:
            level = "province" if root == HOME_PROVINCE else "other_province"
            for form in (root + "省", root + "市", root + "自治区", root):
                forms[form].append(_Entry(level, root, True))
        for division in self.gazetteer.divisions.values():
            if division.level is Level.COUNTY:
                strong, weak = county_forms(division.name)
                weak = [w for w in weak if w not in city_roots]  # 朝阳 alone is the city, not 朝阳县
            elif division.level is Level.TOWNSHIP:
                strong, weak = township_forms(division.name)
            else:
                strong, weak = village_forms(division.name)
            for other in division.other_names:  # earlier names (renamed villages) still resolve
                more_strong, more_weak = (
                    village_forms(other) if division.level is Level.VILLAGE else ([other], [])
                )
                strong, weak = [*strong, *more_strong], [*weak, *more_weak]
            for form in dict.fromkeys(strong):
                forms[form].append(_Entry(division.level.value, division.code, True, division.county_code))
            for form in dict.fromkeys(weak):
                forms[form].append(_Entry(division.level.value, division.code, False, division.county_code))
        automaton = ahocorasick.Automaton()
        for form, entries in forms.items():
            automaton.add_word(form, (form, tuple(entries)))
        automaton.make_automaton()
        self._automaton = automaton

    # ---- helpers ---------------------------------------------------------------------------------------
    def _is_place(self, segment: str) -> bool:
        """True when a trailing part is, or opens with, a division's name form (城关, 台吉尹霞): a place,
        not just a person's name."""
        return any(segment[:k] in self._automaton for k in (len(segment), 3, 2) if k <= len(segment))

    def _hits(self, text: str, scope: set[str] | None = None) -> list[_Hit]:
        """Every name form in the text, less those inside a longer strong form (白塔 in 白塔子镇).

        With ``scope`` (counties the address can be in), bare roots of townships and villages elsewhere
        are left out: they can never be chosen, and common roots (青山) name hundreds of villages.
        """
        hits: list[_Hit] = []
        for end, (form, entries) in self._automaton.iter(text):
            start = end - len(form) + 1
            for entry in entries:
                if (
                    scope is not None
                    and not entry.strong
                    and entry.level in ("township", "village")
                    and entry.county not in scope
                ):
                    continue
                hits.append(_Hit(start, end + 1, entry, form))
        strong_spans = {(h.start, h.end) for h in hits if h.entry.strong}
        kept = [
            h
            for h in hits
            if (h.entry.strong and h.entry.level not in ("city", "province", "other_province"))
            or not any(s <= h.start and h.end <= e and (s, e) != (h.start, h.end) for s, e in strong_spans)
        ]
        kept.sort(key=lambda h: (h.start, -(h.end - h.start)))
        return kept

    def _scope(self, text: str, county_hint: str | None, sort_hint: str | None) -> set[str]:
        """Every county the address could be in: any county form in the text, the operator's, the hint's."""
        scope = {
            entry.code
            for _end, (_form, entries) in self._automaton.iter(text)
            for entry in entries
            if entry.level == "county"
        }
        if county_hint:
            scope.add(county_hint)
        if sort_hint:
            scope.update(h.entry.code for h in self._hint_hits(sort_hint) if h.entry.level == "county")
        return scope

    def _hint_hits(self, sort_hint: str) -> list[_Hit]:
        """Hits of a sort hint; carriers print the same few hints on thousands of parcels, so cached."""
        cached = self._hint_cache.get(sort_hint)
        if cached is None:
            if len(self._hint_cache) > 4096:
                self._hint_cache.clear()
            cached = self._hint_cache[sort_hint] = self._hits(normalise(sort_hint, is_place=self._is_place))
        return cached

    def _division(self, code: str) -> Division:
        return self.gazetteer.divisions[code]

    # ---- matching --------------------------------------------------------------------------------------
    def alias_key(self, address: str) -> str:
        """The form of an address an alias is stored under: normalised, house numbers and names taken out,
        so '青山沟镇王家屯5组 李四' and '青山沟镇王家屯二组' share one."""
        return alias_form(normalise(address, is_place=self._is_place))

    def match(
        self,
        address: str,
        *,
        county_hint: str | None = None,
        sort_hint: str | None = None,
        aliases: Mapping[str, str] | None = None,
    ) -> Match:
        """Resolve one address. ``county_hint`` is the operator's county code (evidence, not an answer);
        ``aliases`` maps alias keys (see ``alias_key``) to the village code a dispatcher chose for them."""
        text = normalise(address, is_place=self._is_place)
        if not text:
            return Match(Status.UNMATCHED, reason="no address text (empty, or only a phone number or name)")
        alias = aliases.get(alias_form(text)) if aliases else None
        if alias is not None and alias in self.gazetteer.divisions:
            village = self._division(alias)
            return Match(
                Status.VILLAGE,
                village.county_code,
                village.township_code,
                village.code,
                1.0,
                ("alias: a dispatcher assigned this address form before",),
            )
        hits = self._hits(text, self._scope(text, county_hint, sort_hint))
        evidence: list[str] = []
        if hits and hits[0].start == 0 and hits[0].entry.level == "other_province":
            return Match(Status.UNMATCHED, reason=f"address is in another province ({hits[0].entry.code})")

        # County: named in the text, else the operator's county, else the sort hint's.
        anchor_end = 0
        for hit in hits:
            if hit.entry.level in ("province", "city") and hit.start <= anchor_end + 1:
                anchor_end = max(anchor_end, hit.end)
        cities = {h.entry.code for h in hits if h.entry.level == "city" and h.start < anchor_end + 1}
        county_hits = [
            h
            for h in hits
            if h.entry.level == Level.COUNTY
            and (
                h.entry.strong
                or (
                    h.start <= anchor_end
                    and (anchor_end > 0 or h.entry.code == county_hint or self._child_follows(h, hits))
                )
            )
        ]
        if cities:
            allowed = set().union(*(self._city_counties[c] for c in cities))
            county_hits = [h for h in county_hits if h.entry.code in allowed] or county_hits
        county_code: str | None = None
        county_end = anchor_end
        confidence = 1.0
        if county_hits:
            chosen = self._pick_county(county_hits, hits)
            county_code, county_end = chosen.entry.code, chosen.end
            evidence.append(f"county {self._division(county_code).name} named as {chosen.form}")
        elif (
            county_hint
            and county_hint in self.gazetteer.divisions
            and (not cities or county_hint in set().union(*(self._city_counties[c] for c in cities)))
        ):
            county_code = county_hint
            confidence -= 0.03
            evidence.append(f"county {self._division(county_code).name} from the operator")
        hint_hits = self._hint_hits(sort_hint) if sort_hint else []
        if county_code is None and hint_hits:
            hinted = [h for h in hint_hits if h.entry.level == Level.COUNTY]
            if hinted:
                county_code = hinted[0].entry.code
                confidence -= 0.05
                evidence.append(f"county from the sort hint {sort_hint!r}")
        if county_code is None:
            return self._without_county(hits, evidence)

        # Township of that county.
        township_hits = [
            h
            for h in hits
            if h.entry.level == Level.TOWNSHIP
            and h.start >= county_end
            and self._division(h.entry.code).county_code == county_code
            and (h.entry.strong or h.start == county_end)
        ]
        village_hits = [
            h
            for h in hits
            if h.entry.level == Level.VILLAGE
            and h.start >= county_end
            and self._division(h.entry.code).county_code == county_code
        ]
        township, tied = self._pick_township(township_hits, village_hits)
        if tied:
            return Match(
                Status.AMBIGUOUS,
                county_code,
                None,
                None,
                0.5,
                tuple(evidence),
                f"{len(tied)} townships of this county fit {township_hits[0].form!r}",
                tuple(sorted(tied)),
            )
        if township is not None:
            evidence.append(f"township {self._division(township.entry.code).name} named as {township.form}")
            if not township.entry.strong:
                confidence -= 0.05
            return self._village_in_township(township, village_hits, county_code, confidence, evidence, text)

        # No township named: the sort hint may name it.
        county_spans = {(h.start, h.end) for h in hint_hits if h.entry.level == Level.COUNTY}
        hinted_townships = [  # 新宾 in a hint is the county, not 新宾镇
            h.entry.code
            for h in hint_hits
            if h.entry.level == Level.TOWNSHIP
            and self._division(h.entry.code).county_code == county_code
            and (h.start, h.end) not in county_spans
        ]
        strong_villages = [h for h in village_hits if h.entry.strong]
        if hinted_townships:
            in_hinted = [
                h for h in strong_villages if self._division(h.entry.code).township_code in hinted_townships
            ]
            if in_hinted:
                strong_villages = in_hinted
                evidence.append(f"township from the sort hint {sort_hint!r}")
        return self._village_in_county(strong_villages, county_code, confidence, evidence, bool(county_hits))

    def _child_follows(self, county: _Hit, hits: list[_Hit]) -> bool:
        return any(
            h.entry.level in (Level.TOWNSHIP, Level.VILLAGE)
            and h.start == county.end
            and self._division(h.entry.code).county_code == county.entry.code
            for h in hits
        )

    def _pick_county(self, county_hits: list[_Hit], hits: list[_Hit]) -> _Hit:
        strong = [h for h in county_hits if h.entry.strong] or county_hits
        for hit in strong:  # prefer the county whose township follows it
            for other in hits:
                if (
                    other.entry.level == Level.TOWNSHIP
                    and other.start >= hit.end
                    and self._division(other.entry.code).county_code == hit.entry.code
                ):
                    return hit
        return strong[0]

    def _pick_township(
        self, township_hits: list[_Hit], village_hits: list[_Hit]
    ) -> tuple[_Hit | None, set[str]]:
        """The township named (preferring one followed by one of its villages), or the set that tie."""
        if not township_hits:
            return None, set()
        followed = [
            hit
            for hit in township_hits
            if any(
                v.start >= hit.end and self._division(v.entry.code).township_code == hit.entry.code
                for v in village_hits
            )
        ]
        if len({h.entry.code for h in followed}) == 1:
            return followed[0], set()
        pool = followed or [h for h in township_hits if h.entry.strong] or township_hits
        first = pool[0]
        tied = {h.entry.code for h in pool if (h.start, h.end) == (first.start, first.end)}
        return (first, set()) if len(tied) == 1 else (None, tied)

    def _village_in_township(
        self,
        township: _Hit,
        village_hits: list[_Hit],
        county_code: str,
        confidence: float,
        evidence: list[str],
        text: str,
    ) -> Match:
        township_code = township.entry.code
        own = [
            h
            for h in village_hits
            if self._division(h.entry.code).township_code == township_code
            and h.start >= township.end
            and (
                h.entry.strong
                or (h.start == township.end and starts_with_house_part(text[h.end :], self._is_place))
            )
        ]
        if not own:
            others = [h for h in village_hits if h.start >= township.end and h.entry.strong]
            reason = "no village of this township is named"
            if others:
                reason = f"{others[0].form} is not a village of this township"
            return Match(
                Status.TOWNSHIP,
                county_code,
                township_code,
                None,
                round(confidence - 0.1, 2),
                tuple(evidence),
                reason,
            )
        first_start = min(h.start for h in own)
        at_first = [h for h in own if h.start == first_start]
        longest = max(h.end for h in at_first)
        best = {h.entry.code for h in at_first if h.end == longest}
        best = self._prefer_current(best)
        if len(best) > 1:
            return Match(
                Status.AMBIGUOUS,
                county_code,
                township_code,
                None,
                0.5,
                tuple(evidence),
                "two villages of this township have this name",
                tuple(sorted(best)),
            )
        code = next(iter(best))
        hit = next(h for h in at_first if h.entry.code == code)
        evidence.append(f"village {self._division(code).name} named as {hit.form}")
        if not hit.entry.strong:
            confidence -= 0.08
        return Match(Status.VILLAGE, county_code, township_code, code, round(confidence, 2), tuple(evidence))

    def _village_in_county(
        self, villages: list[_Hit], county_code: str, confidence: float, evidence: list[str], named: bool
    ) -> Match:
        if not villages:
            if named:
                return Match(
                    Status.COUNTY,
                    county_code,
                    None,
                    None,
                    round(confidence - 0.2, 2),
                    tuple(evidence),
                    "no township or village of this county is named",
                )
            return Match(
                Status.UNMATCHED, reason="no place name of this county found", evidence=tuple(evidence)
            )
        first_start = min(h.start for h in villages)
        at_first = [h for h in villages if h.start == first_start]
        longest = max(h.end for h in at_first)
        best = self._prefer_current({h.entry.code for h in at_first if h.end == longest})
        if len(best) > 1:
            townships = {self._division(c).township_code for c in best}
            return Match(
                Status.AMBIGUOUS,
                county_code,
                townships.pop() if len(townships) == 1 else None,
                None,
                0.5,
                tuple(evidence),
                f"{len(best)} villages of this county have this name; the township is not named",
                tuple(sorted(best)),
            )
        code = next(iter(best))
        village = self._division(code)
        form = next(h.form for h in at_first if h.entry.code == code)
        evidence.append(f"village {village.name} named as {form}; its township is the only one with it")
        return Match(
            Status.VILLAGE,
            county_code,
            village.township_code,
            code,
            round(confidence - 0.05, 2),
            tuple(evidence),
        )

    def _without_county(self, hits: list[_Hit], evidence: list[str]) -> Match:
        townships = {h.entry.code for h in hits if h.entry.level == Level.TOWNSHIP and h.entry.strong}
        if len(townships) == 1:
            code = next(iter(townships))
            return Match(
                Status.TOWNSHIP,
                self._division(code).county_code,
                code,
                None,
                0.7,
                (*evidence, "township named; no county given"),
                "no county named or given",
            )
        if any(h.entry.level == "city" for h in hits):
            return Match(
                Status.UNMATCHED, reason="a city is named but none of its counties", evidence=tuple(evidence)
            )
        return Match(Status.UNMATCHED, reason="no place name recognised", evidence=tuple(evidence))

    def _prefer_current(self, codes: set[str]) -> set[str]:
        current = {c for c in codes if not self._division(c).retired}
        return current or codes
