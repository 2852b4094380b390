"""Contracts, settlement runs and statements: the desk settles and reads all; a carrier reads its own."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import JSONResponse, Response

from dispatch.deps import CurrentCarrier, CurrentDispatcher, SessionDep, SettingsDep, get_database
from dispatch.jobs.settlements import schedule_settlement
from dispatch.models import PartyKind, Statement
from dispatch.settlements import contracts, export, runs, service
from dispatch.settlements.schemas import AdjustmentIn, ContractEndIn, ContractIn, IsoDate, SettleIn

PROBLEM: dict[str, Any] = {
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
}
DESK_401: dict[int | str, dict[str, Any]] = {401: {"description": "Missing or unknown desk key", **PROBLEM}}
CARRIER_401: dict[int | str, dict[str, Any]] = {401: {"description": "Missing or unknown API key", **PROBLEM}}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such statement (or another party's)", **PROBLEM}
}

contracts_router = APIRouter(prefix="/v1/contracts", tags=["settlement"])
settlements_router = APIRouter(prefix="/v1/settlements", tags=["settlement"])
statements_router = APIRouter(prefix="/v1/statements", tags=["settlement"])
carrier_router = APIRouter(prefix="/v1/carrier/statements", tags=["settlement"])
carrier_contracts_router = APIRouter(prefix="/v1/carrier/contracts", tags=["settlement"])

Format = Literal["csv", "xlsx"]
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
EXPORT_ITEMS_MAX = 200_000


@contracts_router.post(
    "",
    status_code=201,
    summary="Add a version of a party's contract",
    responses={
        **DESK_401,
        409: {"description": "Validity overlaps another version", **PROBLEM},
        422: {"description": "Bad terms (each field named), dates out of order, unknown party", **PROBLEM},
    },
)
def create_contract(body: ContractIn, desk: CurrentDispatcher, session: SessionDep) -> dict[str, Any]:
    """A new version; an open-ended earlier version ends the day before this one starts."""
    return contracts.contract_view(
        contracts.create_contract(session, operator_id=desk.operator_id, body=body)
    )


@contracts_router.patch(
    "/{contract_id}",
    summary="End a contract version on a day (or reopen it)",
    responses={
        **DESK_401,
        404: {"description": "No such contract", **PROBLEM},
        409: {"description": "The new span overlaps another version", **PROBLEM},
        422: {"description": "A last day before the first", **PROBLEM},
    },
)
def end_contract(
    contract_id: uuid.UUID, body: ContractEndIn, desk: CurrentDispatcher, session: SessionDep
) -> dict[str, Any]:
    ended = contracts.end_contract(
        session, operator_id=desk.operator_id, contract_id=contract_id, valid_to=body.valid_to
    )
    return contracts.contract_view(ended)


@contracts_router.get("", summary="Every contract version of the operator", responses=DESK_401)
def list_contracts(
    desk: CurrentDispatcher, session: SessionDep, party_kind: PartyKind | None = None
) -> dict[str, Any]:
    found = contracts.list_contracts(session, operator_id=desk.operator_id, party_kind=party_kind)
    return {"items": [contracts.contract_view(c) for c in found]}


@settlements_router.post(
    "",
    status_code=202,
    summary="Settle a period (in the background)",
    responses={**DESK_401, 422: {"description": "A range backwards or over a year long", **PROBLEM}},
)
def create_settlement(
    body: SettleIn,
    request: Request,
    desk: CurrentDispatcher,
    session: SessionDep,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> JSONResponse:
    """202 with the run's id; ``GET /v1/settlements/{id}`` shows its progress, then its statements."""
    run = runs.create_run(
        session,
        operator_id=desk.operator_id,
        first=body.period_from,
        last=body.period_to,
        by=body.by,
        close=body.close,
    )
    background.add_task(schedule_settlement, settings, get_database(request), run.id)
    view = runs.run_view(run)
    return JSONResponse(view, status_code=202, headers={"Location": view["url"]}, background=background)


@settlements_router.get(
    "/{settlement_id}",
    summary="A settlement run: progress, then its statements",
    responses={**DESK_401, 404: {"description": "No such run", **PROBLEM}},
)
def get_settlement(settlement_id: uuid.UUID, desk: CurrentDispatcher, session: SessionDep) -> dict[str, Any]:
    run = runs.get_run(session, operator_id=desk.operator_id, run_id=settlement_id)
    view = runs.run_view(run)
    view["statements"] = [
        service.statement_view(s)
        for s in service.list_statements(
            session, operator_id=desk.operator_id, first=run.period_from, last=run.period_to, limit=10_000
        )
        if run.period_from <= s.period_from and s.period_to <= run.period_to
    ]
    return view


@statements_router.get("", summary="Statements, newest period first", responses=DESK_401)
def list_statements(
    desk: CurrentDispatcher,
    session: SessionDep,
    party_kind: PartyKind | None = None,
    party_id: uuid.UUID | None = None,
    period_from: Annotated[IsoDate | None, Query(alias="from")] = None,
    period_to: Annotated[IsoDate | None, Query(alias="to")] = None,
) -> dict[str, Any]:
    found = service.list_statements(
        session,
        operator_id=desk.operator_id,
        party_kind=party_kind,
        party_id=party_id,
        first=period_from,
        last=period_to,
    )
    return {"items": [service.statement_view(s) for s in found]}


@statements_router.get(
    "/{statement_id}", summary="A statement with its lines", responses={**DESK_401, **NOT_FOUND}
)
def get_statement(statement_id: uuid.UUID, desk: CurrentDispatcher, session: SessionDep) -> dict[str, Any]:
    statement = service.get_statement(session, operator_id=desk.operator_id, statement_id=statement_id)
    return service.statement_view(statement, service.statement_lines(session, statement.id))


@statements_router.get(
    "/{statement_id}/lines/{line_id}/items",
    summary="The parcels and routes behind a line",
    responses={**DESK_401, **NOT_FOUND},
)
def get_line_items(
    statement_id: uuid.UUID,
    line_id: int,
    desk: CurrentDispatcher,
    session: SessionDep,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> dict[str, Any]:
    statement = service.get_statement(session, operator_id=desk.operator_id, statement_id=statement_id)
    return _items_page(session, statement, line_id, after, limit)


@statements_router.get(
    "/{statement_id}/export",
    summary="A statement as CSV or XLSX",
    responses={**DESK_401, **NOT_FOUND, 200: {"content": {MEDIA["csv"]: {}, MEDIA["xlsx"]: {}}}},
)
def export_statement(
    statement_id: uuid.UUID,
    desk: CurrentDispatcher,
    session: SessionDep,
    format: Format = "csv",  # noqa: A002 - the query parameter's name
    detail: Literal["lines", "items"] = "lines",
) -> Response:
    statement = service.get_statement(session, operator_id=desk.operator_id, statement_id=statement_id)
    return _export(session, statement, format, detail)


@statements_router.post(
    "/{statement_id}/close",
    summary="Close a statement (immutable from then on)",
    responses={**DESK_401, **NOT_FOUND},
)
def close_statement(statement_id: uuid.UUID, desk: CurrentDispatcher, session: SessionDep) -> dict[str, Any]:
    statement = service.get_statement(session, operator_id=desk.operator_id, statement_id=statement_id)
    return service.statement_view(service.close_statement(session, statement=statement))


@statements_router.post(
    "/{statement_id}/adjustments",
    status_code=201,
    summary="Correct a statement with a new line",
    responses={
        **DESK_401,
        **NOT_FOUND,
        422: {"description": "Zero amount, unknown parcel or route", **PROBLEM},
    },
)
def add_adjustment(
    statement_id: uuid.UUID, body: AdjustmentIn, desk: CurrentDispatcher, session: SessionDep
) -> dict[str, Any]:
    statement = service.get_statement(session, operator_id=desk.operator_id, statement_id=statement_id)
    service.add_adjustment(
        session,
        statement=statement,
        amount_fen=body.amount_fen,
        reason=body.reason,
        parcel_id=body.parcel_id,
        manifest_id=body.manifest_id,
    )
    return service.statement_view(statement, service.statement_lines(session, statement.id))


# --- a carrier's own ------------------------------------------------------------------------------------

CARRIER_BASE = "/v1/carrier/statements"


@carrier_router.get("", summary="This carrier's statements, newest period first", responses=CARRIER_401)
def carrier_statements(
    carrier: CurrentCarrier,
    session: SessionDep,
    period_from: Annotated[IsoDate | None, Query(alias="from")] = None,
    period_to: Annotated[IsoDate | None, Query(alias="to")] = None,
) -> dict[str, Any]:
    found = service.list_statements(
        session,
        operator_id=carrier.operator_id,
        carrier_id=carrier.carrier_id,
        first=period_from,
        last=period_to,
    )
    return {"items": [service.statement_view(s, base_url=CARRIER_BASE) for s in found]}


@carrier_router.get(
    "/{statement_id}", summary="One of this carrier's statements", responses={**CARRIER_401, **NOT_FOUND}
)
def carrier_statement(
    statement_id: uuid.UUID, carrier: CurrentCarrier, session: SessionDep
) -> dict[str, Any]:
    statement = service.get_statement(
        session, operator_id=carrier.operator_id, statement_id=statement_id, carrier_id=carrier.carrier_id
    )
    return service.statement_view(
        statement, service.statement_lines(session, statement.id), base_url=CARRIER_BASE
    )


@carrier_router.get(
    "/{statement_id}/lines/{line_id}/items",
    summary="The parcels and routes behind a line of this carrier's statement",
    responses={**CARRIER_401, **NOT_FOUND},
)
def carrier_line_items(
    statement_id: uuid.UUID,
    line_id: int,
    carrier: CurrentCarrier,
    session: SessionDep,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> dict[str, Any]:
    statement = service.get_statement(
        session, operator_id=carrier.operator_id, statement_id=statement_id, carrier_id=carrier.carrier_id
    )
    return _items_page(session, statement, line_id, after, limit)


@carrier_router.get(
    "/{statement_id}/export",
    summary="One of this carrier's statements as CSV or XLSX",
    responses={**CARRIER_401, **NOT_FOUND, 200: {"content": {MEDIA["csv"]: {}, MEDIA["xlsx"]: {}}}},
)
def carrier_export(
    statement_id: uuid.UUID,
    carrier: CurrentCarrier,
    session: SessionDep,
    format: Format = "csv",  # noqa: A002 - the query parameter's name
    detail: Literal["lines", "items"] = "lines",
) -> Response:
    statement = service.get_statement(
        session, operator_id=carrier.operator_id, statement_id=statement_id, carrier_id=carrier.carrier_id
    )
    return _export(session, statement, format, detail)


@carrier_contracts_router.get(
    "", summary="The contract versions that price this carrier's parcels", responses=CARRIER_401
)
def carrier_contracts(carrier: CurrentCarrier, session: SessionDep) -> dict[str, Any]:
    """Its own versions and the operator's default for carriers; never another carrier's."""
    found = contracts.list_contracts(session, operator_id=carrier.operator_id, carrier_id=carrier.carrier_id)
    return {"items": [contracts.contract_view(c) for c in found]}


def _items_page(session: Any, statement: Statement, line_id: int, after: int, limit: int) -> dict[str, Any]:
    items = service.line_items(session, statement=statement, line_id=line_id, after=after, limit=limit)
    return {"items": items, "next_after": items[-1]["item_id"] if len(items) == limit else None}


def _export(session: Any, statement: Statement, fmt: str, detail: str) -> Response:
    view = service.statement_view(statement, service.statement_lines(session, statement.id))
    items: dict[int, Any] | None = None
    if detail == "items":
        items = {
            line["line_id"]: service.line_items(
                session, statement=statement, line_id=line["line_id"], limit=EXPORT_ITEMS_MAX
            )
            for line in view["lines"]
        }
    body = export.to_csv([view], items) if fmt == "csv" else export.to_xlsx([view], items)
    name = (
        f"statement-{statement.period_from}-{statement.period_to}-{statement.party_kind.value}-{statement.id}"
    )
    return Response(
        body,
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )
