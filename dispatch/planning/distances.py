"""The distance provider the settings name, and distance matrices cached per operator.

``GONGPEI_OSRM_URL`` set: road distances from that OSRM ``/table`` service; unset: great-circle distance
× ``GONGPEI_ROAD_CIRCUITY`` at ``GONGPEI_ROAD_SPEEDS`` (see ``routing.distance``).

The cache keeps the last ``GONGPEI_DISTANCE_CACHE_SIZE`` matrices of this process, keyed by operator,
provider and point set (points to 1e-6 degrees, as stations store them). A point set that is a subset of
a cached one of the same operator and provider is cut out of it, so re-planning a wave, or planning the
afternoon wave after a morning wave that covered more stations, asks the provider nothing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from dispatch.config import Settings
from dispatch.integrations.osrm import OsrmTable
from routing.distance import DistanceProvider, GreatCircle, Matrices, Point, SpeedProfile

PointKey = tuple[int, int]


def provider_for(settings: Settings, *, transport: httpx.BaseTransport | None = None) -> DistanceProvider:
    """OSRM when ``settings.osrm_url`` is set (``transport`` replaces its network), else great-circle."""
    if settings.osrm_url:
        return OsrmTable(
            settings.osrm_url,
            profile=settings.osrm_profile,
            timeout_s=settings.osrm_timeout_s,
            max_table=settings.osrm_max_table,
            transport=transport,
        )
    return GreatCircle(circuity=settings.road_circuity, speeds=SpeedProfile.parse(settings.road_speeds))


def point_key(point: Point) -> PointKey:
    """A point to 1e-6 degrees (about 0.1 m), as integers: what the cache compares."""
    return (round(point[0] * 1_000_000), round(point[1] * 1_000_000))


@dataclass
class _Entry:
    operator: str
    provider: str
    index: dict[PointKey, int]
    matrices: Matrices


@dataclass
class MatrixCache:
    """An LRU of distance matrices per (operator, provider, points); safe to share between threads."""

    maxsize: int = 16
    hits: int = 0
    misses: int = 0
    _entries: OrderedDict[tuple[str, str, tuple[PointKey, ...]], _Entry] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0

    def lookup(self, operator: str, provider: str, points: Sequence[Point]) -> Matrices | None:
        """The cached matrices over ``points``, exactly or cut out of a superset; None when not cached."""
        keys = tuple(point_key(p) for p in points)
        with self._lock:
            exact = self._entries.get((operator, provider, keys))
            if exact is not None:
                self._entries.move_to_end((operator, provider, keys))
                self.hits += 1
                return exact.matrices
            for cache_key, entry in reversed(self._entries.items()):
                if entry.operator != operator or entry.provider != provider:
                    continue
                if all(k in entry.index for k in keys):
                    self._entries.move_to_end(cache_key)
                    self.hits += 1
                    return entry.matrices.subset([entry.index[k] for k in keys])
            self.misses += 1
            return None

    def store(self, operator: str, provider: str, points: Sequence[Point], matrices: Matrices) -> None:
        if self.maxsize <= 0:
            return
        keys = tuple(point_key(p) for p in points)
        entry = _Entry(operator, provider, {k: i for i, k in enumerate(keys)}, matrices)
        with self._lock:
            self._entries[(operator, provider, keys)] = entry
            self._entries.move_to_end((operator, provider, keys))
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)

    def get_or_compute(self, operator: str, points: Sequence[Point], provider: DistanceProvider) -> Matrices:
        """Cached matrices, or the provider's (then cached). The provider's errors pass through."""
        found = self.lookup(operator, provider.key, points)
        if found is not None:
            return found
        # Computed outside the lock: a slow road service must not hold up other operators' lookups.
        matrices = provider.matrices(points)
        self.store(operator, provider.key, points, matrices)
        return matrices


_CACHE: MatrixCache | None = None
_CACHE_LOCK = threading.Lock()


def process_cache(settings: Settings) -> MatrixCache:
    """This process's cache, sized by ``settings.distance_cache_size`` when first used."""
    global _CACHE
    with _CACHE_LOCK:
        if _CACHE is None:
            _CACHE = MatrixCache(maxsize=settings.distance_cache_size)
        return _CACHE


def operator_matrices(
    *,
    operator: str,
    points: Sequence[Point],
    settings: Settings,
    provider: DistanceProvider | None = None,
    cache: MatrixCache | None = None,
) -> Matrices:
    """Distance and duration matrices over ``points`` for ``operator`` (any stable key, e.g. its id),
    from ``provider`` (default: the settings' one), through ``cache`` (default: the process's)."""
    # ``is None``, not ``or``: an empty cache has length 0 and would count as false.
    store = process_cache(settings) if cache is None else cache
    return store.get_or_compute(str(operator), points, provider or provider_for(settings))
