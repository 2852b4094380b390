"""Vehicles, drivers and shift tokens (PostgreSQL), and the CLI the acceptance checks drive."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dispatch.accounts.service import create_operator, hash_key
from dispatch.db import utcnow
from dispatch.errors import NotFound, Unauthorized, ValidationFailed
from dispatch.fleet import service
from dispatch.models import Driver, DriverToken
from tests.dispatch.test_cli import _env, _run


def _operator(session: Session) -> uuid.UUID:
    return create_operator(
        session, name=f"县共配 {uuid.uuid4().hex[:6]}", county_code="210624", timezone="Asia/Shanghai"
    ).id


def test_vehicle_and_driver_with_a_shift_token_stored_as_a_digest(db_session: Session) -> None:
    operator_id = _operator(db_session)
    van = service.create_vehicle(db_session, operator_id=operator_id, plate="辽F·A1234", capacity_kg=1.5e3)
    fridge = service.create_vehicle(
        db_session, operator_id=operator_id, plate="辽F·C0001", capacity_kg=1000, refrigerated=True
    )
    assert (van.capacity_weight_g, van.refrigerated, fridge.refrigerated) == (1_500_000, False, True)
    driver, token = service.create_driver(
        db_session, operator_id=operator_id, name="张师傅", vehicle_id=van.id, token_hours=14
    )
    assert token.api_key.startswith("gpt_")
    stored = db_session.execute(select(DriverToken).where(DriverToken.driver_id == driver.id)).scalar_one()
    assert stored.key_sha256 == hash_key(token.api_key)
    assert token.api_key not in {stored.prefix, stored.key_sha256}
    assert timedelta(hours=13, minutes=59) < stored.expires_at - utcnow() <= timedelta(hours=14)
    who = service.authenticate_driver(db_session, token=token.api_key, device_id="phone-1")
    assert (who.driver_id, who.operator_id, who.vehicle_id) == (driver.id, operator_id, van.id)


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("plate", {"plate": "  ", "capacity_kg": 1000}),
        ("plate", {"plate": "X" * 17, "capacity_kg": 1000}),
        ("capacity_kg", {"plate": "辽F1", "capacity_kg": 0}),
        ("capacity_kg", {"plate": "辽F1", "capacity_kg": 60_000}),
    ],
)
def test_bad_vehicles_are_refused_naming_the_field(
    db_session: Session, field: str, kwargs: dict[str, object]
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        service.create_vehicle(db_session, operator_id=_operator(db_session), **kwargs)  # type: ignore[arg-type]
    assert caught.value.errors == [{"field": field, "reason": caught.value.errors[0]["reason"]}]


def test_a_driver_cannot_be_put_on_another_operators_vehicle(db_session: Session) -> None:
    theirs = service.create_vehicle(
        db_session, operator_id=_operator(db_session), plate="辽A1", capacity_kg=900
    )
    with pytest.raises(NotFound):
        service.create_driver(
            db_session, operator_id=_operator(db_session), name="李师傅", vehicle_id=theirs.id, token_hours=14
        )


def test_every_refused_token_gets_the_same_answer(db_session: Session) -> None:
    operator_id = _operator(db_session)
    driver, token = service.create_driver(db_session, operator_id=operator_id, name="王师傅", token_hours=14)
    service.authenticate_driver(db_session, token=token.api_key, device_id="phone-1")  # binds phone-1
    refusals = [
        ("gpk_" + token.api_key[4:], "phone-1"),  # another kind of key
        (token.api_key + "x", "phone-1"),  # unknown
        (token.api_key, "phone-2"),  # another device
        (token.api_key, ""),  # no device
    ]
    for presented, device in refusals:
        with pytest.raises(Unauthorized):
            service.authenticate_driver(db_session, token=presented, device_id=device)

    _, expiring = service.create_driver(db_session, operator_id=operator_id, name="赵师傅", token_hours=1)
    db_session.execute(
        update(DriverToken)
        .where(DriverToken.id == expiring.key_id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db_session.expire_all()
    with pytest.raises(Unauthorized):
        service.authenticate_driver(db_session, token=expiring.api_key, device_id="phone-3")

    service.revoke_driver_token(db_session, token_id=token.key_id)
    with pytest.raises(Unauthorized):
        service.authenticate_driver(db_session, token=token.api_key, device_id="phone-1")

    _, fresh = service.create_driver(db_session, operator_id=operator_id, name="钱师傅", token_hours=14)
    db_session.execute(update(Driver).where(Driver.name == "钱师傅").values(active=False))
    db_session.expire_all()
    with pytest.raises(Unauthorized):
        service.authenticate_driver(db_session, token=fresh.api_key, device_id="phone-4")


def test_cli_vehicle_driver_and_dispatcher_print_json(tmp_path: Path) -> None:
    env = _env(f"sqlite:///{tmp_path / 'fleet.db'}", tmp_path)
    _run(env, "db", "upgrade")
    operator = _run(env, "operator", "create", "--name", "宽甸县共配中心", "--county", "210624")[
        "operator_id"
    ]
    vehicle = _run(
        env,
        "vehicle",
        "create",
        "--operator",
        operator,
        "--plate",
        "辽F·C0001",
        "--capacity-kg",
        "1000",
        "--refrigerated",
    )
    assert uuid.UUID(vehicle["vehicle_id"])
    assert (vehicle["capacity_weight_g"], vehicle["refrigerated"]) == (1_000_000, True)
    driver = _run(
        env,
        "driver",
        "create",
        "--operator",
        operator,
        "--name",
        "张师傅",
        "--vehicle",
        vehicle["vehicle_id"],
    )
    assert uuid.UUID(driver["driver_id"])
    assert driver["token"].startswith("gpt_")
    dispatcher = _run(env, "dispatcher", "create", "--operator", operator, "--name", "调度小李")
    assert uuid.UUID(dispatcher["dispatcher_id"])
    assert dispatcher["token"].startswith("gpd_")
    refused = _run(
        env, "vehicle", "create", "--operator", operator, "--plate", "辽F1", "--capacity-kg", "0", ok=False
    )
    assert refused["field"] == "capacity_kg"
