"""Proof-of-delivery photos: a driver uploads under the digest its event names; the desk reads them back."""

from __future__ import annotations

import hashlib
import os

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from dispatch.fleet import service as fleet
from tests.builders import make_desk_user, make_tenant

JPEG = b"\xff\xd8\xff\xe0" + os.urandom(2048)
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(512)


def _phone(session: Session, operator_id: object) -> dict[str, str]:
    _, token = fleet.create_driver(session, operator_id=operator_id, name="张师傅", token_hours=12)  # type: ignore[arg-type]
    return {"Authorization": f"Bearer {token.api_key}", "X-Device-Id": "phone-1"}


def _put(client: TestClient, phone: dict[str, str], data: bytes, digest: str | None = None):  # type: ignore[no-untyped-def]
    sha = digest or hashlib.sha256(data).hexdigest()
    return client.put(
        f"/v1/driver/photos/{sha}", content=data, headers={**phone, "Content-Type": "image/jpeg"}
    )


def test_a_photo_is_kept_once_under_its_digest_and_the_desk_reads_it(
    client: TestClient, db_session: Session
) -> None:
    """201 the first time, 200 after (nothing changes); the desk gets the same bytes and type back; another
    operator's desk and a carrier's key do not."""
    desk = make_desk_user(db_session)
    phone = _phone(db_session, desk.operator_id)
    first = _put(client, phone, JPEG)
    assert first.status_code == 201, first.text
    assert first.json() == {
        "sha256": hashlib.sha256(JPEG).hexdigest(),
        "content_type": "image/jpeg",
        "size_bytes": len(JPEG),
    }
    assert _put(client, phone, JPEG).status_code == 200
    png = _put(client, phone, PNG)
    assert png.json()["content_type"] == "image/png"  # by the bytes, not the header

    got = client.get(f"/v1/proofs/{hashlib.sha256(JPEG).hexdigest()}", headers=desk.auth)
    assert got.status_code == 200
    assert got.content == JPEG
    assert got.headers["content-type"] == "image/jpeg"
    stranger = make_desk_user(db_session)
    assert (
        client.get(f"/v1/proofs/{hashlib.sha256(JPEG).hexdigest()}", headers=stranger.auth).status_code == 404
    )
    carrier = make_tenant(db_session, operator_id=desk.operator_id)
    assert (
        client.get(f"/v1/proofs/{hashlib.sha256(JPEG).hexdigest()}", headers=carrier.auth).status_code == 401
    )


def test_bad_uploads_are_named(client: TestClient, db_session: Session) -> None:
    """Another digest names sha256; text, an empty body or an oversized photo name the body; a bad digest
    in the path is a 422; another phone with the token is a 401; none of them stores anything."""
    desk = make_desk_user(db_session)
    phone = _phone(db_session, desk.operator_id)
    wrong = _put(client, phone, JPEG, digest="0" * 64)
    assert (wrong.status_code, wrong.json()["errors"][0]["field"]) == (422, "sha256")
    for data in (b"hello, not a photo", b"", b"\xff\xd8\xff" + b"\0" * (3 * 1024 * 1024)):
        resp = _put(client, phone, data)
        assert (resp.status_code, resp.json()["errors"][0]["field"]) == (422, "body"), resp.text
    assert client.put("/v1/driver/photos/xyz", content=JPEG, headers=phone).status_code == 422
    other_phone = {**phone, "X-Device-Id": "phone-2"}
    _put(client, phone, PNG)  # binds the token to phone-1
    assert _put(client, other_phone, JPEG).status_code == 401
    assert client.get(f"/v1/proofs/{hashlib.sha256(JPEG).hexdigest()}", headers=desk.auth).status_code == 404
