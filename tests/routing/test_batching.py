"""Batching: wave windows in the operator's zone, stops per station, cold-chain stops, splitting."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.batching import (
    BatchPolicy,
    NotBatchedReason,
    ParcelRecord,
    StationSite,
    VehicleClass,
    WaveWindow,
    batch,
    parse_cutoffs,
    wave_of,
    wave_window,
)
from routing.problem import RoutingError, TimeWindow, Vehicle

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 12, 1)
CUTOFFS = ["08:30", "13:30"]
VAN = VehicleClass((1_500_000, 12_000_000, 1_500))
REEFER = VehicleClass((1_000_000, 6_000_000, 600), refrigerated=True)
SITES = {
    "A": StationSite(location=1, window=TimeWindow(28_800, 64_800), service_s=240, service_per_piece_s=6),
    "B": StationSite(location=2),
}


def local(hh: int, mm: int, ss: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=SHANGHAI)


def parcel(pid: str, station: str | None = "A", received: int | datetime = 0, **kw) -> ParcelRecord:
    return ParcelRecord(
        id=pid, station=station, received_at=received, weight_g=kw.pop("weight_g", 1_000), **kw
    )


def test_wave_windows_are_local_cutoffs_in_utc() -> None:
    """Wave 1 runs from yesterday 13:30 to 08:30 Shanghai time, wave 2 from 08:30 to 13:30; given in UTC."""
    first = wave_window(DAY, CUTOFFS, 1, tz="Asia/Shanghai")
    second = wave_window(DAY, CUTOFFS, "13:30", tz="Asia/Shanghai")
    assert first.cutoff == datetime(2026, 12, 1, 0, 30, tzinfo=UTC)
    assert first.start == datetime(2026, 11, 30, 5, 30, tzinfo=UTC)
    assert second.start == first.cutoff
    assert second.cutoff == datetime(2026, 12, 1, 5, 30, tzinfo=UTC)
    assert (first.index, first.name, second.index, second.name) == (1, "08:30", 2, "13:30")
    assert wave_window(DAY, CUTOFFS, "2", tz="Asia/Shanghai") == second


def test_cutoff_boundaries_in_shanghai() -> None:
    """08:29:59 local is wave 1, 08:30:00 still wave 1 (received by the cut-off), 08:30:01 wave 2."""
    early, edge, late = local(8, 29, 59), local(8, 30, 0), local(8, 30, 1)
    parcels = [parcel("early", received=early), parcel("edge", received=edge), parcel("late", received=late)]
    first = batch(
        parcels, stations=SITES, vehicles=[VAN], window=wave_window(DAY, CUTOFFS, 1, tz="Asia/Shanghai")
    )
    second = batch(
        parcels, stations=SITES, vehicles=[VAN], window=wave_window(DAY, CUTOFFS, 2, tz="Asia/Shanghai")
    )
    assert first.parcels_by_stop == {"A": ("early", "edge")}
    assert [(n.parcel_id, n.reason) for n in first.not_batched] == [("late", NotBatchedReason.AFTER_CUTOFF)]
    assert second.parcels_by_stop == {"A": ("late",)}
    assert {n.parcel_id: n.reason for n in second.not_batched} == {
        "early": NotBatchedReason.BEFORE_WAVE,
        "edge": NotBatchedReason.BEFORE_WAVE,
    }
    assert wave_of(early, CUTOFFS, tz="Asia/Shanghai") == (DAY, 1)
    assert wave_of(late, CUTOFFS, tz="Asia/Shanghai") == (DAY, 2)
    assert wave_of(local(13, 30, 1), CUTOFFS, tz="Asia/Shanghai") == (DAY + timedelta(days=1), 1)


def test_yesterday_afternoon_belongs_to_the_morning_wave() -> None:
    """A parcel received at 20:00 the evening before goes out in wave 1; one at 13:29 yesterday does not."""
    window = wave_window(DAY, CUTOFFS, 1, tz="Asia/Shanghai")
    evening = parcel("evening", received=local(20, 0, day=DAY - timedelta(days=1)))
    noon = parcel("noon", received=local(13, 29, day=DAY - timedelta(days=1)))
    result = batch([evening, noon], stations=SITES, vehicles=[VAN], window=window)
    assert result.parcels_by_stop == {"A": ("evening",)}
    assert result.not_batched[0].reason is NotBatchedReason.BEFORE_WAVE


def test_unmatched_and_unknown_stations_are_reported() -> None:
    """No station, a station the wave does not know and a closed station each keep the parcel back."""
    sites = {**SITES, "C": StationSite(location=3, closed=True)}
    result = batch(
        [parcel("p1", None), parcel("p2", "Z"), parcel("p3", "C"), parcel("p4", "B")],
        stations=sites,
        vehicles=[VAN],
    )
    assert result.parcels_by_stop == {"B": ("p4",)}
    assert [(n.parcel_id, n.reason) for n in result.not_batched] == [
        ("p1", NotBatchedReason.NO_STATION),
        ("p2", NotBatchedReason.UNKNOWN_STATION),
        ("p3", NotBatchedReason.STATION_CLOSED),
    ]


def test_stop_carries_station_totals_deliveries_and_pickups() -> None:
    """A station's deliveries and pickups sum into one stop at its location, with its window and service."""
    parcels = [
        parcel("d1", weight_g=1_200, volume_cm3=6_000, pieces=2),
        parcel("d2", weight_g=800, volume_cm3=3_000),
        parcel("u1", weight_g=5_000, volume_cm3=20_000, direction="pickup"),
    ]
    (stop,) = batch(parcels, stations=SITES, vehicles=[VAN]).stops
    assert stop.id == "A"
    assert stop.location == 1
    assert stop.group == "A"
    assert stop.delivery == (2_000, 9_000, 3)
    assert stop.pickup == (5_000, 20_000, 1)
    assert stop.window == TimeWindow(28_800, 64_800)
    assert stop.service_time_s == 240 + 6 * 4
    assert stop.required
    assert not stop.refrigerated


def test_cold_parcels_form_a_refrigerated_stop() -> None:
    """Cold-chain parcels of a station become their own stop that only a refrigerated vehicle may serve."""
    parcels = [parcel("warm"), parcel("cold1", cold=True), parcel("cold2", cold=True, weight_g=3_000)]
    result = batch(parcels, stations=SITES, vehicles=[VAN, REEFER])
    stops = {s.id: s for s in result.stops}
    assert set(stops) == {"A", "A:cold"}
    assert stops["A:cold"].refrigerated
    assert not stops["A"].refrigerated
    assert stops["A:cold"].delivery[0] == 4_000
    assert stops["A:cold"].group == "A"
    assert result.parcels_by_stop["A:cold"] == ("cold1", "cold2")


def test_oversize_station_is_split_into_parts_that_fit_and_sum_to_the_total() -> None:
    """A station with 4 t for 1.5 t vans is split; each part fits the van, parts sum to the total, and
    every parcel stays whole in exactly one part."""
    parcels = [parcel(f"p{i}", weight_g=20_000 + 1_000 * (i % 7), volume_cm3=50_000) for i in range(160)]
    parcels += [parcel(f"u{i}", weight_g=25_000, volume_cm3=60_000, direction="pickup") for i in range(70)]
    result = batch(parcels, stations=SITES, vehicles=[VAN, REEFER])
    assert len(result.stops) >= 3
    for stop in result.stops:
        assert stop.id.startswith("A#")
        assert stop.group == "A"
        assert all(a <= c for a, c in zip(stop.delivery, VAN.capacity, strict=True))
        assert all(a <= c for a, c in zip(stop.pickup, VAN.capacity, strict=True))
    delivered = [sum(s.delivery[k] for s in result.stops) for k in range(3)]
    picked = [sum(s.pickup[k] for s in result.stops) for k in range(3)]
    assert delivered == [sum(p.amounts[k] for p in parcels if p.direction == "delivery") for k in range(3)]
    assert picked == [sum(p.amounts[k] for p in parcels if p.direction == "pickup") for k in range(3)]
    ids = [pid for pids in result.parcels_by_stop.values() for pid in pids]
    assert sorted(ids) == sorted(p.id for p in parcels)


def test_split_uses_the_largest_eligible_vehicle_only() -> None:
    """Cold demand is split to fit the refrigerated vehicle even when ambient vans are larger."""
    parcels = [parcel(f"c{i}", cold=True, weight_g=30_000) for i in range(50)]  # 1.5 t of cold
    result = batch(parcels, stations=SITES, vehicles=[VAN, REEFER])
    assert len(result.stops) == 2
    assert all(s.refrigerated and s.delivery[0] <= REEFER.capacity[0] for s in result.stops)
    assert sum(s.delivery[0] for s in result.stops) == 1_500_000


def test_a_parcel_no_vehicle_can_carry_is_kept_back() -> None:
    """A parcel heavier than every eligible vehicle is never split: it is reported as oversize."""
    huge = parcel("huge", weight_g=2_000_000)
    result = batch([huge, parcel("ok")], stations=SITES, vehicles=[VAN])
    assert result.parcels_by_stop == {"A": ("ok",)}
    assert result.not_batched[0].reason is NotBatchedReason.OVERSIZE


def test_routing_vehicles_work_as_the_fleet() -> None:
    """``routing.problem.Vehicle`` carries what splitting needs."""
    vehicle = Vehicle(
        id="V1", capacity=(10_000, 10**9, 1_000), start_depot="h", end_depot="h", shift=TimeWindow(0, 86_399)
    )
    parcels = [parcel(f"p{i}", weight_g=4_000) for i in range(5)]
    result = batch(parcels, stations=SITES, vehicles=[vehicle])
    assert [s.delivery[0] for s in result.stops] == [8_000, 8_000, 4_000]


def test_policy_makes_stops_optional_with_penalties_unless_due() -> None:
    """Optional stops pay a penalty per parcel scaled by priority; a stop with a due parcel stays required."""
    policy = BatchPolicy(required=False, drop_penalty_fen=100, due_penalty_fen=1_000)
    result = batch(
        [parcel("a", "A", priority=1), parcel("b", "A"), parcel("c", "B", due=True)],
        stations=SITES,
        vehicles=[VAN],
        policy=policy,
    )
    stops = {s.id: s for s in result.stops}
    assert not stops["A"].required
    assert stops["A"].drop_penalty_fen == 100 * 2 + 100
    assert stops["A"].priority == 1
    assert stops["B"].required
    assert stops["B"].drop_penalty_fen == 0


def test_bad_records_and_mixed_time_kinds_raise() -> None:
    """Duplicate ids, negative weights, zero pieces and seconds against a datetime window raise."""
    with pytest.raises(RoutingError, match="used twice"):
        batch([parcel("x"), parcel("x")], stations=SITES, vehicles=[VAN])
    with pytest.raises(RoutingError, match="weight_g"):
        batch([parcel("x", weight_g=-1)], stations=SITES, vehicles=[VAN])
    with pytest.raises(RoutingError, match="pieces"):
        batch([parcel("x", pieces=0)], stations=SITES, vehicles=[VAN])
    window = wave_window(DAY, CUTOFFS, 1, tz="Asia/Shanghai")
    with pytest.raises(RoutingError, match="received_at"):
        batch([parcel("x", received=5)], stations=SITES, vehicles=[VAN], window=window)
    with pytest.raises(RoutingError, match="naive"):
        batch(
            [parcel("x", received=datetime(2026, 12, 1, 8, 0))], stations=SITES, vehicles=[VAN], window=window
        )


@pytest.mark.parametrize("cutoffs", [[], ["13:30", "08:30"], ["08:30", "08:30"], ["8h30"], ["24:00"]])
def test_bad_cutoffs_are_refused(cutoffs: list[str]) -> None:
    """Cut-offs must be HH:MM times of day in strictly increasing order."""
    with pytest.raises(RoutingError, match="cutoffs"):
        parse_cutoffs(cutoffs)


def test_unknown_wave_and_zone_are_refused() -> None:
    """A third wave of a two-wave day, a cut-off the day does not have and an unknown zone raise."""
    with pytest.raises(RoutingError, match="wave"):
        wave_window(DAY, CUTOFFS, 3, tz="Asia/Shanghai")
    with pytest.raises(RoutingError, match="wave"):
        wave_window(DAY, CUTOFFS, "10:00", tz="Asia/Shanghai")
    with pytest.raises(RoutingError, match="tz"):
        wave_window(DAY, CUTOFFS, 1, tz="Mars/Olympus")


records = st.lists(
    st.builds(
        ParcelRecord,
        id=st.uuids().map(str),
        station=st.sampled_from(["A", "B", "Z", None]),
        received_at=st.integers(-50_000, 60_000),
        weight_g=st.integers(0, 1_200_000),
        volume_cm3=st.integers(0, 8_000_000),
        pieces=st.integers(1, 400),
        cold=st.booleans(),
        direction=st.sampled_from(["delivery", "pickup"]),
        priority=st.integers(0, 3),
        due=st.booleans(),
    ),
    max_size=60,
    unique_by=lambda p: p.id,
)


@settings(max_examples=150, deadline=None)
@given(records, st.sampled_from([[VAN, REEFER], [VAN], [REEFER], []]))
def test_every_parcel_ends_in_exactly_one_stop_or_the_not_batched_list(parcels, fleet) -> None:
    """For any parcels and fleet: each parcel is in one stop or not batched, never both or neither; stops
    sum to their parcels, and with an eligible vehicle each stop fits one."""
    window = WaveWindow(name="08:30", index=1, start=-37_800, cutoff=30_600)
    result = batch(parcels, stations=SITES, vehicles=fleet, window=window)
    placed = Counter(pid for pids in result.parcels_by_stop.values() for pid in pids)
    kept = Counter(n.parcel_id for n in result.not_batched)
    assert placed + kept == Counter(p.id for p in parcels)
    assert not set(placed) & set(kept)
    by_id = {p.id: p for p in parcels}
    for stop in result.stops:
        members = [by_id[pid] for pid in result.parcels_by_stop[stop.id]]
        for k in range(3):
            assert stop.delivery[k] == sum(p.amounts[k] for p in members if p.direction == "delivery")
            assert stop.pickup[k] == sum(p.amounts[k] for p in members if p.direction == "pickup")
        assert all(p.cold == stop.refrigerated for p in members)
        eligible = [v for v in fleet if v.refrigerated or not stop.refrigerated]
        if eligible:
            assert any(
                all(a <= c for a, c in zip(stop.delivery, v.capacity, strict=True))
                and all(a <= c for a, c in zip(stop.pickup, v.capacity, strict=True))
                for v in eligible
            )
