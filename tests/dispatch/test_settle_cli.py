"""`gongpei contract create` and `gongpei settle` as the acceptance checks drive them, on both databases."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from carriers.unified import Brand, Direction, ParcelStatus, Temperature
from dispatch.models import Parcel
from tests.dispatch.test_cli import _run, cli_env  # noqa: F401 - the fixture

__all__ = ["cli_env"]

TERMS = {
    "delivery_fees": [
        {"zone": "*", "tiers": [{"up_to_g": 3000, "fee_fen": 120}, {"up_to_g": None, "fee_fen": 250}]}
    ],
    "cod_rate_bp": 100,
}


def test_settle_prints_each_partys_lines_and_total(cli_env: dict[str, str]) -> None:
    """A contract and a day of delivered parcels: the statement's lines and total_fen come out as JSON; the
    same day settled again (closed) gives the same total; a bad contract fails naming its field."""
    _run(cli_env, "db", "upgrade")
    operator = _run(cli_env, "operator", "create", "--name", "宽甸县共配中心", "--county", "210624")[
        "operator_id"
    ]
    carrier = _run(cli_env, "carrier", "create", "--operator", operator, "--brand", "zto")["carrier_id"]
    made = _run(
        cli_env,
        "contract",
        "create",
        "--operator",
        operator,
        "--party-kind",
        "carrier",
        "--party",
        carrier,
        "--from",
        "2026-11-01",
        "--terms",
        json.dumps(TERMS),
    )
    assert made["version"] == 1
    bad = _run(
        cli_env,
        "contract",
        "create",
        "--operator",
        operator,
        "--party-kind",
        "carrier",
        "--party",
        carrier,
        "--from",
        "2026-12-01",
        "--terms",
        json.dumps({**TERMS, "cod_rate_bp": -5}),
        ok=False,
    )
    assert bad["errors"][0]["field"] == "terms.cod_rate_bp"

    engine = create_engine(cli_env["GONGPEI_DATABASE_URL"])
    done = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)  # 11:00 in Asia/Shanghai
    with Session(engine) as session:
        for i, (weight, cod) in enumerate([(1000, 0), (5000, 0), (2000, 10_050)]):
            session.add(
                Parcel(
                    operator_id=uuid.UUID(operator),
                    carrier_id=uuid.UUID(carrier),
                    brand=Brand.ZTO,
                    waybill_no=f"7350000000{i:02d}",
                    direction=Direction.DELIVERY,
                    recipient_name="王秀英",
                    recipient_phone="13812345678",
                    address_text="宽甸县",
                    weight_g=weight,
                    pieces=1,
                    temperature=Temperature.AMBIENT,
                    cod_fen=cod,
                    status=ParcelStatus.DELIVERED_RECIPIENT,
                    status_at=done,
                    done_at=done,
                )
            )
        session.commit()
    engine.dispose()

    out = _run(cli_env, "settle", "--operator", operator, "--from", "2026-11-10", "--to", "2026-11-10")
    assert out["parcels"] == 3
    [statement] = out["statements"]
    assert statement["party"] == {"kind": "carrier", "id": carrier, "name": "zto"}
    amounts = sorted((ln["kind"], ln["amount_fen"]) for ln in statement["lines"])
    assert amounts == [("cod_fee", 101), ("delivery_fee", 240), ("delivery_fee", 250)]
    assert statement["total_fen"] == 591
    closed = _run(
        cli_env, "settle", "--operator", operator, "--from", "2026-11-10", "--to", "2026-11-10", "--close"
    )
    assert closed["statements"][0]["status"] == "closed"
    assert closed["statements"][0]["total_fen"] == 591
    empty = _run(cli_env, "settle", "--operator", operator, "--from", "2026-10-01", "--to", "2026-10-31")
    assert empty["statements"] == []
    backwards = _run(
        cli_env, "settle", "--operator", operator, "--from", "2026-11-10", "--to", "2026-11-01", ok=False
    )
    assert backwards["errors"][0]["field"] == "to"
