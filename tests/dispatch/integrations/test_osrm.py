"""The OSRM /table client through an httpx MockTransport: tables, blocks, holes and failures."""

from __future__ import annotations

import math
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest

from dispatch.config import Settings
from dispatch.integrations.osrm import (
    OsrmTable,
    RoadDistanceError,
    RoadServiceUnavailable,
    UnreachableLocations,
)
from dispatch.planning.distances import MatrixCache, operator_matrices, provider_for
from routing.distance import GreatCircle

BASE = "http://osrm.test:5000"
POINTS = [(41.0 + 0.01 * i, 122.0 + 0.02 * i) for i in range(7)]


def _coords(request: httpx.Request) -> list[tuple[float, float]]:
    path = unquote(request.url.path)
    assert path.startswith("/table/v1/driving/")
    pairs = path.removeprefix("/table/v1/driving/").split(";")
    return [(float(p.split(",")[1]), float(p.split(",")[0])) for p in pairs]  # back to (lat, lon)


def _fake_distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    """A deterministic asymmetric 'road' distance for the fake server: 1,000 m per index step plus 0.4."""
    ia = round((a[0] - 41.0) / 0.01)
    ib = round((b[0] - 41.0) / 0.01)
    return 0.0 if ia == ib else 1_000.0 * abs(ia - ib) + (0.4 if ia < ib else 0.6)


def server(*, holes: frozenset[tuple[int, int]] = frozenset(), requests: list[httpx.Request] | None = None):
    """An OSRM stand-in answering /table with ``_fake_distance`` (duration = distance / 10)."""

    def handler(request: httpx.Request) -> httpx.Response:
        if requests is not None:
            requests.append(request)
        coords = _coords(request)
        query = parse_qs(urlsplit(str(request.url)).query)
        assert query["annotations"] == ["distance,duration"]
        sources = (
            [int(x) for x in query["sources"][0].split(";")] if "sources" in query else range(len(coords))
        )
        dests = (
            [int(x) for x in query["destinations"][0].split(";")]
            if "destinations" in query
            else range(len(coords))
        )
        index = [round((c[0] - 41.0) / 0.01) for c in coords]
        distances = [
            [None if (index[s], index[d]) in holes else _fake_distance(coords[s], coords[d]) for d in dests]
            for s in sources
        ]
        durations = [[None if v is None else v / 10 for v in row] for row in distances]
        return httpx.Response(200, json={"code": "Ok", "distances": distances, "durations": durations})

    return httpx.MockTransport(handler)


def test_table_is_read_and_rounded_to_integers() -> None:
    """One request for a small table; metres and seconds come back as rounded integers, diagonal zero."""
    requests: list[httpx.Request] = []
    client = OsrmTable(BASE, transport=server(requests=requests))
    matrices = client.matrices(POINTS[:3])
    assert len(requests) == 1
    assert "annotations=distance,duration" in str(requests[0].url)
    assert ";" in requests[0].url.path  # separators are sent literally, as OSRM reads them
    assert matrices.distance_m == ((0, 1_000, 2_000), (1_001, 0, 1_000), (2_001, 1_001, 0))
    assert matrices.duration_s == ((0, 100, 200), (100, 0, 100), (200, 100, 0))
    assert all(type(v) is int for row in matrices.distance_m for v in row)


def test_coordinates_are_sent_lon_lat() -> None:
    """OSRM takes longitude first."""
    requests: list[httpx.Request] = []
    OsrmTable(BASE, transport=server(requests=requests)).matrices(POINTS[:2])
    assert "/table/v1/driving/122.000000,41.000000;122.020000,41.010000" in unquote(str(requests[0].url))


def test_large_tables_are_asked_for_in_blocks_and_put_back_together() -> None:
    """With max_table 3, seven points take 3×3 block requests; the result equals one big table."""
    requests: list[httpx.Request] = []
    blocked = OsrmTable(BASE, max_table=3, transport=server(requests=requests)).matrices(POINTS)
    whole = OsrmTable(BASE, transport=server()).matrices(POINTS)
    assert len(requests) == 9
    assert all(len(_coords(r)) <= 6 for r in requests)
    assert blocked == whole
    assert blocked.distance_m[6][0] == 6_001
    assert blocked.distance_m[0][6] == 6_000


def test_null_entries_raise_naming_the_unreachable_point() -> None:
    """A point no other point reaches (nulls in its row and column) is named in the error."""
    holes = frozenset({(2, j) for j in range(5) if j != 2} | {(j, 2) for j in range(5) if j != 2})
    client = OsrmTable(BASE, max_table=2, transport=server(holes=holes))
    with pytest.raises(UnreachableLocations) as caught:
        client.matrices(POINTS[:5])
    assert caught.value.points == (2,)
    assert caught.value.status == 422
    assert (2, 0) in caught.value.pairs
    assert "no road" in caught.value.detail


def test_a_single_hole_is_reported_too() -> None:
    """Even one null entry is an error: a plan must never drive a route the service says is impossible."""
    with pytest.raises(UnreachableLocations) as caught:
        OsrmTable(BASE, transport=server(holes=frozenset({(0, 1)}))).matrices(POINTS[:3])
    assert caught.value.pairs == ((0, 1),)


def test_server_errors_are_retried_then_reported() -> None:
    """A 5xx answer is tried again (``retries``) and then raised as the service being unavailable."""
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503, text="upstream busy")

    with pytest.raises(RoadServiceUnavailable, match="HTTP 503") as caught:
        OsrmTable(BASE, retries=2, transport=httpx.MockTransport(handler)).matrices(POINTS[:2])
    assert len(calls) == 3
    assert caught.value.status == 503
    assert caught.value.headers["Retry-After"]


def test_a_retry_that_succeeds_gives_the_table() -> None:
    """One 502 followed by a good answer is a good answer."""
    good = server()
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(502) if len(calls) == 1 else good.handle_request(request)

    matrices = OsrmTable(BASE, transport=httpx.MockTransport(handler)).matrices(POINTS[:2])
    assert matrices.distance_m[0][1] == 1_000


def test_timeouts_and_connection_failures_are_reported() -> None:
    """A timeout or a refused connection raises ``RoadServiceUnavailable`` saying which."""

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(RoadServiceUnavailable, match="no answer within 2 s"):
        OsrmTable(BASE, timeout_s=2, transport=httpx.MockTransport(slow)).matrices(POINTS[:2])
    with pytest.raises(RoadServiceUnavailable, match="cannot connect"):
        OsrmTable(BASE, transport=httpx.MockTransport(refused)).matrices(POINTS[:2])


def test_osrm_error_codes_are_reported() -> None:
    """A 400 with an OSRM code names it; NoSegment names the point no road is near."""

    def too_big(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"code": "TooBig", "message": "Too many table coordinates"})

    def no_segment(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400, json={"code": "NoSegment", "message": "Could not find a matching segment for coordinate 1"}
        )

    with pytest.raises(RoadDistanceError, match="TooBig.*GONGPEI_OSRM_MAX_TABLE"):
        OsrmTable(BASE, transport=httpx.MockTransport(too_big)).matrices(POINTS[:2])
    with pytest.raises(UnreachableLocations) as caught:
        OsrmTable(BASE, transport=httpx.MockTransport(no_segment)).matrices(POINTS[:3])
    assert caught.value.points == (1,)


@pytest.mark.parametrize(
    "body",
    [
        {"code": "Ok", "durations": [[0, 1], [1, 0]]},
        {"code": "Ok", "distances": [[0, 1]], "durations": [[0, 1], [1, 0]]},
        {"code": "Ok", "distances": [[0, "far"], [1, 0]], "durations": [[0, 1], [1, 0]]},
        {"code": "Ok", "distances": [[0, -5], [1, 0]], "durations": [[0, 1], [1, 0]]},
    ],
)
def test_malformed_tables_are_reported(body) -> None:
    """A missing distance table (old OSRM), a wrong shape or a non-number raises ``RoadDistanceError``."""
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    with pytest.raises(RoadDistanceError):
        OsrmTable(BASE, transport=transport).matrices(POINTS[:2])


def test_non_json_answer_is_reported() -> None:
    """An HTML error page from a proxy is not a table."""
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text="<html>gateway</html>"))
    with pytest.raises(RoadDistanceError, match="without a JSON object"):
        OsrmTable(BASE, transport=transport).matrices(POINTS[:2])


def test_one_point_needs_no_request() -> None:
    """A single point is a 1×1 zero table, asked of nobody."""

    def fail(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")

    assert OsrmTable(BASE, transport=httpx.MockTransport(fail)).matrices(POINTS[:1]).distance_m == ((0,),)


def test_settings_pick_the_provider() -> None:
    """GONGPEI_OSRM_URL set: OSRM; unset: great-circle with the configured circuity and speeds."""
    estimate = provider_for(Settings(road_circuity=1.4, road_speeds="*:30"))
    assert isinstance(estimate, GreatCircle)
    assert estimate.circuity == 1.4
    road = provider_for(Settings(osrm_url=BASE + "/", osrm_max_table=50), transport=server())
    assert isinstance(road, OsrmTable)
    assert road.key == f"osrm;{BASE};driving"
    assert road.max_table == 50


def test_cache_asks_the_service_once_per_operator_and_point_set() -> None:
    """Re-planning with the same points, or a subset of them, asks the service nothing more; another
    operator or another point set does."""
    requests: list[httpx.Request] = []
    settings = Settings(osrm_url=BASE)
    provider = provider_for(settings, transport=server(requests=requests))
    cache = MatrixCache(maxsize=4)
    first = operator_matrices(
        operator="op-1", points=POINTS[:5], settings=settings, provider=provider, cache=cache
    )
    again = operator_matrices(
        operator="op-1", points=POINTS[:5], settings=settings, provider=provider, cache=cache
    )
    subset = operator_matrices(
        operator="op-1", points=[POINTS[3], POINTS[0]], settings=settings, provider=provider, cache=cache
    )
    assert len(requests) == 1
    assert again == first
    assert subset.distance_m == ((0, first.distance_m[3][0]), (first.distance_m[0][3], 0))
    operator_matrices(operator="op-2", points=POINTS[:5], settings=settings, provider=provider, cache=cache)
    operator_matrices(operator="op-1", points=POINTS[4:7], settings=settings, provider=provider, cache=cache)
    assert len(requests) == 3
    assert (cache.hits, cache.misses) == (2, 3)


def test_cache_evicts_the_least_recently_used() -> None:
    """Past ``maxsize`` entries the oldest unused one goes."""
    cache = MatrixCache(maxsize=2)
    settings = Settings()
    provider = GreatCircle()
    for k in range(3):
        operator_matrices(
            operator=f"op-{k}", points=POINTS[:2], settings=settings, provider=provider, cache=cache
        )
    assert len(cache) == 2
    assert cache.lookup("op-0", provider.key, POINTS[:2]) is None
    assert cache.lookup("op-2", provider.key, POINTS[:2]) is not None


def test_great_circle_through_the_cache_matches_the_provider() -> None:
    """The cache hands back exactly what the provider computed."""
    provider = GreatCircle()
    got = operator_matrices(
        operator="x", points=POINTS, settings=Settings(), provider=provider, cache=MatrixCache()
    )
    assert got == provider.matrices(POINTS)
    assert math.isclose(got.distance_m[0][1], provider.matrices(POINTS[:2]).distance_m[0][1])
