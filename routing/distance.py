"""Distances and driving times between points, behind one provider interface.

A provider takes points as (latitude, longitude) in WGS84 degrees and returns two square integer matrices,
``distance_m`` (metres) and ``duration_s`` (seconds), indexed like the points, with a zero diagonal.
``routing`` ships the estimate that needs no road data (``GreatCircle``); ``dispatch`` adds a road
service (OSRM ``/table``) behind the same protocol.

The estimate: great-circle (haversine) distance × a circuity factor, driven at a speed profile.

* **Circuity 1.3 by default.** The road distance between two points is longer than the straight line by the
  network's detour index. Measured values: 1.324 on average over 25 Chinese cities (Annals of GIS 27(4),
  2021, doi:10.1080/19475683.2021.1966503, which also finds short trips more circuitous than long ones);
  1.26 for South Korea as a whole and up to 1.435 in its most rural, mountainous province (Kim et al.,
  J. Korean Soc. Agric. Eng. 57(4), 2015). Plains counties (盘锦 大洼) sit at the low end, hill counties
  (朝阳 北票) higher: configure per deployment.
* **Speed by distance band, cumulative.** The first 2 km of every leg at 25 km/h (village lanes, leaving
  and entering a village), the next 8 km at 40 km/h (township roads), the rest at 55 km/h (county and
  provincial roads). Because each band is driven in turn, the duration grows with distance and is
  concave, so it keeps the triangle inequality of the distances (up to rounding).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from routing.problem import RoutingError

Point = tuple[float, float]
"""(latitude, longitude) in WGS84 degrees."""

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG), the haversine's sphere."""

DEFAULT_CIRCUITY = 1.3
DEFAULT_SPEEDS = "2000:25,10000:40,*:55"


@dataclass(frozen=True, slots=True)
class Matrices:
    """Square matrices over the points given, in their order: road metres and driving seconds."""

    distance_m: tuple[tuple[int, ...], ...]
    duration_s: tuple[tuple[int, ...], ...]

    def __len__(self) -> int:
        return len(self.distance_m)

    def subset(self, indices: Sequence[int]) -> Matrices:
        """The matrices over ``indices`` (rows and columns in that order)."""
        return Matrices(
            distance_m=tuple(tuple(self.distance_m[i][j] for j in indices) for i in indices),
            duration_s=tuple(tuple(self.duration_s[i][j] for j in indices) for i in indices),
        )


class DistanceProvider(Protocol):
    """Anything that turns points into distance and duration matrices."""

    @property
    def key(self) -> str:
        """Names the provider and its settings: equal keys give equal matrices (for caches)."""
        ...

    def matrices(self, points: Sequence[Point]) -> Matrices:
        """Distance (m) and duration (s) between every ordered pair of ``points``; raises on failure."""
        ...


def check_points(points: Sequence[Point]) -> None:
    """Raise ``RoutingError`` naming the first point that is not a finite WGS84 (lat, lon) pair."""
    for i, point in enumerate(points):
        if len(point) != 2:
            raise RoutingError(f"points[{i}]", "needs (latitude, longitude)")
        lat, lon = point
        if not (math.isfinite(lat) and math.isfinite(lon)):
            raise RoutingError(f"points[{i}]", "latitude and longitude must be finite numbers")
        if not -90.0 <= lat <= 90.0:
            raise RoutingError(f"points[{i}].latitude", f"{lat} is outside [-90, 90]")
        if not -180.0 <= lon <= 180.0:
            raise RoutingError(f"points[{i}].longitude", f"{lon} is outside [-180, 180]")


def haversine_m(a: Point, b: Point) -> float:
    """Great-circle distance in metres between two (lat, lon) points on the mean-radius sphere."""
    lat1, lon1 = math.radians(a[0]), math.radians(a[1])
    lat2, lon2 = math.radians(b[0]), math.radians(b[1])
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, h)))


@dataclass(frozen=True, slots=True)
class SpeedProfile:
    """Driving speed by distance band. ``bands`` are (end of the band in metres from the start of the leg,
    km/h) in increasing order, the last band open-ended (end None): a leg drives each band in turn."""

    bands: tuple[tuple[int | None, float], ...]

    def __post_init__(self) -> None:
        if not self.bands:
            raise RoutingError("speeds", "at least one band is needed")
        previous = 0
        for i, (end, kmh) in enumerate(self.bands):
            if not (math.isfinite(kmh) and kmh > 0):
                raise RoutingError(f"speeds[{i}]", f"speed {kmh} km/h must be positive")
            last = i == len(self.bands) - 1
            if last and end is not None:
                raise RoutingError(f"speeds[{i}]", "the last band must be open-ended ('*')")
            if not last:
                if end is None:
                    raise RoutingError(f"speeds[{i}]", "only the last band may be open-ended")
                if end <= previous:
                    raise RoutingError(f"speeds[{i}]", f"band ends ({end} m) must increase")
                previous = end

    @classmethod
    def parse(cls, text: str) -> SpeedProfile:
        """``"2000:25,10000:40,*:55"``: up to 2,000 m at 25 km/h, then to 10,000 m at 40, beyond at 55.
        Raises ``RoutingError`` on anything else."""
        bands: list[tuple[int | None, float]] = []
        for i, part in enumerate(p.strip() for p in text.split(",")):
            end_text, sep, kmh_text = part.partition(":")
            if not sep:
                raise RoutingError(f"speeds[{i}]", f"{part!r} is not 'metres:km/h'")
            try:
                end = None if end_text.strip() == "*" else int(end_text)
                kmh = float(kmh_text)
            except ValueError as exc:
                raise RoutingError(f"speeds[{i}]", f"{part!r} is not 'metres:km/h'") from exc
            bands.append((end, kmh))
        return cls(tuple(bands))

    def __str__(self) -> str:
        return ",".join(f"{'*' if end is None else end}:{kmh:g}" for end, kmh in self.bands)

    def duration_s(self, distance_m: float) -> float:
        """Seconds to drive ``distance_m`` metres through the bands in turn."""
        total = 0.0
        start = 0.0
        for end, kmh in self.bands:
            stop = distance_m if end is None else min(distance_m, float(end))
            if stop > start:
                total += (stop - start) * 3.6 / kmh
            if end is None or distance_m <= end:
                break
            start = float(end)
        return total

    def durations_s(self, distance_m: np.ndarray) -> np.ndarray:
        """``duration_s`` element-wise over an array of distances in metres."""
        total = np.zeros_like(distance_m, dtype=np.float64)
        start = 0.0
        for end, kmh in self.bands:
            upper = np.inf if end is None else float(end)
            total += np.clip(distance_m - start, 0.0, upper - start) * (3.6 / kmh)
            start = upper
        return total


@dataclass(frozen=True, slots=True)
class GreatCircle:
    """Great-circle distance × ``circuity``, driven at ``speeds``; integers out, symmetric, zero diagonal.

    Raises ``RoutingError`` for a point that is not a WGS84 (lat, lon) pair.
    """

    circuity: float = DEFAULT_CIRCUITY
    speeds: SpeedProfile = SpeedProfile.parse(DEFAULT_SPEEDS)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.circuity) and self.circuity >= 1.0):
            raise RoutingError("circuity", f"{self.circuity} must be at least 1 (roads are never shorter)")

    @property
    def key(self) -> str:
        return f"great-circle;circuity={self.circuity:g};speeds={self.speeds}"

    def matrices(self, points: Sequence[Point]) -> Matrices:
        check_points(points)
        if not points:
            return Matrices((), ())
        coords = np.radians(np.asarray(points, dtype=np.float64))
        lat = coords[:, 0]
        lon = coords[:, 1]
        h = (
            np.sin((lat[None, :] - lat[:, None]) / 2) ** 2
            + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin((lon[None, :] - lon[:, None]) / 2) ** 2
        )
        straight = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
        # One triangle mirrored: exactly symmetric whatever the floating-point paths of the two halves.
        upper = np.triu(straight * self.circuity, 1)
        road = upper + upper.T
        distance = np.rint(road).astype(np.int64)
        duration = np.rint(self.speeds.durations_s(road)).astype(np.int64)
        return Matrices(
            distance_m=tuple(map(tuple, distance.tolist())),
            duration_s=tuple(map(tuple, duration.tolist())),
        )
