"""Carrier adapter throughput on one core, and a 50,000-row manifest upload through the API.

    .venv/bin/python -m benchmarks.adapters [--records 20000] [--upload-rows 50000] [--formats zto,sf]

Per adapter, parse time of: its native parcel JSON (records built from the first good record of its golden
``parcels.json``, each with a fresh waybill), a GBK CSV manifest and an XLSX manifest (both with the common
Chinese headers), and a push payload of its own rendered events. Figures are records per second of one
process (the machine's other core stays idle), the best of ``--repeat`` runs. Then a manifest of
``--upload-rows`` rows goes to ``POST /v1/parcels/files`` on a scratch PostgreSQL database: the time to the
202 answer and the time until the report says done. Targets: ≥ 50,000 records/s for JSON and CSV, ≥ 10,000
rows/s for XLSX. Prints one JSON object on stdout; progress on stderr.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from carriers import registry
from carriers.base import CarrierPayloadError, ParseResult
from carriers.unified import ParcelStatus, SiteType, TrackingEvent

GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "carriers" / "golden"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SAMPLE_WAYBILL = {
    "zto": "73{:012d}",
    "yto": "YT{:013d}",
    "sto": "773{:012d}",
    "yunda": "31{:013d}",
    "jt": "JT{:013d}",
    "sf": "SF1{:012d}",
    "jd": "JDAB{:011d}",
    "china_post": "98{:011d}",
    "ems": "11{:011d}",
    "kuaidi100": "73{:012d}",
    "kdniao": "73{:012d}",
}
HEADER = ["运单号", "收件人", "收件人电话", "收件地址", "重量(kg)", "大头笔"]


def log(message: str) -> None:
    print(f"[adapters] {message}", file=sys.stderr, flush=True)


def best_rate(count: int, run: Callable[[], ParseResult], repeat: int) -> tuple[int, int]:
    """(records/s of the fastest run, parcels+events the run produced)."""
    best = float("inf")
    produced = 0
    for _ in range(repeat):
        started = time.process_time()
        result = run()
        best = min(best, time.process_time() - started)
        produced = len(result.parcels) + len(result.events)
    return int(count / best) if best > 0 else 0, produced


def manifest_rows(code: str, n: int) -> list[list[str]]:
    pattern = SAMPLE_WAYBILL[code]
    return [
        [
            pattern.format(i + 1),
            "王秀英",
            f"138{(i * 7919) % 10**8:08d}",
            "辽宁省丹东市宽甸满族自治县青山沟镇青山村3组",
            "1.25",
            "宽甸 青山沟",
        ]
        for i in range(n)
    ]


def csv_bytes(rows: list[list[str]]) -> bytes:
    lines = ["到件清单,,,,,", ",".join(HEADER), *(",".join(r) for r in rows), "合计,,,,,"]
    return "\r\n".join(lines).encode("gb18030")


def xlsx_bytes(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["到件清单"])
    sheet.append(HEADER)
    for row in rows:
        sheet.append([*row[:4], float(row[4]), row[5]])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def native_json(code: str, n: int) -> bytes | None:
    """n native parcel records cloned from the golden file's first good record, or None without one."""
    source = GOLDEN / code / "parcels.json"
    expected = GOLDEN / code / "parcels.expected.json"
    if not source.exists() or not expected.exists():
        return None
    good = json.loads(expected.read_text(encoding="utf-8"))["parcels"]
    if not good:
        return None
    template_waybill = good[0]["waybill_no"]
    text = source.read_text(encoding="utf-8")
    payload = json.loads(text)
    records, envelope_key = (payload, None) if isinstance(payload, list) else (None, None)
    if records is None:
        for key, value in payload.items():
            if isinstance(value, list):
                records, envelope_key = value, key
                break
    if records is None:
        return None
    index = good[0]["index"]
    template = json.dumps(records[index], ensure_ascii=False)
    if template_waybill not in template:
        template = re.sub(template_waybill, template_waybill, template, flags=re.IGNORECASE)
    pattern = SAMPLE_WAYBILL[code]
    clones = [json.loads(template.replace(template_waybill, pattern.format(i + 1), 1)) for i in range(n)]
    if envelope_key is None:
        return json.dumps(clones, ensure_ascii=False).encode()
    return json.dumps({**payload, envelope_key: clones}, ensure_ascii=False).encode()


def push_json(code: str, n: int) -> bytes:
    adapter = registry.get(code)
    events = [
        adapter.render_event(
            TrackingEvent(
                waybill_no=SAMPLE_WAYBILL[code].format(i + 1),
                status=ParcelStatus.HUB_RECEIVED,
                occurred_at=datetime(2026, 11, 30, 0, 0, i % 60, tzinfo=UTC),
                site_no="KD-CENTER",
                site_name="宽甸县共配中心",
                site_type=SiteType.COUNTY_CENTER,
            )
        )
        for i in range(n)
    ]
    return json.dumps(events, ensure_ascii=False).encode()


def measure_adapter(code: str, n: int, repeat: int) -> dict[str, Any]:
    adapter = registry.get(code)
    figures: dict[str, Any] = {}
    rows = manifest_rows(code, n)
    inputs: list[tuple[str, Callable[[], ParseResult]]] = []
    if code in registry.BRAND_FORMATS:
        if (raw_json := native_json(code, n)) is not None:
            inputs.append(("json", lambda: adapter.parse_parcels(raw_json, "application/json")))
        raw_csv = csv_bytes(rows)
        raw_xlsx = xlsx_bytes(rows)
        inputs.append(("csv", lambda: adapter.parse_parcels(raw_csv, "text/csv")))
        inputs.append(("xlsx", lambda: adapter.parse_parcels(raw_xlsx, XLSX)))
    raw_push = push_json(code, n)
    inputs.append(("push", lambda: adapter.parse_events(raw_push, "application/json")))
    for name, run in inputs:
        try:
            rate, produced = best_rate(n, run, repeat)
        except CarrierPayloadError as exc:
            figures[name] = {"error": exc.reason}
            continue
        figures[name] = {"records_per_s": rate, "ok": produced}
        log(f"{code:<11} {name:<5} {rate:>9,} records/s ({produced:,}/{n:,} read)")
    return figures


def measure_upload(rows: int, admin_url: str, port: int) -> dict[str, Any]:
    """A manifest of ``rows`` rows through POST /v1/parcels/files to one API process on a scratch database:
    seconds to the 202 answer, and to the report saying done."""
    import tempfile

    import httpx

    from benchmarks.ingest import api_process, prepare, scratch_database

    content = csv_bytes(manifest_rows("zto", rows))
    with scratch_database(admin_url) as url, tempfile.TemporaryDirectory() as tmp:
        account = prepare(url, 1)[0]
        auth = {"Authorization": f"Bearer {account.api_key}"}
        with (
            api_process(url, port, Path(tmp) / "api.log", None),
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client,
        ):
            started = time.perf_counter()
            resp = client.post(
                "/v1/parcels/files",
                files={"file": ("manifest.csv", content, "text/csv")},
                headers={**auth, "Idempotency-Key": str(uuid.uuid4())},
            )
            accepted_s = time.perf_counter() - started
            report: dict[str, Any] = {}
            while time.perf_counter() - started < 600:
                report = client.get(resp.json()["report_url"], headers=auth).json()
                if report["status"] in ("done", "failed"):
                    break
                time.sleep(0.2)
            done_s = time.perf_counter() - started
    return {
        "rows": rows,
        "file_bytes": len(content),
        "status": resp.status_code,
        "accepted_s": round(accepted_s, 3),
        "report_status": report.get("status"),
        "created": (report.get("summary") or {}).get("created", 0),
        "done_s": round(done_s, 2),
        "rows_per_s": int(rows / done_s),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=20_000, help="records per input")
    parser.add_argument("--repeat", type=int, default=3, help="runs per input; the fastest counts")
    parser.add_argument("--formats", default="", help="comma-separated codes (default: all)")
    parser.add_argument(
        "--upload-rows", type=int, default=50_000, help="rows of the uploaded manifest (0: skip)"
    )
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--port", type=int, default=8766, help="port for the API process of the upload")
    args = parser.parse_args(argv)
    codes = [c for c in (args.formats.split(",") if args.formats else registry.formats()) if c]
    out: dict[str, Any] = {"records": args.records, "adapters": {}}
    for code in codes:
        out["adapters"][code] = measure_adapter(code, args.records, args.repeat)
    if args.upload_rows:
        log(f"uploading a {args.upload_rows:,}-row manifest")
        out["upload"] = measure_upload(args.upload_rows, args.admin_url, args.port)
        log(f"upload: {out['upload']}")
    print(json.dumps(out, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
