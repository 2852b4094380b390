"""The driver's phone page at /driver: its files served with their types and headers (TestClient), and the
page driven end to end in headless Chromium at a phone's size against a real uvicorn on PostgreSQL: scans
recorded offline wait on the phone, survive a reload, and reach the server once each when it is online."""

from __future__ import annotations

import hashlib
import re
import socket
import threading
import time
import tomllib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright
from sqlalchemy import select, update

from carriers.unified import FailureReason, ParcelStatus
from dispatch import migrate
from dispatch.db import Database, make_engine
from dispatch.main import create_app
from dispatch.models import Manifest, Parcel, ParcelEvent
from dispatch.web import router as web
from tests.conftest import create_database, drop_database, settings_for
from tests.dispatch.test_manifests import _tokens, _waybills
from tests.dispatch.test_plans import DAY, _county_day

ROOT = Path(__file__).resolve().parents[2]
WEB_DIR = ROOT / "dispatch" / "web" / "driver"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TYPES = {
    "/driver": "text/html; charset=utf-8",
    "/driver/app.js": "text/javascript; charset=utf-8",
    "/driver/app.css": "text/css; charset=utf-8",
    "/driver/sw.js": "text/javascript; charset=utf-8",
    "/driver/manifest.webmanifest": "application/manifest+json",
    "/driver/icon.svg": "image/svg+xml",
}
KEY_LIKE = re.compile(r"gp[tkd]_[A-Za-z0-9_-]{12,}")
"""A shift token, carrier key or desk key written out."""


def test_the_page_and_its_files_are_served_with_their_types(client: TestClient) -> None:
    """Each file answers 200 with its content type, nosniff, a strong ETag and no-cache, and 304 to that
    ETag; the web manifest starts and scopes the app at /driver."""
    assert set(TYPES) == set(web.FILES)
    for path, content_type in TYPES.items():
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert resp.headers["content-type"] == content_type, path
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["cache-control"] == "no-cache"
        etag = resp.headers["etag"]
        assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304, path
        assert again.content == b""
        assert again.headers["etag"] == etag
    manifest = client.get("/driver/manifest.webmanifest").json()
    assert manifest["start_url"] == manifest["scope"] == "/driver"
    assert client.get("/driver/nothing-here.js").status_code == 404


def test_the_service_worker_may_control_the_page_one_level_up(client: TestClient) -> None:
    """sw.js sits in /driver/ and is allowed the scope /driver (the page itself); it keeps exactly the
    shell files the server serves, and its version is a digest of them, not the placeholder."""
    resp = client.get("/driver/sw.js")
    assert resp.headers["service-worker-allowed"] == "/driver"
    text = resp.text
    assert "__SHELL_VERSION__" not in text
    version = re.search(r"const VERSION = '([0-9a-f]{16})';", text)
    assert version is not None
    shell = re.search(r"const SHELL = \[(.*?)\];", text)
    assert shell is not None
    assert re.findall(r"'([^']+)'", shell.group(1)) == list(web.SHELL)
    app_js = client.get("/driver/app.js").text
    assert "register('/driver/sw.js', { scope: '/driver' })" in app_js


def test_the_page_loads_without_a_token_and_holds_no_secret(client: TestClient) -> None:
    """/driver needs no credentials (the token is typed on the page) and sets no cookie; no file holds a
    key; the HTML has no inline script, handler or style (the CSP allows none), and the token field has
    no name, so the token can never be submitted into a URL."""
    page = client.get("/driver")
    assert page.status_code == 200
    assert "set-cookie" not in page.headers
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "form-action 'none'" in csp
    assert page.headers["referrer-policy"] == "no-referrer"
    for path in TYPES:
        assert not KEY_LIKE.search(client.get(path).text), path
    html = page.text
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts
    assert all('src="/driver/' in attrs and not body.strip() for attrs, body in scripts)
    assert not re.search(r"\son[a-z]+\s*=", html)
    assert not re.search(r"\sstyle\s*=", html)
    token_input = re.search(r"<input id=\"token\"[^>]*>", html, flags=re.S)
    assert token_input is not None
    assert " name=" not in token_input.group(0)
    # The page is public; the driver API behind it is not.
    assert client.get("/v1/driver/manifest").status_code == 401


def test_the_failure_reasons_on_the_page_are_the_apis() -> None:
    """The page offers exactly the failure reasons the events API accepts."""
    source = (WEB_DIR / "app.js").read_text(encoding="utf-8")
    block = re.search(r"const REASONS = \[(.*?)\];", source, flags=re.S)
    assert block is not None
    offered = re.findall(r"\['([a-z_]+)',", block.group(1))
    assert sorted(offered) == sorted(r.value for r in FailureReason)


def test_the_page_files_ship_in_the_package() -> None:
    """Every file in dispatch/web/driver is package data (pyproject.toml), and every served file exists."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]["dispatch.web"]
    files = sorted(p.name for p in WEB_DIR.iterdir() if p.is_file())
    assert files
    assert all(any(fnmatch(f"driver/{name}", g) for g in globs) for name in files)
    assert {name for name, _type in web.FILES.values()} <= set(files)


# ---------------------------------------------------------------- end to end in Chromium


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    database: Database


@pytest.fixture
def live_server() -> Iterator[LiveServer]:
    """The app under uvicorn on a free localhost port, on a PostgreSQL database of its own (the browser and
    the test see committed data, so it cannot share the rolled-back test transaction)."""
    url = create_database("gongpei_driver")
    engine = make_engine(url, pool_size=5)
    database = Database(engine)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings_for(url, solver_solution_limit=30, plan_time_limit_s=60), database=database),
            log_level="warning",
            lifespan="on",
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    try:
        migrate.upgrade(engine)
        thread.start()
        deadline = time.monotonic() + 60
        while not server.started:
            assert thread.is_alive(), "uvicorn stopped while starting"
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        yield LiveServer(base_url=f"http://127.0.0.1:{port}", database=database)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
        engine.dispose()
        drop_database(url)


def _published_route(
    live: LiveServer, *, lockers: tuple[str, ...] = ()
) -> tuple[str, uuid.UUID, dict[str, Any]]:
    """A wave planned and published through the desk API; the shift token of the driver with the most
    deliveries, and that driver's manifest id and content. ``lockers``: brands whose first parcel's
    recipient chose a locker."""
    with live.database.session_scope() as session:
        desk, waybills, _ = _county_day(session)
        for brand in lockers:
            session.execute(
                update(Parcel)
                .where(Parcel.waybill_no == waybills[brand][0])
                .values(delivery_preference="locker")
            )
    with httpx.Client(base_url=live.base_url, timeout=120) as http:
        created = http.post("/v1/plans", json={"service_date": DAY, "wave": 1}, headers=desk.auth)
        assert created.status_code == 202, created.text
        plan_id = created.json()["plan_id"]
        deadline = time.monotonic() + 300
        while (plan := http.get(f"/v1/plans/{plan_id}", headers=desk.auth).json())["status"] != "draft":
            assert plan["status"] in ("queued", "solving"), plan.get("error")
            assert time.monotonic() < deadline, "the plan was not solved"
            time.sleep(0.2)
        published = http.post(f"/v1/plans/{plan_id}/publish", headers=desk.auth)
        assert published.status_code == 200, published.text
        made = [uuid.UUID(m["manifest_id"]) for m in published.json()["manifests"]]
    with live.database.session_scope() as session:
        tokens = _tokens(session, desk.operator_id)
        manifests = list(session.execute(select(Manifest).where(Manifest.id.in_(made))).scalars())
        best = max(manifests, key=lambda m: len(_waybills(m.content)))
        return tokens[str(best.driver_id)], best.id, best.content


def _driver_events(database: Database) -> list[dict[str, Any]]:
    with database.session_scope() as session:
        rows = session.execute(
            select(ParcelEvent, Parcel.waybill_no)
            .join(Parcel, Parcel.id == ParcelEvent.parcel_id)
            .where(ParcelEvent.raw_namespace == "driver")
            .order_by(ParcelEvent.id)
        ).all()
        return [
            {
                "event_key": e.event_key,
                "waybill_no": waybill,
                "type": e.raw_code,
                "status": e.status,
                "pickup_code": e.pickup_code,
                "description": e.description,
                "failure_reason": e.failure_reason,
            }
            for e, waybill in rows
        ]


READ_QUEUE = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open('gongpei-driver');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const req = open.result.transaction('events').objectStore('events').getAll();
    req.onsuccess = () => {
      resolve(req.result.map((r) => [r.event.event_id, r.event.waybill_no || null, r.event.type, r.status]));
      open.result.close();
    };
    req.onerror = () => reject(req.error);
  };
})"""


def _deliver(
    page: Page,
    waybill: str,
    *,
    code: str | None = None,
    signer: str | None = None,
    to: str | None = None,
) -> None:
    row = page.locator(f'.parcel[data-waybill="{waybill}"]')
    row.locator(".act-deliver").click()
    sheet = page.locator("#sheet")
    expect(sheet).to_be_visible()
    if to is not None:
        sheet.locator(f'input[name="handover"][value="{to}"]').check()
        # Leaving it at a station needs the recipient's consent: the page refuses before the API would.
        sheet.locator("#sheet-confirm").click()
        expect(sheet.locator("p.error")).to_contain_text("同意")
        sheet.locator("#consent").check()
    if code is not None:
        sheet.locator("#proof-code").fill(code)
    if signer is not None:
        sheet.locator("#proof-signer").fill(signer)
    sheet.locator("#sheet-confirm").click()
    expect(sheet).to_be_hidden()
    expect(row.locator(".act-deliver")).to_be_disabled()


@contextmanager
def _phone() -> Iterator[tuple[BrowserContext, Page, list[str]]]:
    """Headless Chromium as a phone (390 x 844, touch); the page's uncaught errors are collected."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (scripts/test.sh does)", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(
                viewport={"width": 390, "height": 844},
                device_scale_factor=3,
                is_mobile=True,
                has_touch=True,
                locale="zh-CN",
                timezone_id="Asia/Shanghai",
                service_workers="allow",
            )
            context.set_default_timeout(60_000)
            expect.set_options(timeout=60_000)
            page = context.new_page()
            page_errors: list[str] = []
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
            yield context, page, page_errors
        finally:
            browser.close()


def _sign_in(page: Page, base_url: str, token: str, content: dict[str, Any]) -> None:
    page.goto(f"{base_url}/driver")
    expect(page.locator("#signin")).to_be_visible()
    page.locator("#token").fill(token)
    page.locator("#signin-form button[type=submit]").click()
    expect(page.locator(".stop")).to_have_count(len(content["stops"]))
    expect(page.locator("#summary")).to_contain_text(content["plate"])
    expect(page.locator(".parcel")).to_have_count(len(_waybills(content)))


def test_scans_recorded_offline_reach_the_server_once_when_back_online(live_server: LiveServer) -> None:
    """A driver signs in with a real shift token and sees their stops. Offline, three deliveries wait on the
    phone (counter 3, nothing on the server), and a reload offline still shows the route from the service
    worker's copy with the three still waiting. Back online, the server has exactly those three delivered
    events (keyed by the ids the phone made) and the counter is 0; a failed attempt and the typed waybill
    search work too; a reload online revalidates the route with its ETag."""
    token, manifest_id, content = _published_route(live_server)
    waybills = _waybills(content)
    assert len(waybills) >= 4, content
    first, second, third, fourth = waybills[:4]
    stops = len(content["stops"])

    with _phone() as (context, page, page_errors):
        _sign_in(page, live_server.base_url, token, content)
        expect(page.locator("#offline-ready")).to_be_visible()  # the service worker holds a copy
        if not page.evaluate("'BarcodeDetector' in window"):
            expect(page.locator("#scan")).to_be_hidden()

        page.locator("#route-start").click()
        expect(page.locator("#route-start")).to_be_disabled()
        expect(page.locator('.log-item[data-status="synced"]')).to_have_count(1)

        context.set_offline(True)
        expect(page.locator("#net")).to_have_attribute("data-online", "no")
        _deliver(page, first, code="3-2-118")
        _deliver(page, second, signer="王秀英")
        _deliver(page, third, to="station", code="A-0417")
        expect(page.locator("#pending-count")).to_have_text("3")
        assert [e["type"] for e in _driver_events(live_server.database)] == []

        page.reload()
        expect(page.locator(".stop")).to_have_count(stops)
        expect(page.locator("#manifest-source")).to_have_attribute("data-source", "cache")
        expect(page.locator("#pending-count")).to_have_text("3")
        queued = page.evaluate(READ_QUEUE)
        delivered_ids = {event_id: waybill for event_id, waybill, kind, _s in queued if kind == "delivered"}
        assert sorted(delivered_ids.values()) == sorted([first, second, third])
        assert _driver_events(live_server.database) == []

        context.set_offline(False)
        expect(page.locator("#pending-count")).to_have_text("0")
        expect(page.locator('.log-item[data-status="synced"]')).to_have_count(4)
        events = _driver_events(live_server.database)
        delivered = [e for e in events if e["type"] == "delivered"]
        assert sorted((e["event_key"], e["waybill_no"]) for e in delivered) == sorted(
            (f"driver:{event_id}", waybill) for event_id, waybill in delivered_ids.items()
        )
        by_waybill = {e["waybill_no"]: e for e in delivered}
        assert by_waybill[first]["pickup_code"] == "3-2-118"
        assert by_waybill[first]["status"] is ParcelStatus.DELIVERED_RECIPIENT
        signature = hashlib.sha256("王秀英".encode()).hexdigest()
        assert f"signature sha256:{signature}" in (by_waybill[second]["description"] or "")
        assert by_waybill[third]["status"] is ParcelStatus.AT_STATION
        assert "consent" in (by_waybill[third]["description"] or "")
        with live_server.database.session_scope() as session:
            manifest = session.get(Manifest, manifest_id)
            assert manifest is not None
            assert manifest.started_at is not None

        page.locator("#find-input").fill(fourth[-8:])
        page.locator("#find-form button[type=submit]").click()
        expect(page.locator(f'.parcel.found[data-waybill="{fourth}"]')).to_have_count(1)
        page.locator(f'.parcel[data-waybill="{fourth}"] .act-fail').click()
        page.locator('#sheet input[name="reason"][value="nobody_home"]').check()
        page.locator("#sheet-confirm").click()
        expect(page.locator('.log-item[data-status="synced"]')).to_have_count(5)
        expect(page.locator("#pending-count")).to_have_text("0")
        failed = [e for e in _driver_events(live_server.database) if e["type"] == "failed"]
        assert [(e["waybill_no"], e["failure_reason"]) for e in failed] == [
            (fourth, FailureReason.NOBODY_HOME)
        ]

        page.reload()
        expect(page.locator("#manifest-source")).to_have_attribute("data-source", "revalidated")
        expect(page.locator(f'.parcel[data-waybill="{first}"] .chip.synced')).to_be_visible()
        assert page_errors == []


QUEUE_STRAY_SCAN = """(waybill) => new Promise((resolve, reject) => {
  const open = indexedDB.open('gongpei-driver');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const tx = open.result.transaction('events', 'readwrite');
    const event = {
      event_id: crypto.randomUUID(), waybill_no: waybill, type: 'delivered',
      occurred_at: new Date().toISOString(),
    };
    tx.objectStore('events').add({
      driver_id: localStorage.getItem('gongpei.driver.driver_id'), manifest_id: null, event,
      status: 'pending', recorded_at: Date.now(),
    });
    tx.oncomplete = () => { open.result.close(); resolve(event.event_id); };
    tx.onerror = () => reject(tx.error);
  };
})"""


def test_a_scan_the_server_refuses_is_shown_and_never_sent_again(live_server: LiveServer) -> None:
    """A queued scan of a parcel that is not on the driver's manifest (left from an earlier version, say)
    comes back rejected: the page shows it with the server's reason and counts it apart from the pending,
    and later syncs (the route's end here) never send it again."""
    token, manifest_id, content = _published_route(live_server)
    with _phone() as (_context, page, page_errors):
        _sign_in(page, live_server.base_url, token, content)
        sent: list[str] = []
        page.on(
            "request",
            lambda r: sent.append(r.post_data or "") if r.url.endswith("/v1/driver/events") else None,
        )
        page.locator("#route-start").click()
        expect(page.locator('.log-item[data-status="synced"]')).to_have_count(1)

        stray = page.evaluate(QUEUE_STRAY_SCAN, "7000000000000")
        page.locator("#sync").click()
        expect(page.locator("#rejected-count")).to_have_text("1")
        expect(page.locator("#rejected-badge")).to_be_visible()
        expect(page.locator("#pending-count")).to_have_text("0")
        refused = page.locator(f'.log-item[data-event-id="{stray}"]')
        expect(refused).to_have_attribute("data-status", "rejected")
        expect(refused).to_contain_text("not on your current manifest")

        page.locator("#sync").click()
        page.locator("#route-end").click()
        expect(page.locator("#sheet")).to_be_visible()
        page.locator("#sheet-confirm").click()
        expect(page.locator('.log-item[data-status="synced"]')).to_have_count(2)
        expect(page.locator("#route-end")).to_be_disabled()
        assert sum(stray in body for body in sent) == 1
        assert not [e for e in _driver_events(live_server.database) if e["waybill_no"] == "7000000000000"]
        with live_server.database.session_scope() as session:
            manifest = session.get(Manifest, manifest_id)
            assert manifest is not None
            assert manifest.started_at is not None
            assert manifest.ended_at is not None
        assert page_errors == []


def test_a_locker_the_recipient_chose_is_preselected_with_consent_on_file(live_server: LiveServer) -> None:
    """A parcel whose recipient chose a locker opens its delivery sheet on the locker with the consent
    ticked (on file); confirming needs nothing more, and the server records the hand-over at the locker."""
    token, _manifest_id, content = _published_route(live_server, lockers=("zto", "yto"))
    chosen = [
        item["waybill_no"]
        for stop in content["stops"]
        for items in stop["deliveries_by_carrier"].values()
        for item in items
        if item["consent_on_file"]
    ]
    assert chosen, content
    with _phone() as (_context, page, page_errors):
        _sign_in(page, live_server.base_url, token, content)
        row = page.locator(f'.parcel[data-waybill="{chosen[0]}"]')
        row.locator(".act-deliver").click()
        sheet = page.locator("#sheet")
        expect(sheet.locator('input[name="handover"][value="locker"]')).to_be_checked()
        expect(sheet.locator("#consent")).to_be_checked()
        sheet.locator("#sheet-confirm").click()
        expect(sheet).to_be_hidden()
        expect(page.locator("#pending-count")).to_have_text("0")
        assert page_errors == []
    [event] = [e for e in _driver_events(live_server.database) if e["waybill_no"] == chosen[0]]
    assert event["status"] == ParcelStatus.AT_STATION
    assert "locker" in (event["description"] or "")
