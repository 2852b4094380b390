"""Road distances and driving times from an OSRM-compatible ``/table`` service.

``GET {base}/table/v1/{profile}/{lon,lat;lon,lat;…}?annotations=distance,duration`` answers
``{"code": "Ok", "distances": [[m, …]], "durations": [[s, …]]}`` with ``null`` where no route exists.
A table larger than the server's ``--max-table-size`` (100 by default) is asked for in blocks of
``max_table`` sources × ``max_table`` destinations and put back together.

Errors (all ``RoadDistanceError``, a ``DispatchError``):

RoadDistanceError              502  the service answered, but not with a usable table
├── RoadServiceUnavailable     503  timeout, connection failure or 5xx (after ``retries`` more tries)
└── UnreachableLocations       422  ``null`` entries or a point no road reaches; names the points
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import httpx

from dispatch.errors import DispatchError
from routing.distance import Matrices, Point, check_points


class RoadDistanceError(DispatchError):
    status = 502
    slug = "road-distance-error"
    title = "The road-distance service did not answer with a usable table"


class RoadServiceUnavailable(RoadDistanceError):
    status = 503
    slug = "road-distance-unavailable"
    title = "The road-distance service is unavailable"

    def __init__(self, detail: str, *, retry_after_s: int = 30) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after_s)})


class UnreachableLocations(RoadDistanceError):
    """``points``: indices (into the points asked for) that some other point cannot reach or be reached
    from; ``pairs``: the first (from, to) holes found."""

    status = 422
    slug = "unreachable-locations"
    title = "Some locations cannot be reached by road"

    def __init__(self, detail: str, *, points: Sequence[int], pairs: Sequence[tuple[int, int]]) -> None:
        self.points = tuple(points)
        self.pairs = tuple(pairs)
        super().__init__(
            detail,
            extra={"points": list(self.points), "pairs": [list(p) for p in self.pairs[:20]]},
        )


_RETRY_STATUS = frozenset({500, 502, 503, 504})
_NO_SEGMENT = re.compile(r"coordinate (\d+)")


class OsrmTable:
    """A ``DistanceProvider`` over an OSRM ``/table`` service.

    ``transport`` replaces the network (``httpx.MockTransport`` in tests); ``timeout_s`` bounds each
    request; ``max_table`` is the most points per side of one request; ``retries`` extra tries follow
    a timeout, a connection failure or a 5xx answer.
    """

    def __init__(
        self,
        base_url: str,
        *,
        profile: str = "driving",
        timeout_s: float = 10.0,
        max_table: int = 100,
        retries: int = 1,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if max_table < 2:
            raise ValueError("max_table must be at least 2")
        self.base_url = base_url.rstrip("/")
        self.profile = profile
        self.timeout_s = timeout_s
        self.max_table = max_table
        self.retries = max(0, retries)
        self._transport = transport

    @property
    def key(self) -> str:
        return f"osrm;{self.base_url};{self.profile}"

    def matrices(self, points: Sequence[Point]) -> Matrices:
        """Distance (m) and duration (s) between every ordered pair of ``points``, rounded to integers.

        Raises ``RoutingError`` for a point that is not (lat, lon), ``UnreachableLocations`` for holes,
        ``RoadServiceUnavailable`` when the service cannot be reached and ``RoadDistanceError`` for
        any other unusable answer.
        """
        check_points(points)
        size = len(points)
        distance = [[0] * size for _ in range(size)]
        duration = [[0] * size for _ in range(size)]
        holes: list[tuple[int, int]] = []
        if size > 1:
            blocks = [list(range(s, min(s + self.max_table, size))) for s in range(0, size, self.max_table)]
            with httpx.Client(
                transport=self._transport,
                timeout=self.timeout_s,
                headers={"User-Agent": "gongpei dispatch"},
            ) as client:
                for sources in blocks:
                    for destinations in blocks:
                        self._block(client, points, sources, destinations, distance, duration, holes)
        if holes:
            culprits = _culprits(holes, size)
            raise UnreachableLocations(
                f"{len(holes)} of {size * (size - 1)} routes between the points have no road "
                f"(points to check: {culprits[:20]})",
                points=culprits,
                pairs=holes,
            )
        return Matrices(
            distance_m=tuple(tuple(row) for row in distance),
            duration_s=tuple(tuple(row) for row in duration),
        )

    def _block(
        self,
        client: httpx.Client,
        points: Sequence[Point],
        sources: list[int],
        destinations: list[int],
        distance: list[list[int]],
        duration: list[list[int]],
        holes: list[tuple[int, int]],
    ) -> None:
        same = sources == destinations
        asked = sources if same else sources + destinations
        coords = ";".join(f"{points[i][1]:.6f},{points[i][0]:.6f}" for i in asked)
        # Built by hand: OSRM reads ';' and ',' literally, so they must not be percent-encoded.
        url = f"{self.base_url}/table/v1/{self.profile}/{coords}?annotations=distance,duration"
        if not same:
            url += "&sources=" + ";".join(str(k) for k in range(len(sources)))
            url += "&destinations=" + ";".join(str(len(sources) + k) for k in range(len(destinations)))
        body = self._get(client, url, asked)
        tables = [_table(body, name, len(sources), len(destinations)) for name in ("distances", "durations")]
        for r, i in enumerate(sources):
            for c, j in enumerate(destinations):
                if i == j:
                    continue
                metres, seconds = tables[0][r][c], tables[1][r][c]
                if metres is None or seconds is None:
                    holes.append((i, j))
                    continue
                distance[i][j] = round(metres)
                duration[i][j] = round(seconds)

    def _get(self, client: httpx.Client, url: str, asked: list[int]) -> dict[str, Any]:
        failure = ""
        for _attempt in range(self.retries + 1):
            try:
                response = client.get(url)
            except httpx.TimeoutException:
                failure = f"no answer within {self.timeout_s:g} s"
                continue
            except httpx.TransportError as exc:
                failure = f"cannot connect ({type(exc).__name__}: {exc})"
                continue
            if response.status_code in _RETRY_STATUS:
                failure = f"HTTP {response.status_code}"
                continue
            return self._body(response, asked)
        raise RoadServiceUnavailable(f"road-distance service at {self.base_url}: {failure}")

    def _body(self, response: httpx.Response, asked: list[int]) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise RoadDistanceError(
                f"road-distance service answered HTTP {response.status_code} without a JSON object"
            )
        code = body.get("code")
        if response.status_code == 200 and code == "Ok":
            return body
        message = str(body.get("message") or "")
        if code == "NoSegment":
            match = _NO_SEGMENT.search(message)
            where = [asked[int(match.group(1))]] if match and int(match.group(1)) < len(asked) else []
            raise UnreachableLocations(
                f"no road near point {where[0] if where else '?'}: {message}", points=where, pairs=()
            )
        hint = " (lower GONGPEI_OSRM_MAX_TABLE)" if code == "TooBig" else ""
        status = response.status_code
        raise RoadDistanceError(
            f"road-distance service answered HTTP {status} {code or '(no code)'}: {message}{hint}"
        )


def _table(body: dict[str, Any], name: str, rows: int, columns: int) -> list[list[float | None]]:
    table = body.get(name)
    if not isinstance(table, list) or len(table) != rows:
        raise RoadDistanceError(
            f"the answer has no {rows}-row '{name}' table (annotations=distance needs OSRM 5.19 or later)"
        )
    for r, row in enumerate(table):
        if not isinstance(row, list) or len(row) != columns:
            raise RoadDistanceError(f"'{name}' row {r} does not have {columns} entries")
        for c, value in enumerate(row):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e12
            ):
                raise RoadDistanceError(f"'{name}'[{r}][{c}] is {value!r}, not a non-negative number")
    return table


def _culprits(holes: Sequence[tuple[int, int]], size: int) -> list[int]:
    """The points to blame: those in more than half their possible holes, else every point in one."""
    count = [0] * size
    for i, j in holes:
        count[i] += 1
        count[j] += 1
    worst = [i for i, n in enumerate(count) if n > size - 1]
    return worst or [i for i, n in enumerate(count) if n]
