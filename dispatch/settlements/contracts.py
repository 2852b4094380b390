"""Contract versions: created without overlap, and the one valid on a day found per party."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatch.errors import Conflict, NotFound, ValidationFailed
from dispatch.models import ANY_PARTY, CarrierAccount, Contract, Driver, Operator, PartyKind, Station
from dispatch.settlements.schemas import TERMS, ContractIn

_PARTY_TABLE: dict[PartyKind, Any] = {
    PartyKind.CARRIER: CarrierAccount,
    PartyKind.STATION: Station,
    PartyKind.DRIVER: Driver,
}


def parse_terms(kind: PartyKind, terms: dict[str, Any]) -> BaseModel:
    """The terms as their kind's schema; ``ValidationFailed`` naming each bad field (``terms.…``)."""
    try:
        return TERMS[kind].model_validate(terms)
    except ValidationError as exc:
        raise ValidationFailed(
            "the contract's terms are not valid",
            errors=[
                {"field": ".".join(["terms", *(str(p) for p in e["loc"])]), "reason": e["msg"]}
                for e in exc.errors()
            ],
        ) from None


def create_contract(session: Session, *, operator_id: uuid.UUID, body: ContractIn) -> Contract:
    """A new version of the party's terms. An open-ended version that starts earlier is ended the day
    before this one starts (a new version takes over); any other overlap is refused (``Conflict``).
    ``ValidationFailed`` for bad terms, dates out of order, or a party the operator does not have."""
    parse_terms(body.party_kind, body.terms)
    if body.valid_to is not None and body.valid_to < body.valid_from:
        raise ValidationFailed(
            "valid_to is before valid_from",
            errors=[
                {"field": "valid_to", "reason": f"{body.valid_to} is before valid_from {body.valid_from}"}
            ],
        )
    if body.party_id is not None:
        table = _PARTY_TABLE[body.party_kind]
        party = session.get(table, body.party_id)
        if party is None or party.operator_id != operator_id:
            raise ValidationFailed(
                f"no {body.party_kind.value} {body.party_id}",
                errors=[
                    {
                        "field": "party_id",
                        "reason": f"the operator has no {body.party_kind.value} with this id",
                    }
                ],
            )
    # Contract changes of one operator one at a time (two first versions would both be version 1).
    session.get(Operator, operator_id, with_for_update={"key_share": True})
    key = ANY_PARTY if body.party_id is None else str(body.party_id)
    same_party = (
        Contract.operator_id == operator_id,
        Contract.party_kind == body.party_kind,
        Contract.party_key == key,
    )
    versions = list(
        session.execute(select(Contract).where(*same_party).order_by(Contract.valid_from).with_for_update())
        .scalars()
        .all()
    )
    new_end = body.valid_to or date.max
    to_end: Contract | None = None
    for old in versions:
        old_end = old.valid_to or date.max
        if old.valid_from > new_end or old_end < body.valid_from:
            continue
        if old.valid_to is None and old.valid_from < body.valid_from and body.valid_to is None:
            to_end = old  # an open-ended version takes over from an open-ended one
            continue
        raise Conflict(
            f"validity overlaps version {old.version} ({old.valid_from} – {old.valid_to or 'open'})",
            errors=[
                {
                    "field": "valid_from",
                    "reason": f"{body.valid_from} – {body.valid_to or 'open'} overlaps version {old.version} "
                    f"({old.valid_from} – {old.valid_to or 'open'}); end or replace that version first",
                }
            ],
        )
    if to_end is not None:
        to_end.valid_to = body.valid_from - timedelta(days=1)
    latest = session.execute(select(func.max(Contract.version)).where(*same_party)).scalar_one()
    contract = Contract(
        operator_id=operator_id,
        party_kind=body.party_kind,
        party_id=body.party_id,
        party_key=key,
        version=(latest or 0) + 1,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        terms=body.terms,
    )
    session.add(contract)
    session.flush()
    return contract


def end_contract(
    session: Session, *, operator_id: uuid.UUID, contract_id: uuid.UUID, valid_to: date | None
) -> Contract:
    """Set a version's last day (None: open-ended again). ``NotFound`` for another operator's;
    ``ValidationFailed`` for a day before it starts; ``Conflict`` when the new span overlaps another
    version. Closed statements priced by the old span keep their lines: settling them again adds
    adjustments."""
    session.get(Operator, operator_id, with_for_update={"key_share": True})
    contract = session.get(Contract, contract_id)
    if contract is None or contract.operator_id != operator_id:
        raise NotFound(f"contract {contract_id} not found")
    if valid_to is not None and valid_to < contract.valid_from:
        raise ValidationFailed(
            "valid_to is before valid_from",
            errors=[{"field": "valid_to", "reason": f"before the version's first day {contract.valid_from}"}],
        )
    end = valid_to or date.max
    for other in session.execute(
        select(Contract).where(
            Contract.operator_id == operator_id,
            Contract.party_kind == contract.party_kind,
            Contract.party_key == contract.party_key,
            Contract.id != contract.id,
        )
    ).scalars():
        if other.valid_from <= end and (other.valid_to or date.max) >= contract.valid_from:
            raise Conflict(
                f"would overlap version {other.version}",
                errors=[
                    {
                        "field": "valid_to",
                        "reason": f"overlaps version {other.version} from {other.valid_from}",
                    }
                ],
            )
    contract.valid_to = valid_to
    session.flush()
    return contract


def contract_view(contract: Contract) -> dict[str, Any]:
    return {
        "contract_id": str(contract.id),
        "party_kind": contract.party_kind.value,
        "party_id": None if contract.party_id is None else str(contract.party_id),
        "version": contract.version,
        "valid_from": contract.valid_from.isoformat(),
        "valid_to": None if contract.valid_to is None else contract.valid_to.isoformat(),
        "terms": contract.terms,
    }


def list_contracts(
    session: Session,
    *,
    operator_id: uuid.UUID,
    party_kind: PartyKind | None = None,
    carrier_id: uuid.UUID | None = None,
) -> list[Contract]:
    """The operator's contract versions; with ``carrier_id``, only that carrier's own and the carriers'
    default (what prices its parcels)."""
    stmt = select(Contract).where(Contract.operator_id == operator_id)
    if party_kind is not None:
        stmt = stmt.where(Contract.party_kind == party_kind)
    if carrier_id is not None:
        stmt = stmt.where(
            Contract.party_kind == PartyKind.CARRIER, Contract.party_key.in_([str(carrier_id), ANY_PARTY])
        )
    return list(
        session.execute(stmt.order_by(Contract.party_kind, Contract.party_key, Contract.valid_from)).scalars()
    )


@dataclass(frozen=True, slots=True)
class Version:
    contract_id: uuid.UUID
    version: int
    valid_from: date
    valid_to: date
    terms: BaseModel


class ContractBook:
    """Every version of one kind's contracts, looked up by party and day: the party's own version valid on
    the day, else the kind's default (``party_id`` NULL) valid on it, else None."""

    def __init__(self, kind: PartyKind, contracts: Iterable[Contract]) -> None:
        self.kind = kind
        self._by_key: dict[str, list[Version]] = defaultdict(list)
        for c in contracts:
            if c.party_kind is not kind:
                continue
            self._by_key[c.party_key].append(
                Version(c.id, c.version, c.valid_from, c.valid_to or date.max, parse_terms(kind, c.terms))
            )
        self._cache: dict[tuple[uuid.UUID | str, date], Version | None] = {}

    def on(self, party_id: uuid.UUID | str, day: date) -> Version | None:
        key = (party_id, day)
        try:
            return self._cache[key]
        except KeyError:
            found = self._cache[key] = self._find(str(party_id), day) or self._find(ANY_PARTY, day)
            return found

    def _find(self, key: str, day: date) -> Version | None:
        for v in self._by_key.get(key, ()):
            if v.valid_from <= day <= v.valid_to:
                return v
        return None

    def parties_with_own(self, first: date, last: date) -> set[str]:
        """Parties with a version of their own valid on some day of [first, last]."""
        return {
            key
            for key, versions in self._by_key.items()
            if key != ANY_PARTY and any(v.valid_from <= last and v.valid_to >= first for v in versions)
        }

    def has_default(self, first: date, last: date) -> bool:
        return any(v.valid_from <= last and v.valid_to >= first for v in self._by_key.get(ANY_PARTY, ()))
