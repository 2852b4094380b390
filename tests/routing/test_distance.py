"""Great-circle distances, the circuity factor and the speed profile: integers, symmetric, zero diagonal."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routing.distance import DEFAULT_SPEEDS, GreatCircle, Matrices, SpeedProfile, haversine_m
from routing.problem import RoutingError

LONDON = (51.5074, -0.1278)
PARIS = (48.8566, 2.3522)
BEIJING = (39.9042, 116.4074)
SHANGHAI = (31.2304, 121.4737)
NEW_YORK = (40.7128, -74.0060)
LOS_ANGELES = (34.0522, -118.2437)
DAWA = (41.000280, 122.077090)  # 大洼区 seat (county_coords.csv, WGS84)
TIANZHUANGTAI = (40.83914, 122.13802)  # 田庄台镇 (township_coords.csv)


@pytest.mark.parametrize(
    ("a", "b", "km"),
    [(LONDON, PARIS, 343.5), (BEIJING, SHANGHAI, 1067.3), (NEW_YORK, LOS_ANGELES, 3935.8)],
)
def test_haversine_matches_published_city_distances(a, b, km) -> None:
    """Great-circle distances of well-known city pairs agree with published figures within 0.5 %."""
    assert haversine_m(a, b) / 1000 == pytest.approx(km, rel=0.005)
    assert haversine_m(a, b) == pytest.approx(haversine_m(b, a))


def test_antipodes_are_half_the_circumference() -> None:
    """Half a great circle on the mean-radius sphere: π × 6,371.0088 km."""
    assert haversine_m((0.0, 0.0), (0.0, 180.0)) == pytest.approx(20_015_114, abs=1)


def test_matrix_applies_circuity_and_gives_integers() -> None:
    """Road distance = great-circle × circuity, rounded to whole metres; the diagonal is zero."""
    provider = GreatCircle(circuity=1.3)
    matrices = provider.matrices([DAWA, TIANZHUANGTAI])
    straight = haversine_m(DAWA, TIANZHUANGTAI)
    assert matrices.distance_m[0][1] == round(straight * 1.3)
    assert matrices.distance_m[0][0] == matrices.distance_m[1][1] == 0
    assert matrices.duration_s[0][0] == 0
    for row in (*matrices.distance_m, *matrices.duration_s):
        assert all(type(v) is int for v in row)


def test_speed_profile_drives_bands_in_turn() -> None:
    """2 km at 25 km/h, 8 km at 40, the rest at 55: a 20 km leg takes 288 + 720 + 654.5 s."""
    profile = SpeedProfile.parse(DEFAULT_SPEEDS)
    assert profile.duration_s(1_000) == pytest.approx(144.0)
    assert profile.duration_s(2_000) == pytest.approx(288.0)
    assert profile.duration_s(10_000) == pytest.approx(1_008.0)
    assert profile.duration_s(20_000) == pytest.approx(1_008.0 + 10_000 * 3.6 / 55)
    assert str(profile) == DEFAULT_SPEEDS


def test_matrix_durations_follow_the_profile() -> None:
    """Each matrix duration is the profile's time for that road distance, rounded to a second."""
    provider = GreatCircle()
    matrices = provider.matrices([DAWA, TIANZHUANGTAI, (41.2, 122.4)])
    for i in range(3):
        for j in range(3):
            expected = provider.speeds.duration_s(matrices.distance_m[i][j])
            assert abs(matrices.duration_s[i][j] - expected) <= 1


def test_short_legs_are_slower_than_long_ones() -> None:
    """Average speed grows with the leg's length (village lanes first, county roads last)."""
    profile = SpeedProfile.parse(DEFAULT_SPEEDS)
    speeds = [d / profile.duration_s(d) for d in (1_000, 5_000, 15_000, 40_000)]
    assert speeds == sorted(speeds)


@pytest.mark.parametrize(
    "text", ["", "25", "2000:25,*:0", "2000:25,1000:40,*:55", "2000:25,10000:40", "*:30,2000:25"]
)
def test_bad_speed_profiles_are_refused(text: str) -> None:
    """Unreadable bands, non-positive speeds, unordered ends or no open-ended last band raise."""
    with pytest.raises(RoutingError):
        SpeedProfile.parse(text)


def test_circuity_below_one_is_refused() -> None:
    """Roads are never shorter than the great circle."""
    with pytest.raises(RoutingError, match="circuity"):
        GreatCircle(circuity=0.9)


@pytest.mark.parametrize("point", [(91.0, 0.0), (0.0, 181.0), (float("nan"), 1.0)])
def test_points_outside_wgs84_are_refused(point) -> None:
    """A latitude beyond ±90, longitude beyond ±180 or a NaN raises, naming the point."""
    with pytest.raises(RoutingError, match=r"points\[1\]"):
        GreatCircle().matrices([DAWA, point])


def test_no_points_give_empty_matrices() -> None:
    """Zero points, zero rows."""
    assert GreatCircle().matrices([]) == Matrices((), ())


def test_key_names_the_settings() -> None:
    """Providers with different settings have different cache keys."""
    assert GreatCircle().key != GreatCircle(circuity=1.4).key
    assert GreatCircle().key == GreatCircle().key


def test_subset_cuts_rows_and_columns() -> None:
    """``Matrices.subset`` keeps the chosen points in the order asked."""
    full = GreatCircle().matrices([DAWA, TIANZHUANGTAI, BEIJING])
    part = full.subset([2, 0])
    assert part.distance_m == ((0, full.distance_m[2][0]), (full.distance_m[0][2], 0))


points = st.lists(
    st.tuples(st.floats(40.0, 42.5), st.floats(120.0, 124.0)), min_size=1, max_size=12, unique=True
)


@given(points)
def test_matrices_are_symmetric_non_negative_integers_with_zero_diagonal(pts) -> None:
    """For any points: square, symmetric, non-negative integer matrices, zero on the diagonal, and the
    duration never decreases as the distance grows."""
    matrices = GreatCircle().matrices(pts)
    n = len(pts)
    assert len(matrices.distance_m) == len(matrices.duration_s) == n
    pairs = []
    for i in range(n):
        assert matrices.distance_m[i][i] == matrices.duration_s[i][i] == 0
        for j in range(n):
            d, t = matrices.distance_m[i][j], matrices.duration_s[i][j]
            assert type(d) is int
            assert type(t) is int
            assert d >= 0
            assert t >= 0
            assert d == matrices.distance_m[j][i]
            assert t == matrices.duration_s[j][i]
            pairs.append((d, t))
    pairs.sort()
    assert all(a[1] <= b[1] for a, b in zip(pairs, pairs[1:], strict=False))
