"""Parcels → stop demands for one wave.

A wave is the interval of receipt times that ends at a cut-off (the operator's, e.g. 08:30 and 13:30 local
time): parcels received after the previous cut-off and no later than this one go out on the wave's routes.
Wave 1 of a day starts at the previous day's last cut-off.

Each station's parcels of the wave become one stop at the station's location: deliveries loaded at the
depot, pickups (farm produce) carried back. Cold-chain parcels form a stop of their own at the same place,
which only a refrigerated vehicle may serve. A stop larger than the largest eligible vehicle is split into
parts that each fit it; parts keep every parcel whole, share the station as their ``group``, and sum to
the station's total. Every parcel ends in exactly one stop or in ``Batch.not_batched`` with its reason.
"""

from __future__ import annotations

import enum
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import zip_longest
from typing import Literal, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from routing.problem import RoutingError, Stop, TimeWindow

Direction = Literal["delivery", "pickup"]
Instant = int | datetime
"""A receipt time: seconds on a clock of the caller's choosing, or a time-zone aware datetime."""

COLD_SUFFIX = ":cold"


@dataclass(frozen=True, slots=True)
class ParcelRecord:
    """One parcel as batching sees it. ``station`` is the key of the station it was matched to (None:
    not matched). ``due``: promised for the service day or earlier, so dropping it costs more."""

    id: str
    station: str | None
    received_at: Instant
    weight_g: int
    volume_cm3: int = 0
    pieces: int = 1
    cold: bool = False
    direction: Direction = "delivery"
    priority: int = 0
    due: bool = False

    @property
    def amounts(self) -> tuple[int, int, int]:
        """Per ``DIMENSIONS``: grams, cm³, pieces."""
        return (self.weight_g, self.volume_cm3, self.pieces)


@dataclass(frozen=True, slots=True)
class StationSite:
    """Where and when a station can be served: its matrix ``location`` and opening ``window`` (seconds
    from the service day's midnight; None = any time), service times, and ``closed`` for the day."""

    location: int
    window: TimeWindow | None = None
    service_s: int = 0
    service_per_piece_s: int = 0
    closed: bool = False


class Carrying(Protocol):
    """What splitting needs of a vehicle; ``routing.problem.Vehicle`` and ``VehicleClass`` both fit."""

    @property
    def capacity(self) -> tuple[int, ...]: ...

    @property
    def refrigerated(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class VehicleClass:
    """A vehicle's capacity per ``DIMENSIONS`` and whether it is refrigerated."""

    capacity: tuple[int, ...]
    refrigerated: bool = False


@dataclass(frozen=True, slots=True)
class WaveWindow:
    """Parcels received in (``start``, ``cutoff``] belong to the wave; ``start`` None = no lower bound.

    ``index`` counts the day's waves from 1; ``name`` is the cut-off as written (``"08:30"``).
    """

    name: str
    index: int
    start: Instant | None
    cutoff: Instant
    service_date: date | None = None


class NotBatchedReason(enum.StrEnum):
    NO_STATION = "no_station"
    """Not matched to a station (the review queue's business)."""
    UNKNOWN_STATION = "unknown_station"
    """Matched to a station the wave does not know (inactive, or without a location)."""
    STATION_CLOSED = "station_closed"
    """The station is closed on the service day."""
    BEFORE_WAVE = "before_wave"
    """Received before the wave's start: an earlier wave's parcel."""
    AFTER_CUTOFF = "after_cutoff"
    """Received after the wave's cut-off: the next wave's parcel."""
    OVERSIZE = "oversize"
    """Larger than every eligible vehicle on its own; a parcel is never split."""


@dataclass(frozen=True, slots=True)
class NotBatched:
    parcel_id: str
    reason: NotBatchedReason
    detail: str


@dataclass(frozen=True, slots=True)
class BatchPolicy:
    """How stops are marked required and what leaving one out costs.

    ``required`` True: every stop must be served. False: a stop is required only when it holds a due
    parcel and ``due_required``; otherwise it is optional with a drop penalty of
    (``due_penalty_fen`` if due else ``drop_penalty_fen``) × (1 + priority) summed over its parcels.
    """

    required: bool = True
    due_required: bool = True
    drop_penalty_fen: int = 2_000
    due_penalty_fen: int = 10_000


@dataclass(frozen=True, slots=True)
class Batch:
    stops: tuple[Stop, ...]
    parcels_by_stop: Mapping[str, tuple[str, ...]]
    """Stop id → the ids of the parcels it carries, in input order."""
    not_batched: tuple[NotBatched, ...]
    window: WaveWindow | None = None
    parcel_count: int = field(default=0)

    def stop_of(self) -> dict[str, str]:
        """Parcel id → stop id for every batched parcel."""
        return {pid: stop_id for stop_id, pids in self.parcels_by_stop.items() for pid in pids}


# --- waves -------------------------------------------------------------------------------------------


def parse_cutoff(text: str) -> int:
    """``"HH:MM"`` or ``"HH:MM:SS"`` → seconds from midnight; raises ``RoutingError``."""
    parts = text.strip().split(":")
    try:
        if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
            raise ValueError(text)
        hours, minutes = int(parts[0]), int(parts[1])
        seconds = int(parts[2]) if len(parts) == 3 else 0
        if hours > 23 or minutes > 59 or seconds > 59:
            raise ValueError(text)
    except ValueError as exc:
        raise RoutingError("cutoffs", f"{text!r} is not a time of day HH:MM") from exc
    return hours * 3600 + minutes * 60 + seconds


def parse_cutoffs(values: Sequence[str]) -> tuple[int, ...]:
    """Cut-offs as seconds from midnight; raises ``RoutingError`` unless there is at least one and they
    strictly increase."""
    if not values:
        raise RoutingError("cutoffs", "at least one cut-off time is needed")
    seconds = tuple(parse_cutoff(v) for v in values)
    for before, after in zip(seconds, seconds[1:], strict=False):
        if after <= before:
            raise RoutingError("cutoffs", "cut-off times must strictly increase within the day")
    return seconds


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise RoutingError("tz", f"unknown time zone {tz!r}") from exc


def _local_instant(day: date, seconds: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(seconds // 3600, seconds % 3600 // 60, seconds % 60), tzinfo=zone)


def wave_index(cutoffs: Sequence[str], wave: int | str) -> int:
    """The 1-based index of ``wave``, given as its index or its cut-off as written; raises
    ``RoutingError`` for a wave the day does not have."""
    if isinstance(wave, str) and wave.strip().isdigit():
        wave = int(wave)
    if isinstance(wave, int) and not isinstance(wave, bool):
        if not 1 <= wave <= len(cutoffs):
            raise RoutingError("wave", f"wave {wave} is not one of the day's {len(cutoffs)} waves")
        return wave
    wanted = parse_cutoff(str(wave))
    for i, seconds in enumerate(parse_cutoffs(cutoffs), start=1):
        if seconds == wanted:
            return i
    raise RoutingError("wave", f"no wave has the cut-off {wave!r} (cut-offs: {', '.join(cutoffs)})")


def wave_window(service_date: date, cutoffs: Sequence[str], wave: int | str, *, tz: str) -> WaveWindow:
    """The receipt interval of ``wave`` (1-based index or cut-off ``"HH:MM"``) on ``service_date``, the
    cut-offs read in zone ``tz``; start and cut-off come back as UTC datetimes. Wave 1 starts at the
    previous day's last cut-off. Raises ``RoutingError`` for bad cut-offs, zone or wave."""
    seconds = parse_cutoffs(cutoffs)
    zone = _zone(tz)
    index = wave_index(cutoffs, wave)
    cutoff = _local_instant(service_date, seconds[index - 1], zone)
    if index == 1:
        start = _local_instant(service_date - timedelta(days=1), seconds[-1], zone)
    else:
        start = _local_instant(service_date, seconds[index - 2], zone)
    return WaveWindow(
        name=cutoffs[index - 1].strip(),
        index=index,
        start=start.astimezone(UTC),
        cutoff=cutoff.astimezone(UTC),
        service_date=service_date,
    )


def wave_of(received_at: datetime, cutoffs: Sequence[str], *, tz: str) -> tuple[date, int]:
    """(service date, 1-based wave index) of the wave a parcel received at ``received_at`` goes out in:
    the first cut-off at or after it, local time in ``tz``. Raises ``RoutingError`` for a naive time."""
    if received_at.tzinfo is None:
        raise RoutingError("received_at", "naive datetime: give a time-zone aware value")
    seconds = parse_cutoffs(cutoffs)
    zone = _zone(tz)
    local = received_at.astimezone(zone)
    day = local.date()
    for i, cut in enumerate(seconds, start=1):
        if received_at <= _local_instant(day, cut, zone):
            return day, i
    return day + timedelta(days=1), 1


# --- batching ----------------------------------------------------------------------------------------


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _ordinal(value: Instant, datetimes: bool, where: str) -> int:
    """An exact integer to compare instants by: the seconds given, or microseconds since the epoch."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise RoutingError(where, "naive datetime: give a time-zone aware value")
        if not datetimes:
            raise RoutingError(where, "a datetime, but the wave window is in seconds")
        return (value - _EPOCH) // _MICROSECOND
    if isinstance(value, bool) or not isinstance(value, int):
        raise RoutingError(where, "must be seconds (int) or an aware datetime")
    if datetimes:
        raise RoutingError(where, "seconds, but the wave window is in datetimes")
    return value


def _check(parcels: Sequence[ParcelRecord]) -> None:
    seen: set[str] = set()
    for i, parcel in enumerate(parcels):
        where = f"parcels[{i}]"
        if parcel.id in seen:
            raise RoutingError(f"{where}.id", f"{parcel.id!r} is used twice")
        seen.add(parcel.id)
        for name in ("weight_g", "volume_cm3"):
            value = getattr(parcel, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise RoutingError(f"{where}.{name}", "must be a non-negative integer")
        if isinstance(parcel.pieces, bool) or not isinstance(parcel.pieces, int) or parcel.pieces < 1:
            raise RoutingError(f"{where}.pieces", "must be an integer of at least 1")
        if parcel.direction not in ("delivery", "pickup"):
            raise RoutingError(f"{where}.direction", f"{parcel.direction!r} is not delivery or pickup")


def _fits(amounts: Sequence[int], capacity: Sequence[int]) -> bool:
    return all(a <= c for a, c in zip(amounts, capacity, strict=True))


def _total(parcels: Iterable[ParcelRecord]) -> tuple[int, int, int]:
    weight = volume = pieces = 0
    for p in parcels:
        weight += p.weight_g
        volume += p.volume_cm3
        pieces += p.pieces
    return (weight, volume, pieces)


def _parts_needed(delivery: Sequence[int], pickup: Sequence[int], capacity: Sequence[int]) -> float:
    need = 1.0
    for amounts in (delivery, pickup):
        for amount, cap in zip(amounts, capacity, strict=True):
            if amount > 0:
                need = max(need, math.inf if cap <= 0 else math.ceil(amount / cap))
    return need


def _target(delivery: Sequence[int], pickup: Sequence[int], eligible: Sequence[Carrying]) -> tuple[int, ...]:
    """The eligible capacity that needs the fewest parts (ties: the larger, by DIMENSIONS order)."""
    best = min(
        eligible,
        key=lambda v: (_parts_needed(delivery, pickup, v.capacity), tuple(-c for c in v.capacity)),
    )
    return tuple(best.capacity)


def _pack(
    parcels: Sequence[ParcelRecord], capacity: tuple[int, ...]
) -> tuple[list[list[ParcelRecord]], list[list[ParcelRecord]]]:
    """First-fit decreasing into bins of ``capacity``; a parcel larger than it (it fits some other
    eligible vehicle) gets a bin of its own, returned apart so it is never paired with pickups."""
    regular = [p for p in parcels if _fits(p.amounts, capacity)]
    alone = [[p] for p in parcels if not _fits(p.amounts, capacity)]

    def size(p: ParcelRecord) -> float:
        return max((a / c if c > 0 else 0.0) for a, c in zip(p.amounts, capacity, strict=True))

    bins: list[list[ParcelRecord]] = []
    loads: list[list[int]] = []
    for parcel in sorted(regular, key=lambda p: (-size(p), p.id)):
        for bin_, load in zip(bins, loads, strict=True):
            if _fits([x + a for x, a in zip(load, parcel.amounts, strict=True)], capacity):
                bin_.append(parcel)
                for k, a in enumerate(parcel.amounts):
                    load[k] += a
                break
        else:
            bins.append([parcel])
            loads.append(list(parcel.amounts))
    return bins, alone


def batch(
    parcels: Sequence[ParcelRecord],
    *,
    stations: Mapping[str, StationSite],
    vehicles: Sequence[Carrying],
    window: WaveWindow | None = None,
    policy: BatchPolicy | None = None,
) -> Batch:
    """Turn the wave's parcels into stops.

    A parcel is batched when it is matched to a station in ``stations`` that is open, was received in
    ``window`` (None: every parcel given), and fits some eligible vehicle (refrigerated ones for cold
    parcels); otherwise it is listed in ``not_batched`` with the reason. Per station, ambient parcels form
    stop ``<station>`` and cold ones stop ``<station>:cold`` (refrigerated); a stop that fits no eligible
    vehicle is split into parts ``<station>#1`` … (``<station>:cold#1`` …) that each fit the eligible
    vehicle needing the fewest parts. With no eligible vehicle at all nothing is split (the solver then
    reports the stop). Receipt times and the window must be both seconds or both aware datetimes.
    Raises ``RoutingError`` for duplicate ids, negative amounts, pieces below 1 or mixed time kinds.
    """
    policy = policy or BatchPolicy()
    _check(parcels)
    not_batched: list[NotBatched] = []
    groups: dict[tuple[str, bool], list[ParcelRecord]] = defaultdict(list)
    datetimes = window is not None and isinstance(window.cutoff, datetime)
    start: int | None = None
    cutoff = 0
    if window is not None:
        cutoff = _ordinal(window.cutoff, datetimes, "window.cutoff")
        start = None if window.start is None else _ordinal(window.start, datetimes, "window.start")
    for i, parcel in enumerate(parcels):
        if window is not None:
            received = _ordinal(parcel.received_at, datetimes, f"parcels[{i}].received_at")
            if received > cutoff:
                not_batched.append(
                    NotBatched(parcel.id, NotBatchedReason.AFTER_CUTOFF, f"received after {window.name}")
                )
                continue
            if start is not None and received <= start:
                not_batched.append(
                    NotBatched(parcel.id, NotBatchedReason.BEFORE_WAVE, "received before the wave started")
                )
                continue
        if parcel.station is None:
            not_batched.append(NotBatched(parcel.id, NotBatchedReason.NO_STATION, "not matched"))
            continue
        site = stations.get(parcel.station)
        if site is None:
            not_batched.append(
                NotBatched(parcel.id, NotBatchedReason.UNKNOWN_STATION, f"station {parcel.station!r}")
            )
            continue
        if site.closed:
            not_batched.append(
                NotBatched(parcel.id, NotBatchedReason.STATION_CLOSED, f"station {parcel.station!r}")
            )
            continue
        groups[(parcel.station, parcel.cold)].append(parcel)

    stops: list[Stop] = []
    parcels_by_stop: dict[str, tuple[str, ...]] = {}
    order = {p.id: i for i, p in enumerate(parcels)}
    for (station, cold), members in sorted(groups.items()):
        eligible = [v for v in vehicles if v.refrigerated] if cold else list(vehicles)
        if eligible:
            kept = []
            for parcel in members:
                if any(_fits(parcel.amounts, v.capacity) for v in eligible):
                    kept.append(parcel)
                else:
                    not_batched.append(
                        NotBatched(
                            parcel.id,
                            NotBatchedReason.OVERSIZE,
                            f"{parcel.weight_g} g, {parcel.volume_cm3} cm³, {parcel.pieces} pieces fit no "
                            f"{'refrigerated ' if cold else ''}vehicle",
                        )
                    )
            members = kept
        if not members:
            continue
        deliveries = [p for p in members if p.direction == "delivery"]
        pickups = [p for p in members if p.direction == "pickup"]
        parts: list[list[ParcelRecord]] = [members]
        if eligible:
            target = _target(_total(deliveries), _total(pickups), eligible)
            if not (_fits(_total(deliveries), target) and _fits(_total(pickups), target)):
                out_bins, out_alone = _pack(deliveries, target)
                back_bins, back_alone = _pack(pickups, target)
                empty: list[ParcelRecord] = []
                parts = [[*o, *b] for o, b in zip_longest(out_bins, back_bins, fillvalue=empty)]
                parts += out_alone + back_alone
        base = station + COLD_SUFFIX if cold else station
        site = stations[station]
        for k, part in enumerate(parts, start=1):
            stop_id = base if len(parts) == 1 else f"{base}#{k}"
            part.sort(key=lambda p: order[p.id])
            stops.append(_stop(stop_id, station, site, part, cold, policy))
            parcels_by_stop[stop_id] = tuple(p.id for p in part)
    not_batched.sort(key=lambda nb: order[nb.parcel_id])
    return Batch(
        stops=tuple(stops),
        parcels_by_stop=parcels_by_stop,
        not_batched=tuple(not_batched),
        window=window,
        parcel_count=len(parcels),
    )


def _stop(
    stop_id: str,
    station: str,
    site: StationSite,
    part: Sequence[ParcelRecord],
    cold: bool,
    policy: BatchPolicy,
) -> Stop:
    delivery = _total(p for p in part if p.direction == "delivery")
    pickup = _total(p for p in part if p.direction == "pickup")
    due = any(p.due for p in part)
    required = policy.required or (due and policy.due_required)
    penalty = sum(
        (policy.due_penalty_fen if p.due else policy.drop_penalty_fen) * (1 + max(0, p.priority))
        for p in part
    )
    return Stop(
        id=stop_id,
        location=site.location,
        delivery=delivery,
        pickup=pickup,
        window=site.window,
        service_s=site.service_s,
        service_per_piece_s=site.service_per_piece_s,
        refrigerated=cold,
        required=required,
        drop_penalty_fen=0 if required else penalty,
        priority=max((p.priority for p in part), default=0),
        group=station,
    )
