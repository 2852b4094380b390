"""POST /v1/parcels/files: manifests accepted at once, processed in the background, reported per row."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatch.models import Parcel
from tests.builders import Tenant, idem, make_tenant

HEADER = "运单号,收件人,收件人电话,收件地址,重量(kg)"


def _csv(rows: list[str], *, title: bool = True, totals: bool = True, encoding: str = "gbk") -> bytes:
    lines = (["中通快递到件清单 2026-11-30,,,,"] if title else []) + [HEADER, *rows]
    if totals:
        lines.append("合计,,,,")
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def _upload(
    client: TestClient,
    tenant: Tenant,
    content: bytes,
    name: str = "manifest.csv",
    key: str | None = None,
    content_type: str = "text/csv",
):
    headers = {**tenant.auth, **({"Idempotency-Key": key} if key else idem())}
    return client.post("/v1/parcels/files", files={"file": (name, content, content_type)}, headers=headers)


def _count(session: Session, tenant: Tenant) -> int:
    return (
        session.scalar(select(func.count()).select_from(Parcel).where(Parcel.carrier_id == tenant.carrier_id))
        or 0
    )


def test_gbk_csv_is_imported_and_reported_per_row(client: TestClient, db_session: Session) -> None:
    """A GBK manifest with a title and a totals row: good rows land, bad ones are reported with their line."""
    tenant = make_tenant(db_session)
    content = _csv(
        [
            "73123456781001,刘桂兰,13904271234,宽甸满族自治县青山沟镇青山村,1.5",
            "73123456781002,=cmd|' /C calc'!A0,13904271235,宽甸县灌水镇,0.8",
            "73123456781003,孙七,12345,宽甸县灌水镇,0.8",
            "73123456781004,马八,13904271236,宽甸县双山子镇,2",
        ]
    )
    resp = _upload(client, tenant, content)
    assert resp.status_code == 202, resp.text
    report_url = resp.json()["report_url"]
    assert resp.headers["location"] == report_url
    report = client.get(report_url, headers=tenant.auth).json()
    assert report["status"] == "done"
    assert report["progress"] == {"rows_done": 2, "rows_total": 2, "percent": 100}
    assert report["summary"]["created"] == 2
    assert report["summary"]["rejected"] == 2
    issues = {(i["line"], i["field"]) for i in report["issues"]}
    assert issues == {(4, "收件人"), (5, "收件人电话")}
    assert "=cmd" not in str(report)
    assert _count(db_session, tenant) == 2


def test_xlsx_with_merged_title_is_imported(client: TestClient, db_session: Session) -> None:
    """An XLSX manifest whose header is on row 3 under a merged title row is read by its column names."""
    tenant = make_tenant(db_session)
    book = Workbook()
    sheet = book.active
    sheet.append(["中通快递到件清单"])
    sheet.merge_cells("A1:E1")
    sheet.append([])
    sheet.append(["中通单号", "收货人", "收货人手机", "详细地址", "重量(kg)"])
    for i in range(50):
        sheet.append([f"7312345678{2000 + i}", "高九", f"138000{i:05d}", "宽甸县太平哨镇太平哨村", 1.2])
    sheet.append(["总计", None, None, None, 60])
    buffer = io.BytesIO()
    book.save(buffer)
    resp = _upload(
        client,
        tenant,
        buffer.getvalue(),
        name="m.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    report = client.get(resp.json()["report_url"], headers=tenant.auth).json()
    assert report["status"] == "done", report
    assert report["summary"]["created"] == 50
    assert report["issues"] == []
    assert _count(db_session, tenant) == 50


def test_unreadable_files_fail_with_a_reason(client: TestClient, db_session: Session) -> None:
    """Garbage bytes, a file with renamed columns, and a legacy .xls each end failed with the reason."""
    tenant = make_tenant(db_session)
    cases = {
        "garbage": (bytes(range(256)) * 100, "binary"),
        "renamed": ("单子,人,电话\r\n1,2,3\r\n".encode(), "header"),
        "xls": (b"\xd0\xcf\x11\xe0" + b"\x00" * 600, ".xls"),
        "missing": (_csv([], title=False).replace("重量(kg)".encode("gbk"), "备注".encode("gbk")), "重量"),
    }
    for name, (content, phrase) in cases.items():
        resp = _upload(client, tenant, content, name=name)
        assert resp.status_code == 202, name
        report = client.get(resp.json()["report_url"], headers=tenant.auth).json()
        assert report["status"] == "failed", name
        assert phrase in report["error"], (name, report["error"])


def test_same_key_replays_and_other_file_is_422(client: TestClient, db_session: Session) -> None:
    """The same upload with the same key returns the same import; another file with that key is refused."""
    tenant = make_tenant(db_session)
    content = _csv(["73123456783001,刘桂兰,13904271234,宽甸县青山沟镇青山村,1.5"])
    first = _upload(client, tenant, content, key="file-key-1")
    again = _upload(client, tenant, content, key="file-key-1")
    assert again.json()["import_id"] == first.json()["import_id"]
    assert again.headers["idempotent-replayed"] == "true"
    other = _upload(client, tenant, content + b"\r\n", key="file-key-1")
    assert other.status_code == 422
    assert _count(db_session, tenant) == 1


def test_report_is_visible_only_to_its_carrier(client: TestClient, db_session: Session) -> None:
    """Another carrier asking for the report, or a random id, gets the same 404."""
    a = make_tenant(db_session)
    b = make_tenant(db_session, operator_id=a.operator_id)
    url = _upload(client, a, _csv(["73123456784001,刘桂兰,13904271234,宽甸县青山沟镇青山村,1.5"])).json()[
        "report_url"
    ]
    foreign = client.get(url, headers=b.auth)
    missing = client.get("/v1/parcels/files/00000000-0000-4000-8000-000000000000", headers=b.auth)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["detail"] == missing.json()["detail"]


def test_missing_file_and_empty_file(client: TestClient, db_session: Session) -> None:
    """No file part is a 422 naming 'file'; an empty file is taken and its import fails saying so."""
    tenant = make_tenant(db_session)
    no_file = client.post("/v1/parcels/files", data={"x": "1"}, headers={**tenant.auth, **idem()})
    assert no_file.status_code == 422
    empty = _upload(client, tenant, b"")
    assert empty.status_code == 202
    report = client.get(empty.json()["report_url"], headers=tenant.auth).json()
    assert report["status"] == "failed"
    assert "empty" in report["error"]
