"""Settling a period: every party's statement, each line traceable to its parcels and routes.

What is charged (all integer fen; the contract version is the one valid on the service day):

* **Carriers** (owe the operator), per parcel on the operator-calendar day it was done (``Parcel.done_at``:
  first handed to a station or locker, delivered, or picked up):
  ``delivery_fee`` — pieces × the fee of the parcel's zone and weight tier (weight per piece, rounded up);
  ``pickup_fee`` — pieces × the pickup fee, for outbound produce; ``cod_fee`` — the COD amount × the rate
  in basis points, rounded half up, per parcel; ``cold_surcharge`` — pieces × the surcharge for chilled or
  frozen parcels; ``monthly_minimum`` — for each calendar month wholly inside the statement's period, the
  fees above topped up to the contract's minimum (prorated by the days a version with a minimum is valid);
  ``route_cost_share`` — where the contract says so, the carrier's part of each route it rode: the driver's
  pay for the route divided among the route's carriers by the weights fixed when the plan was made (the
  operator's split rule; largest remainder, so the parts of one route sum to its pay exactly; parts of
  carriers that do not share route costs stay with the operator).
* **Station keepers** (are owed): ``commission_delivered`` and ``commission_picked_up`` — pieces × the rate,
  per parcel done at their station.
* **Drivers** (are owed): ``route_pay`` per route (the current manifest version of a vehicle, day and
  wave): fixed + per km × distance (rounded half up) + per stop × stops.

Statements are per party and period (``by``: the whole range, or each day, week (Monday first) or calendar
month in it). Carriers with a contract valid in the period get one even when it is empty; other parties
when they have a line. An open statement is replaced when the period is settled again; a closed one never
changes: settling again appends ``adjustment`` lines for whatever differs, per line and per parcel or route,
and the desk may append its own (``manual_adjustment``). Parcels or routes with no contract to price them
are not charged and are reported in ``warnings``.
"""

from __future__ import annotations

import io
import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from carriers.unified import Direction, Temperature
from dispatch.config import Settings
from dispatch.db import is_postgres, utcnow
from dispatch.errors import Conflict, NotFound, ValidationFailed
from dispatch.models import (
    CarrierAccount,
    Contract,
    Driver,
    Manifest,
    Operator,
    Parcel,
    PartyKind,
    Statement,
    StatementItem,
    StatementLine,
    StatementStatus,
    Station,
)
from dispatch.settlements.contracts import ContractBook, Version
from dispatch.settlements.schemas import ANY_ZONE, CarrierTerms, DriverTerms, StationTerms
from routing.distance import haversine_m
from routing.split import SplitError, largest_remainder

ProgressFn = Callable[[float, str], None]

MANUAL = "manual_adjustment"
ADJUSTMENT = "adjustment"
MAX_DAYS = 366
"""Longest range one settlement covers."""
LOOKBACK = "lookback"
"""The period kind of days before the range, priced only for a month's minimum and never written."""


@dataclass(frozen=True, slots=True)
class Period:
    first: date
    last: date
    kind: str


def periods(first: date, last: date, by: str) -> list[Period]:
    """The range [first, last] cut ``by`` period (whole range, day, week from Monday, calendar month);
    the first and last pieces may be partial. ``ValidationFailed`` for a range backwards or too long."""
    if last < first:
        raise ValidationFailed(
            "to is before from", errors=[{"field": "to", "reason": f"{last} is before from {first}"}]
        )
    for name, day in (("from", first), ("to", last)):
        if not 2000 <= day.year <= 2100:
            raise ValidationFailed(
                f"{name} out of range", errors=[{"field": name, "reason": "must be in the years 2000–2100"}]
            )
    if (last - first).days + 1 > MAX_DAYS:
        raise ValidationFailed(
            "range too long", errors=[{"field": "to", "reason": f"at most {MAX_DAYS} days in one settlement"}]
        )
    if by == "period":
        return [Period(first, last, period_kind(first, last))]
    out: list[Period] = []
    day = first
    while day <= last:
        if by == "day":
            end = day
        elif by == "week":
            end = day + timedelta(days=6 - day.weekday())
        elif by == "month":
            end = _month_end(day)
        else:
            raise ValidationFailed(
                "unknown period",
                errors=[{"field": "by", "reason": f"{by!r} is not one of period, day, week, month"}],
            )
        end = min(end, last)
        out.append(Period(day, end, period_kind(day, end)))
        day = end + timedelta(days=1)
    return out


def period_kind(first: date, last: date) -> str:
    """``day``, ``week`` (Monday to Sunday), ``month`` (a whole calendar month) or ``custom``."""
    if first == last:
        return "day"
    if first.weekday() == 0 and last == first + timedelta(days=6):
        return "week"
    if first.day == 1 and last == _month_end(first):
        return "month"
    return "custom"


def _month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


# --- drafts: what the period's statements should say --------------------------------------------------


LineKey = tuple[str, date | None, str]
Ref = uuid.UUID | str | None


@dataclass(slots=True)
class DraftLine:
    kind: str
    service_date: date | None
    rate_key: str
    unit_fen: int | None
    contract_id: uuid.UUID | None
    detail: dict[str, Any] | None = None
    quantity: int = 0
    amount_fen: int = 0
    items: list[tuple[Ref, Ref, int]] = field(default_factory=list)
    """(parcel id, manifest id, amount); ids as UUIDs or their text."""

    def add(self, quantity: int, amount: int, parcel: Ref, manifest: Ref) -> None:
        self.quantity += quantity
        self.amount_fen += amount
        self.items.append((parcel, manifest, amount))


@dataclass(slots=True)
class Draft:
    party_kind: PartyKind
    party_id: uuid.UUID
    name: str | None
    period: Period
    lines: dict[LineKey, DraftLine] = field(default_factory=dict)

    def line(
        self, kind: str, day: date | None, rate_key: str, unit_fen: int | None, version: Version | None
    ) -> DraftLine:
        key = (kind, day, rate_key)
        found = self.lines.get(key)
        if found is None:
            found = self.lines[key] = DraftLine(
                kind,
                day,
                rate_key,
                unit_fen,
                None if version is None else version.contract_id,
                None if version is None else {"contract_version": version.version},
            )
        return found

    @property
    def total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines.values())


@dataclass(slots=True)
class Computed:
    drafts: dict[tuple[PartyKind, uuid.UUID, date], Draft]
    warnings: list[dict[str, Any]]
    parcels: int
    routes: int


class _Drafts:
    def __init__(self, by_day: dict[date, Period]) -> None:
        self.by_day = by_day
        self.drafts: dict[tuple[PartyKind, uuid.UUID, date], Draft] = {}
        self.names: dict[tuple[PartyKind, uuid.UUID], str | None] = {}
        self._by_party_day: dict[tuple[PartyKind, uuid.UUID, date], Draft] = {}

    def get(self, kind: PartyKind, party: uuid.UUID, day: date) -> Draft:
        try:
            return self._by_party_day[(kind, party, day)]
        except KeyError:
            pass
        period = self.by_day[day]
        key = (kind, party, period.first)
        draft = self.drafts.get(key)
        if draft is None:
            draft = self.drafts[key] = Draft(kind, party, self.names.get((kind, party)), period)
        self._by_party_day[(kind, party, day)] = draft
        return draft


def compute(
    session: Session,
    *,
    operator: Operator,
    first: date,
    last: date,
    by: str,
    settings: Settings,
    on_progress: ProgressFn | None = None,
) -> Computed:
    """Every party's draft statement for each period of [first, last] (see the module docstring)."""
    progress = on_progress or (lambda _f, _s: None)
    cut = periods(first, last, by)
    by_day = {p.first + timedelta(days=i): p for p in cut for i in range((p.last - p.first).days + 1)}
    # A month that ends in the range but starts before it: its earlier days are priced too (never
    # written), so its minimum compares with the whole month's fees.
    lookback = first.replace(day=1) if first.day != 1 and _month_end(first) <= last else first
    if lookback < first:
        earlier = Period(lookback, first - timedelta(days=1), LOOKBACK)
        by_day.update((lookback + timedelta(days=i), earlier) for i in range((first - lookback).days))
    zone = ZoneInfo(operator.timezone)
    start = datetime.combine(lookback, time(), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), zone).astimezone(UTC)

    contracts = list(session.execute(select(Contract).where(Contract.operator_id == operator.id)).scalars())
    books = {kind: ContractBook(kind, contracts) for kind in PartyKind}
    drafts = _Drafts(by_day)
    for kind, table, name in (
        (PartyKind.CARRIER, CarrierAccount, CarrierAccount.name),
        (PartyKind.STATION, Station, Station.name),
        (PartyKind.DRIVER, Driver, Driver.name),
    ):
        for row in session.execute(select(table.id, name).where(table.operator_id == operator.id)):
            drafts.names[(kind, row[0])] = row[1]
    accounts = {
        row.id: row
        for row in session.execute(
            select(
                CarrierAccount.id, CarrierAccount.brand, CarrierAccount.active, CarrierAccount.created_at
            ).where(CarrierAccount.operator_id == operator.id)
        )
    }
    for carrier_id, account in accounts.items():
        if drafts.names.get((PartyKind.CARRIER, carrier_id)) is None:
            drafts.names[(PartyKind.CARRIER, carrier_id)] = account.brand.value
    stations = {
        r.id: r
        for r in session.execute(
            select(Station.id, Station.latitude_e6, Station.longitude_e6, Station.village_code).where(
                Station.operator_id == operator.id
            )
        )
    }
    by_distance = any(
        c.party_kind is PartyKind.CARRIER and c.terms.get("zone_by") == "distance" for c in contracts
    )
    station_distance = _station_distances(operator, stations, settings) if by_distance else {}
    progress(0.05, "loaded contracts")

    # Every active carrier with a contract in a period gets a statement, even an empty one (minimums
    # apply); a deactivated one only for what it had done.
    carrier_book = books[PartyKind.CARRIER]
    for period in cut:
        own = carrier_book.parties_with_own(period.first, period.last)
        everyone = carrier_book.has_default(period.first, period.last)
        for carrier_id in (c for c, a in accounts.items() if a.active):
            if everyone or str(carrier_id) in own:
                drafts.get(PartyKind.CARRIER, carrier_id, period.first)

    unpriced: dict[tuple[str, str], int] = defaultdict(int)
    station_book = books[PartyKind.STATION]
    zones_of: dict[uuid.UUID, _Zones] = {}
    delivery_keys: dict[tuple[str, int | None], str] = {}
    parcels = 0
    for (
        pid,
        carrier_id,
        direction,
        weight_g,
        pieces,
        temperature,
        cod_fen,
        township,
        village,
        station_id,
        day,
    ) in _done_parcels(session, operator_id=operator.id, start=start, end=end, zone=zone):
        real = day >= first  # else a day looked back at for a month's minimum
        parcels += real
        pieces = max(1, pieces)
        pickup = direction == Direction.PICKUP
        version = carrier_book.on(carrier_id, day)
        if version is None:
            if real:
                unpriced[("carrier", str(carrier_id))] += 1
        else:
            terms = cast(CarrierTerms, version.terms)
            draft = drafts.get(PartyKind.CARRIER, carrier_id, day)
            if pickup:
                if terms.pickup_fee_fen:
                    fee = terms.pickup_fee_fen
                    draft.line("pickup_fee", day, "per_piece", fee, version).add(
                        pieces, fee * pieces, pid, None
                    )
            else:
                zones = zones_of.get(version.contract_id)
                if zones is None:
                    zones = zones_of[version.contract_id] = _Zones(terms)
                zone_name = zones.zone(
                    township or (village[:9] if village else None),
                    None if station_id is None else station_distance.get(station_id),
                )
                per_piece = -(-weight_g // pieces)
                up_to, fee = zones.fee(zone_name, per_piece)
                rate_key = delivery_keys.get((zone_name, up_to))
                if rate_key is None:
                    rate_key = f"zone={zone_name};up_to_g={'+' if up_to is None else up_to}"
                    delivery_keys[(zone_name, up_to)] = rate_key
                draft.line("delivery_fee", day, rate_key, fee, version).add(pieces, fee * pieces, pid, None)
                if cod_fen and terms.cod_rate_bp:
                    cod_fee = (cod_fen * terms.cod_rate_bp + 5_000) // 10_000
                    draft.line("cod_fee", day, f"bp={terms.cod_rate_bp}", None, version).add(
                        1, cod_fee, pid, None
                    )
            if terms.cold_surcharge_fen and temperature != Temperature.AMBIENT:
                fee = terms.cold_surcharge_fen
                draft.line("cold_surcharge", day, "per_piece", fee, version).add(
                    pieces, fee * pieces, pid, None
                )
        if station_id is not None and real:
            sversion = station_book.on(station_id, day)
            if sversion is None:
                unpriced[("station", str(station_id))] += 1
            else:
                sterms = cast(StationTerms, sversion.terms)
                commission, rate = (
                    ("commission_picked_up", sterms.picked_up_fen)
                    if pickup
                    else ("commission_delivered", sterms.delivered_fen)
                )
                if rate:
                    drafts.get(PartyKind.STATION, station_id, day).line(
                        commission, day, "per_piece", rate, sversion
                    ).add(pieces, rate * pieces, pid, None)
        if parcels % 50_000 == 0:
            progress(0.05 + 0.6 * min(1.0, parcels / 300_000), f"priced {parcels} parcels")
    progress(0.65, f"priced {parcels} parcels")

    routes = _routes(
        session, operator=operator, first=first, last=last, books=books, drafts=drafts, unpriced=unpriced
    )
    _minimums(drafts, books[PartyKind.CARRIER], accounts, last, zone)
    for key in [k for k, d in drafts.drafts.items() if d.period.kind == LOOKBACK]:
        del drafts.drafts[key]
    progress(0.75, f"priced {routes} routes")
    warnings = [
        {
            "party_kind": kind,
            "party_id": party,
            "unpriced": count,
            "reason": _WHY_UNPRICED.get(kind, _NO_CONTRACT),
        }
        for (kind, party), count in sorted(unpriced.items())
    ]
    return Computed(drafts.drafts, warnings, parcels, routes)


_NO_CONTRACT = "no contract valid on the service day"
_WHY_UNPRICED = {
    "route": "a route with no driver, or published before routes kept their distance and carrier weights: "
    "not paid, not shared",
    "route_split": "the route's carrier weights cannot divide its pay: not shared",
}


_DONE_PARCELS = (
    "SELECT id::text, carrier_id::text, direction, weight_g, pieces, temperature, cod_fen, township_code,"
    " village_code, station_id::text, (done_at AT TIME ZONE %(zone)s)::date FROM parcel"
    " WHERE operator_id = %(operator)s AND done_at >= %(start)s AND done_at < %(end)s"
)


def _done_parcels(
    session: Session, *, operator_id: uuid.UUID, start: datetime, end: datetime, zone: ZoneInfo
) -> Iterable[tuple[Any, ...]]:
    """(id, carrier, direction, weight, pieces, temperature, COD, township, village, station, local day)
    of each parcel done in [start, end). PostgreSQL: one plain query through the driver, the day computed
    by the server (the ORM's row processing cost more than the pricing itself at 300,000 rows). The
    parcel id stays text there (it only goes back out in a COPY); the few carrier and station ids are
    made UUIDs once each."""
    if is_postgres(session):
        raw = cast(Any, session.connection().connection.driver_connection)
        ids: dict[str | None, uuid.UUID | None] = {None: None}
        with raw.cursor() as cursor:
            cursor.execute(
                _DONE_PARCELS, {"zone": zone.key, "operator": operator_id, "start": start, "end": end}
            )
            for row in cursor:
                carrier, station = row[1], row[9]
                if carrier not in ids:
                    ids[carrier] = uuid.UUID(carrier)
                if station not in ids:
                    ids[station] = uuid.UUID(station)
                yield (row[0], ids[carrier], *row[2:9], ids[station], row[10])
        return
    for row in session.execute(
        select(
            Parcel.id,
            Parcel.carrier_id,
            Parcel.direction,
            Parcel.weight_g,
            Parcel.pieces,
            Parcel.temperature,
            Parcel.cod_fen,
            Parcel.township_code,
            Parcel.village_code,
            Parcel.station_id,
            Parcel.done_at,
        ).where(Parcel.operator_id == operator_id, Parcel.done_at >= start, Parcel.done_at < end)
    ):
        yield (*row[:10], row[10].astimezone(zone).date())


class _Zones:
    def __init__(self, terms: CarrierTerms) -> None:
        self.by_township = {code: rule.zone for rule in terms.zones for code in rule.townships}
        self.bands = sorted(
            ((rule.up_to_m, rule.zone) for rule in terms.zones if rule.up_to_m is not None),
            key=lambda b: b[0],
        )
        self.distance = terms.zone_by == "distance"
        self.tiers = {z.zone: [(t.up_to_g, t.fee_fen) for t in z.tiers] for z in terms.delivery_fees}

    def zone(self, township: str | None, distance_m: int | None) -> str:
        if self.distance:
            if distance_m is None:
                return ANY_ZONE
            return next((name for up_to, name in self.bands if distance_m <= up_to), ANY_ZONE)
        return self.by_township.get(township or "", ANY_ZONE)

    def fee(self, zone: str, piece_g: int) -> tuple[int | None, int]:
        for up_to, fee in self.tiers.get(zone) or self.tiers[ANY_ZONE]:
            if up_to is None or piece_g <= up_to:
                return up_to, fee
        raise AssertionError("the last tier is open by validation")


def _station_distances(
    operator: Operator, stations: dict[uuid.UUID, Any], settings: Settings
) -> dict[uuid.UUID, int]:
    """Road distance from the hub to each station with a point (great circle × the circuity factor)."""
    from dispatch.plans.service import depot_point

    try:
        hub = depot_point(operator=operator, settings=settings)
    except ValidationFailed:
        return {}
    return {
        sid: round(haversine_m(hub, (s.latitude_e6 / 1e6, s.longitude_e6 / 1e6)) * settings.road_circuity)
        for sid, s in stations.items()
        if s.latitude_e6 is not None and s.longitude_e6 is not None
    }


def _routes(
    session: Session,
    *,
    operator: Operator,
    first: date,
    last: date,
    books: dict[PartyKind, ContractBook],
    drafts: _Drafts,
    unpriced: dict[tuple[str, str], int],
) -> int:
    """Drivers' pay per current route, and the carriers' shares of it where their contract says so."""
    manifests = session.execute(
        select(Manifest.id, Manifest.driver_id, Manifest.service_date, Manifest.route_facts, Manifest.content)
        .where(
            Manifest.operator_id == operator.id,
            Manifest.superseded_at.is_(None),
            Manifest.service_date >= first,
            Manifest.service_date <= last,
        )
        .order_by(Manifest.service_date, Manifest.id)
    )
    driver_book, carrier_book = books[PartyKind.DRIVER], books[PartyKind.CARRIER]
    count = 0
    for manifest_id, driver_id, day, facts, content in manifests:
        if driver_id is None or facts is None:  # no one drove it, or published before routes kept their facts
            unpriced[("route", str(manifest_id))] += 1
            continue
        count += 1
        version = driver_book.on(driver_id, day)
        if version is None:
            unpriced[("driver", str(driver_id) if driver_id else "-")] += 1
            continue
        terms = cast(DriverTerms, version.terms)
        distance_m, stops = int(facts["distance_m"]), int(facts["stops"])
        pay = (
            terms.route_fixed_fen + (terms.per_km_fen * distance_m + 500) // 1000 + terms.per_stop_fen * stops
        )
        detail = {
            "contract_version": version.version,
            "plate": content.get("plate"),
            "distance_m": distance_m,
            "stops": stops,
            "route_fixed_fen": terms.route_fixed_fen,
            "per_km_fen": terms.per_km_fen,
            "per_stop_fen": terms.per_stop_fen,
        }
        if driver_id is not None:
            line = drafts.get(PartyKind.DRIVER, driver_id, day).line(
                "route_pay", day, f"route={manifest_id}", None, version
            )
            line.detail = detail
            line.add(1, pay, None, manifest_id)
        try:
            weights = {k: Fraction(v) for k, v in (facts.get("split_weights") or {}).items()}
            if not pay or not any(weights.values()):
                continue
            parts = largest_remainder(pay, weights)
        except (ValueError, ZeroDivisionError, SplitError):
            unpriced[("route_split", str(manifest_id))] += 1
            continue
        for carrier_key, part in parts.items():
            carrier_id = _as_uuid(carrier_key)
            if carrier_id is None:
                continue
            cversion = carrier_book.on(carrier_id, day)
            if cversion is None or not cast(CarrierTerms, cversion.terms).share_route_cost:
                continue
            share = drafts.get(PartyKind.CARRIER, carrier_id, day).line(
                "route_cost_share", day, f"route={manifest_id}", None, cversion
            )
            # Enough to check the part (pay × weight ÷ total weight, largest remainder), and nothing about
            # which competitors rode along or with how much.
            share.detail = {
                "contract_version": cversion.version,
                "plate": content.get("plate"),
                "route_pay_fen": pay,
                "split_rule": facts.get("split_rule"),
                "weight": str(weights[carrier_key]),
                "total_weight": str(sum(weights.values())),
                "carriers_on_route": sum(1 for w in weights.values() if w),
            }
            share.add(1, part, None, manifest_id)
    return count


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


_FEE_KINDS = ("delivery_fee", "pickup_fee", "cod_fee", "cold_surcharge")


def _minimums(
    drafts: _Drafts, book: ContractBook, accounts: dict[uuid.UUID, Any], last: date, zone: ZoneInfo
) -> None:
    """Top each active carrier's fees up to its monthly minimum, for every calendar month that ends in the
    range: on the statement holding the month's last day, against the fees of the whole month (days before
    the range were priced as ``LOOKBACK``), the minimum prorated by the days a contract with one covers
    while the account existed."""
    fees: dict[tuple[uuid.UUID, date], int] = defaultdict(int)
    holder: dict[tuple[uuid.UUID, date], Draft] = {}
    for (kind, party, _), draft in drafts.drafts.items():
        if kind is not PartyKind.CARRIER:
            continue
        for line in draft.lines.values():
            if line.kind in _FEE_KINDS and line.service_date is not None:
                fees[(party, line.service_date.replace(day=1))] += line.amount_fen
        month = draft.period.first.replace(day=1)
        while month <= draft.period.last:
            month_end = _month_end(month)
            if draft.period.kind != LOOKBACK and draft.period.first <= month_end <= min(
                draft.period.last, last
            ):
                holder[(party, month)] = draft
            month = month_end + timedelta(days=1)
    for (party, month), draft in holder.items():
        account = accounts.get(party)
        if account is None or not account.active:
            continue
        opened = account.created_at.astimezone(zone).date()
        _minimum(draft, book, party, month, _month_end(month), fees[(party, month)], opened)


def _minimum(
    draft: Draft, book: ContractBook, party: uuid.UUID, month: date, month_end: date, fees: int, opened: date
) -> None:
    days = (month_end - month).days + 1
    owed = Fraction(0)
    versions: dict[uuid.UUID, Version] = {}
    for i in range(days):
        day = month + timedelta(days=i)
        version = book.on(party, day) if day >= opened else None
        if version is not None:
            owed += Fraction(cast(CarrierTerms, version.terms).monthly_minimum_fen, days)
            versions[version.contract_id] = version
    minimum = int(owed)  # floor: prorating never charges a fen more than the days covered
    if minimum > fees:
        chosen = book.on(party, month_end) or next(iter(versions.values()))
        line = draft.line("monthly_minimum", month_end, f"month={month:%Y-%m}", None, chosen)
        line.detail = {
            "contract_version": chosen.version,
            "minimum_fen": minimum,
            "fees_fen": fees,
            "days_in_month": days,
        }
        line.add(1, minimum - fees, None, None)


# --- statements: drafts written down ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SettleResult:
    statements: list[Statement]
    warnings: list[dict[str, Any]]
    parcels: int
    routes: int
    adjusted: int


def settle(
    session: Session,
    *,
    operator_id: uuid.UUID,
    first: date,
    last: date,
    by: str = "period",
    close: bool = False,
    settings: Settings,
    run_id: uuid.UUID | None = None,
    on_progress: ProgressFn | None = None,
) -> SettleResult:
    """Compute and store the statements of every period of [first, last]; close them when asked.
    ``NotFound`` for an unknown operator; ``ValidationFailed`` for a bad range."""
    # One settlement at a time per operator: a second one waits here, then sees the first one's statements.
    # FOR NO KEY UPDATE: the operator's other writes (their foreign-key checks) go on meanwhile.
    operator = session.get(Operator, operator_id, with_for_update={"key_share": True})
    if operator is None:
        raise NotFound(f"operator {operator_id} not found")
    progress = on_progress or (lambda _f, _s: None)
    computed = compute(
        session, operator=operator, first=first, last=last, by=by, settings=settings, on_progress=progress
    )
    now = utcnow()
    cut = periods(first, last, by)
    replaced = overlapping_drafts(session, operator_id=operator_id, cut=cut)
    _delete_items(session, StatementLine.statement_id.in_([s.id for s in replaced]))
    for draft_statement in replaced:
        session.delete(draft_statement)
    session.flush()
    existing = {
        (s.party_kind, s.party_id, s.period_from): s for s in _statements_in(session, operator_id, cut)
    }
    statements: list[Statement] = []
    to_write: list[tuple[Statement, list[DraftLine]]] = []
    adjusted = 0
    keys = sorted(set(computed.drafts) | set(existing), key=lambda k: (k[2], k[0].value, str(k[1])))
    for key in keys:
        draft = computed.drafts.get(key)
        statement = existing.get(key)
        lines = [] if draft is None else list(draft.lines.values())
        if statement is None:
            assert draft is not None
            statement = Statement(
                operator_id=operator_id,
                party_kind=draft.party_kind,
                party_id=draft.party_id,
                party_name=draft.name,
                period_from=draft.period.first,
                period_to=draft.period.last,
                period_kind=draft.period.kind,
                run_id=run_id,
                status=StatementStatus.OPEN,
                total_fen=draft.total_fen,
                created_at=now,
                updated_at=now,
            )
            session.add(statement)
            to_write.append((statement, lines))
        elif statement.status is StatementStatus.OPEN:
            redo = (StatementLine.statement_id == statement.id, StatementLine.kind != MANUAL)
            _delete_items(session, *redo)
            session.execute(delete(StatementLine).where(*redo))
            statement.total_fen = _line_total(session, statement.id) + sum(ln.amount_fen for ln in lines)
            statement.run_id, statement.updated_at = run_id, now
            to_write.append((statement, lines))
        else:
            made = _adjust_closed(session, statement, draft, now=now)
            adjusted += made
            if made:
                statement.total_fen = _line_total(session, statement.id)
                statement.updated_at = now
        if close and statement.status is StatementStatus.OPEN:
            statement.status, statement.closed_at = StatementStatus.CLOSED, now
        statements.append(statement)
    session.flush()
    progress(0.8, f"writing {len(to_write)} statements")
    _write_lines(
        session,
        [(statement.id, lines) for statement, lines in to_write],
        adjustment=False,
        reason=None,
        now=now,
    )
    progress(1.0, f"{len(statements)} statements")
    return SettleResult(statements, computed.warnings, computed.parcels, computed.routes, adjusted)


def overlapping_drafts(session: Session, *, operator_id: uuid.UUID, cut: Sequence[Period]) -> list[Statement]:
    """The operator's statements that overlap the periods without being one of them: open ones (drafts),
    which settling replaces, so no day is ever on two statements. ``Conflict`` naming ``from`` when one of
    them is closed or carries a desk correction: settle its own dates instead (the difference becomes
    adjustment lines), or a range that does not overlap it."""
    first, last = cut[0].first, cut[-1].last
    exact = {(p.first, p.last) for p in cut}
    found = [
        s
        for s in session.execute(
            select(Statement).where(
                Statement.operator_id == operator_id,
                Statement.period_from <= last,
                Statement.period_to >= first,
            )
        ).scalars()
        if (s.period_from, s.period_to) not in exact
    ]
    corrected = set(
        session.execute(
            select(StatementLine.statement_id).where(
                StatementLine.statement_id.in_([s.id for s in found]), StatementLine.kind == MANUAL
            )
        ).scalars()
    )
    blocking = sorted(
        {
            (s.period_from, s.period_to)
            for s in found
            if s.status is StatementStatus.CLOSED or s.id in corrected
        }
    )
    if blocking:
        spans = ", ".join(f"{a} – {b}" for a, b in blocking)
        raise Conflict(
            f"closed or corrected statements cover part of this range: {spans}",
            errors=[
                {
                    "field": "from",
                    "reason": f"statements for {spans} are closed or corrected; settle exactly those dates "
                    "(differences become adjustment lines) or a range that does not overlap them",
                }
            ],
        )
    return found


def _statements_in(session: Session, operator_id: uuid.UUID, cut: Sequence[Period]) -> Iterator[Statement]:
    for period in cut:
        yield from session.execute(
            select(Statement)
            .where(
                Statement.operator_id == operator_id,
                Statement.period_from == period.first,
                Statement.period_to == period.last,
            )
            .with_for_update()
        ).scalars()


def _line_total(session: Session, statement_id: uuid.UUID) -> int:
    return int(
        session.execute(
            select(func.coalesce(func.sum(StatementLine.amount_fen), 0)).where(
                StatementLine.statement_id == statement_id
            )
        ).scalar_one()
    )


def _write_lines(
    session: Session,
    batches: Sequence[tuple[uuid.UUID, Sequence[DraftLine]]],
    *,
    adjustment: bool,
    reason: str | None,
    now: datetime,
) -> None:
    """Insert the lines of each statement in one statement, then every item (PostgreSQL: one COPY)."""
    ordered = [
        (statement_id, ln)
        for statement_id, lines in batches
        for ln in sorted(lines, key=lambda ln: (ln.service_date or date.min, ln.kind, ln.rate_key))
    ]
    if not ordered:
        return
    if is_postgres(session):
        _copy_lines(session, ordered, adjustment=adjustment, reason=reason, now=now)
        return
    ids = (
        session.execute(
            insert(StatementLine).returning(StatementLine.id, sort_by_parameter_order=True),
            [
                {
                    "statement_id": statement_id,
                    "kind": ln.kind,
                    "service_date": ln.service_date,
                    "rate_key": ln.rate_key,
                    "quantity": ln.quantity,
                    "unit_fen": ln.unit_fen,
                    "amount_fen": ln.amount_fen,
                    "contract_id": ln.contract_id,
                    "detail": ln.detail,
                    "adjustment": adjustment,
                    "reason": reason,
                    "created_at": now,
                }
                for statement_id, ln in ordered
            ],
        )
        .scalars()
        .all()
    )
    items = (
        (line_id, p, m, a)
        for line_id, (_, ln) in zip(ids, ordered, strict=True)
        for p, m, a in ln.items
        if p is not None or m is not None  # a line with no parcel or route behind it has no items
    )
    _insert_items(session, items)


def _copy_lines(
    session: Session,
    ordered: Sequence[tuple[uuid.UUID, DraftLine]],
    *,
    adjustment: bool,
    reason: str | None,
    now: datetime,
) -> None:
    """PostgreSQL: ids drawn from the lines' sequence in one query, then lines and items each in one COPY
    (an INSERT … RETURNING of 18,000 lines took longer than pricing 300,000 parcels)."""
    raw = cast(Any, session.connection().connection.driver_connection)
    with raw.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('statement_line', 'id')) FROM generate_series(1, %s)",
            (len(ordered),),
        )
        ids = [row[0] for row in cursor.fetchall()]
        with cursor.copy(
            "COPY statement_line (id, statement_id, kind, service_date, rate_key, quantity, unit_fen,"
            " amount_fen, contract_id, detail, adjustment, reason, created_at) FROM STDIN"
        ) as copy:
            for line_id, (statement_id, ln) in zip(ids, ordered, strict=True):
                copy.write_row(
                    (
                        line_id,
                        statement_id,
                        ln.kind,
                        ln.service_date,
                        ln.rate_key,
                        ln.quantity,
                        ln.unit_fen,
                        ln.amount_fen,
                        ln.contract_id,
                        None if ln.detail is None else json.dumps(ln.detail, ensure_ascii=False),
                        adjustment,
                        reason,
                        now,
                    )
                )
    _insert_items(
        session,
        (
            (line_id, p, m, a)
            for line_id, (_, ln) in zip(ids, ordered, strict=True)
            for p, m, a in ln.items
            if p is not None or m is not None
        ),
    )


_NULL = "\\N"
"""COPY's text format for NULL."""


def _insert_items(session: Session, items: Iterable[tuple[int, Ref, Ref, int]]) -> None:
    if is_postgres(session):
        raw = cast(Any, session.connection().connection.driver_connection)  # psycopg's Connection
        buffer = io.StringIO()
        for line_id, parcel, manifest, amount in items:
            buffer.write(f"{line_id}\t{parcel or _NULL}\t{manifest or _NULL}\t{amount}\n")
        with (
            raw.cursor() as cursor,
            cursor.copy(
                "COPY statement_item (line_id, parcel_id, manifest_id, amount_fen) FROM STDIN"
            ) as copy,
        ):
            copy.write(buffer.getvalue())
        return
    rows = [
        {"line_id": i, "parcel_id": _as_id(p), "manifest_id": _as_id(m), "amount_fen": a}
        for i, p, m, a in items
    ]
    if rows:
        session.execute(insert(StatementItem), rows)


def _delete_items(session: Session, *lines: Any) -> None:
    """Delete the items of the lines matching ``lines`` (items carry no foreign key to cascade from)."""
    session.execute(
        delete(StatementItem).where(StatementItem.line_id.in_(select(StatementLine.id).where(*lines)))
    )


def _ref(value: uuid.UUID | str | None) -> str | None:
    """A parcel or route id as text: ids come as UUIDs from the ORM and as text from the fast read."""
    return None if value is None else str(value)


def _as_id(value: uuid.UUID | str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if isinstance(value, str) else value


def _adjust_closed(session: Session, statement: Statement, draft: Draft | None, *, now: datetime) -> int:
    """Append adjustment lines for whatever the fresh computation says differently; returns how many."""
    before: dict[LineKey, dict[tuple[str | None, str | None], int]] = defaultdict(lambda: defaultdict(int))
    bare: dict[LineKey, int] = defaultdict(int)
    lines = session.execute(
        select(
            StatementLine.id,
            StatementLine.kind,
            StatementLine.service_date,
            StatementLine.rate_key,
            StatementLine.amount_fen,
            StatementLine.detail,
        ).where(StatementLine.statement_id == statement.id, StatementLine.kind != MANUAL)
    ).all()
    original = {
        ln.id: (
            (ln.detail or {}).get("adjusts")
            or [ln.kind, ln.service_date.isoformat() if ln.service_date else None, ln.rate_key]
        )
        for ln in lines
    }
    keys = {
        ln.id: (
            str(original[ln.id][0]),
            date.fromisoformat(original[ln.id][1]) if original[ln.id][1] else None,
            str(original[ln.id][2]),
        )
        for ln in lines
    }
    with_items: set[int] = set()
    if lines:
        for line_id, parcel, manifest, amount in session.execute(
            select(
                StatementItem.line_id,
                StatementItem.parcel_id,
                StatementItem.manifest_id,
                StatementItem.amount_fen,
            ).where(StatementItem.line_id.in_(list(keys)))
        ):
            before[keys[line_id]][(_ref(parcel), _ref(manifest))] += amount
            with_items.add(line_id)
    for ln in lines:
        if ln.id not in with_items:
            bare[keys[ln.id]] += ln.amount_fen
    after = {} if draft is None else draft.lines
    made: list[DraftLine] = []
    for key in sorted(set(before) | set(bare) | set(after), key=lambda k: (k[1] or date.min, k[0], k[2])):
        fresh = after.get(key)
        old_items = before.get(key, {})
        new_items: dict[tuple[str | None, str | None], int] = defaultdict(int)
        new_bare = 0
        if fresh is not None:
            for p, m, a in fresh.items:
                if p is None and m is None:
                    new_bare += a
                else:
                    new_items[(_ref(p), _ref(m))] += a
        diff = DraftLine(ADJUSTMENT, key[1], key[2], None, None if fresh is None else fresh.contract_id)
        diff.detail = {"adjusts": [key[0], key[1].isoformat() if key[1] else None, key[2]]}
        for ref in sorted(set(old_items) | set(new_items), key=str):
            delta = new_items.get(ref, 0) - old_items.get(ref, 0)
            if delta:
                diff.add(1, delta, ref[0], ref[1])
        bare_delta = new_bare - bare.get(key, 0)
        if bare_delta:
            diff.add(1, bare_delta, None, None)
        if diff.items:
            made.append(diff)
    _write_lines(
        session,
        [(statement.id, made)],
        adjustment=True,
        reason=f"settled again {now.isoformat(timespec='seconds')}: changed since closing",
        now=now,
    )
    return len(made)


# --- reading ------------------------------------------------------------------------------------------


def get_statement(
    session: Session, *, operator_id: uuid.UUID, statement_id: uuid.UUID, carrier_id: uuid.UUID | None = None
) -> Statement:
    """The statement; ``NotFound`` for another operator's, or (``carrier_id`` given) another party's."""
    statement = session.get(Statement, statement_id)
    if statement is None or statement.operator_id != operator_id:
        raise NotFound(f"statement {statement_id} not found")
    if carrier_id is not None and (
        statement.party_kind is not PartyKind.CARRIER or statement.party_id != carrier_id
    ):
        raise NotFound(f"statement {statement_id} not found")
    return statement


def list_statements(
    session: Session,
    *,
    operator_id: uuid.UUID,
    carrier_id: uuid.UUID | None = None,
    party_kind: PartyKind | None = None,
    party_id: uuid.UUID | None = None,
    first: date | None = None,
    last: date | None = None,
    limit: int = 200,
) -> list[Statement]:
    stmt = select(Statement).where(Statement.operator_id == operator_id)
    if carrier_id is not None:
        stmt = stmt.where(Statement.party_kind == PartyKind.CARRIER, Statement.party_id == carrier_id)
    if party_kind is not None:
        stmt = stmt.where(Statement.party_kind == party_kind)
    if party_id is not None:
        stmt = stmt.where(Statement.party_id == party_id)
    if first is not None:
        stmt = stmt.where(Statement.period_to >= first)
    if last is not None:
        stmt = stmt.where(Statement.period_from <= last)
    stmt = stmt.order_by(Statement.period_from.desc(), Statement.party_kind, Statement.party_id).limit(limit)
    return list(session.execute(stmt).scalars())


def statement_lines(session: Session, statement_id: uuid.UUID) -> list[StatementLine]:
    return list(
        session.execute(
            select(StatementLine).where(StatementLine.statement_id == statement_id).order_by(StatementLine.id)
        ).scalars()
    )


def statement_view(
    statement: Statement, lines: Sequence[StatementLine] | None = None, *, base_url: str = "/v1/statements"
) -> dict[str, Any]:
    """The statement as JSON; with ``lines`` each line too (amounts in fen)."""
    view: dict[str, Any] = {
        "statement_id": str(statement.id),
        "party": {
            "kind": statement.party_kind.value,
            "id": str(statement.party_id),
            "name": statement.party_name,
        },
        "period": {
            "from": statement.period_from.isoformat(),
            "to": statement.period_to.isoformat(),
            "kind": statement.period_kind,
        },
        "status": statement.status.value,
        "total_fen": statement.total_fen,
        "closed_at": None if statement.closed_at is None else statement.closed_at.isoformat(),
        "url": f"{base_url}/{statement.id}",
    }
    if lines is not None:
        view["lines"] = [
            {
                "line_id": ln.id,
                "kind": ln.kind,
                "service_date": None if ln.service_date is None else ln.service_date.isoformat(),
                "rate_key": ln.rate_key,
                "quantity": ln.quantity,
                "unit_fen": ln.unit_fen,
                "amount_fen": ln.amount_fen,
                "contract_id": None if ln.contract_id is None else str(ln.contract_id),
                "detail": ln.detail,
                "adjustment": ln.adjustment,
                "reason": ln.reason,
                "items_url": f"{base_url}/{statement.id}/lines/{ln.id}/items",
            }
            for ln in lines
        ]
    return view


def line_items(
    session: Session, *, statement: Statement, line_id: int, after: int = 0, limit: int = 1000
) -> list[dict[str, Any]]:
    """The parcels (waybill, carrier) and routes (plate, day) behind a line, by item id after ``after``."""
    line = session.get(StatementLine, line_id)
    if line is None or line.statement_id != statement.id:
        raise NotFound(f"line {line_id} not found")
    rows = session.execute(
        select(
            StatementItem.id,
            StatementItem.parcel_id,
            StatementItem.manifest_id,
            StatementItem.amount_fen,
            Parcel.waybill_no,
            Manifest.service_date,
            Manifest.content["plate"].as_string(),
        )
        .outerjoin(Parcel, Parcel.id == StatementItem.parcel_id)
        .outerjoin(Manifest, Manifest.id == StatementItem.manifest_id)
        .where(StatementItem.line_id == line_id, StatementItem.id > after)
        .order_by(StatementItem.id)
        .limit(limit)
    )
    return [
        {
            "item_id": r[0],
            "parcel_id": None if r[1] is None else str(r[1]),
            "waybill_no": r[4],
            "manifest_id": None if r[2] is None else str(r[2]),
            "route_date": None if r[5] is None else r[5].isoformat(),
            "plate": r[6],
            "amount_fen": r[3],
        }
        for r in rows
    ]


# --- changing closed statements -----------------------------------------------------------------------


def close_statement(session: Session, *, statement: Statement) -> Statement:
    if statement.status is StatementStatus.OPEN:
        statement.status, statement.closed_at = StatementStatus.CLOSED, utcnow()
        statement.updated_at = statement.closed_at
        session.flush()
    return statement


def add_adjustment(
    session: Session,
    *,
    statement: Statement,
    amount_fen: int,
    reason: str,
    parcel_id: uuid.UUID | None = None,
    manifest_id: uuid.UUID | None = None,
) -> StatementLine:
    """The desk's correction: a new line (never a change to another); settling again keeps it."""
    if amount_fen == 0:
        raise ValidationFailed(
            "an adjustment of 0 changes nothing", errors=[{"field": "amount_fen", "reason": "must not be 0"}]
        )
    # The parcel or route must be the statement's party's own: a carrier's statement never names another
    # carrier's waybill.
    parcel_owner = {
        PartyKind.CARRIER: Parcel.carrier_id,
        PartyKind.STATION: Parcel.station_id,
        PartyKind.DRIVER: None,
    }[statement.party_kind]
    if parcel_id is not None:
        stmt = select(Parcel.id).where(Parcel.id == parcel_id, Parcel.operator_id == statement.operator_id)
        if parcel_owner is not None:
            stmt = stmt.where(parcel_owner == statement.party_id)
        if session.execute(stmt).first() is None:
            raise ValidationFailed(
                "no such parcel", errors=[{"field": "parcel_id", "reason": "not the party's"}]
            )
    if manifest_id is not None:
        stmt = select(Manifest.id).where(
            Manifest.id == manifest_id, Manifest.operator_id == statement.operator_id
        )
        if statement.party_kind is PartyKind.DRIVER:
            stmt = stmt.where(Manifest.driver_id == statement.party_id)
        if session.execute(stmt).first() is None:
            raise ValidationFailed(
                "no such route", errors=[{"field": "manifest_id", "reason": "not the party's"}]
            )
    now = utcnow()
    line = DraftLine(MANUAL, None, f"manual:{uuid.uuid4().hex[:12]}", None, None)
    line.add(1, amount_fen, parcel_id, manifest_id)
    _write_lines(session, [(statement.id, [line])], adjustment=True, reason=reason, now=now)
    session.execute(
        update(Statement)
        .where(Statement.id == statement.id)
        .values(total_fen=Statement.total_fen + amount_fen, updated_at=now)
    )
    session.flush()
    session.refresh(statement)
    return session.execute(
        select(StatementLine)
        .where(StatementLine.statement_id == statement.id)
        .order_by(StatementLine.id.desc())
        .limit(1)
    ).scalar_one()
