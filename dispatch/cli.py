"""The ``gongpei`` command line. Commands that report print one JSON object on stdout."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from carriers.unified import Brand
from dispatch.config import Settings, get_settings
from dispatch.db import Database, make_engine
from dispatch.models.operator import UserRole

if TYPE_CHECKING:
    from dispatch.matching.gazetteer import Gazetteer

app = typer.Typer(help="gongpei: dispatch backend for county shared delivery.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
operator_app = typer.Typer(help="Operators (county shared-delivery companies).", no_args_is_help=True)
carrier_app = typer.Typer(help="Carrier accounts and their API keys.", no_args_is_help=True)
idem_app = typer.Typer(help="Idempotency-key housekeeping.", no_args_is_help=True)
parcels_app = typer.Typer(help="Parcels: manifest imports.", no_args_is_help=True)
desk_app = typer.Typer(help="Dispatch-desk users and their API keys.", no_args_is_help=True)
gazetteer_app = typer.Typer(help="The NBS division tables in the database.", no_args_is_help=True)
seed_app = typer.Typer(help="Starting data for an operator.", no_args_is_help=True)
stations_app = typer.Typer(help="The operator's stations (the desk's view).", no_args_is_help=True)
review_app = typer.Typer(help="The address review queue of the dispatch desk.", no_args_is_help=True)
vehicle_app = typer.Typer(help="The operator's vehicles.", no_args_is_help=True)
driver_app = typer.Typer(help="Drivers and their per-shift tokens.", no_args_is_help=True)
dispatcher_app = typer.Typer(help="Dispatchers (desk users) with a desk token.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(operator_app, name="operator")
app.add_typer(carrier_app, name="carrier")
app.add_typer(idem_app, name="idempotency")
app.add_typer(parcels_app, name="parcels")
app.add_typer(desk_app, name="desk-user")
app.add_typer(gazetteer_app, name="gazetteer")
app.add_typer(seed_app, name="seed")
app.add_typer(review_app, name="review")
app.add_typer(stations_app, name="stations")
app.add_typer(vehicle_app, name="vehicle")
app.add_typer(driver_app, name="driver")
app.add_typer(dispatcher_app, name="dispatcher")


@app.callback()
def _setup() -> None:
    """Log lines go to stderr (JSON), so stdout carries only each command's JSON answer."""
    from dispatch.observability import configure_logging

    settings = get_settings()
    configure_logging(level=settings.log_level, json_lines=settings.log_json)


def _emit(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")


def _fail(message: str, *, field: str | None = None) -> None:
    _emit({"error": message, **({"field": field} if field else {})})
    raise typer.Exit(code=2)


def _database(settings: Settings) -> Database:
    return Database(make_engine(settings.database_url, pool_size=2))


def _uuid(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        _fail(f"{field} must be a UUID", field=field)
        raise  # unreachable; _fail exits


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    from dispatch import migrate

    settings = get_settings()
    database = _database(settings)
    migrate.upgrade(database.engine, revision)
    _emit(
        {
            "database": database.engine.url.render_as_string(hide_password=True),
            "revision": sorted(migrate.current_heads(database.engine)),
        }
    )


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION ('base' for an empty schema)."""
    from dispatch import migrate

    database = _database(get_settings())
    migrate.downgrade(database.engine, revision)
    _emit({"revision": sorted(migrate.current_heads(database.engine))})


@db_app.command("current")
def db_current() -> None:
    """Show the database's revision and whether it is at head."""
    from dispatch import migrate

    database = _database(get_settings())
    current = migrate.current_heads(database.engine)
    _emit({"revision": sorted(current), "at_head": current == migrate.script_heads()})


@operator_app.command("create")
def operator_create(
    name: Annotated[str, typer.Option(help="The company's name.")],
    county: Annotated[str, typer.Option(help="6-digit NBS county code, e.g. 210624.")],
    timezone: Annotated[str | None, typer.Option(help="IANA zone; default from settings.")] = None,
    gazetteer: Annotated[Path | None, typer.Option(help="NBS tables to check the county against.")] = None,
) -> None:
    """Create an operator; prints {"operator_id": …}."""
    from dispatch.accounts import service
    from dispatch.demo import county_name
    from dispatch.errors import DispatchError

    settings = get_settings()
    gazetteer_dir = gazetteer or settings.gazetteer_dir
    if (gazetteer_dir / "counties.csv").is_file() and county_name(gazetteer_dir, county) is None:
        _fail(f"county {county!r} is not in the gazetteer at {gazetteer_dir}", field="county")
    database = _database(settings)
    try:
        with database.session_scope() as session:
            operator = service.create_operator(
                session, name=name, county_code=county, timezone=timezone or settings.timezone
            )
            operator_id = str(operator.id)
    except DispatchError as exc:
        _fail(exc.detail, field=(exc.errors or [{}])[0].get("field"))
    _emit(
        {"operator_id": operator_id, "county_code": county, "county_name": county_name(gazetteer_dir, county)}
    )


@carrier_app.command("create")
def carrier_create(
    operator: Annotated[str, typer.Option(help="Operator id.")],
    brand: Annotated[Brand, typer.Option(help="Carrier brand code.")],
    callback_url: Annotated[str | None, typer.Option(help="Where tracking events are pushed.")] = None,
    name: Annotated[str | None, typer.Option(help="Display name, e.g. the franchisee.")] = None,
) -> None:
    """Create a carrier account; prints its id and API key (shown this once)."""
    from dispatch.accounts import service
    from dispatch.errors import DispatchError

    operator_id = _uuid(operator, "operator")
    database = _database(get_settings())
    try:
        with database.session_scope() as session:
            carrier, key = service.create_carrier(
                session, operator_id=operator_id, brand=brand, name=name, callback_url=callback_url
            )
            out = {
                "carrier_id": str(carrier.id),
                "brand": brand.value,
                "api_key": key.api_key,
                "api_key_prefix": key.prefix,
                "signing_secret": carrier.signing_secret,
            }
    except DispatchError as exc:
        _fail(exc.detail, field=(exc.errors or [{}])[0].get("field"))
    _emit(out)


@carrier_app.command("issue-key")
def carrier_issue_key(carrier: Annotated[str, typer.Option(help="Carrier account id.")]) -> None:
    """Issue another API key for a carrier (for rotation); prints it once."""
    from dispatch.accounts import service
    from dispatch.models import CarrierAccount

    carrier_id = _uuid(carrier, "carrier")
    database = _database(get_settings())
    with database.session_scope() as session:
        if session.get(CarrierAccount, carrier_id) is None:
            _fail(f"carrier {carrier_id} not found", field="carrier")
        key = service.issue_key(session, carrier_id=carrier_id)
        out = {"carrier_id": str(carrier_id), "key_id": str(key.key_id), "api_key": key.api_key}
    _emit(out)


@carrier_app.command("revoke-key")
def carrier_revoke_key(key_id: Annotated[str, typer.Option("--key-id", help="API key id.")]) -> None:
    """Revoke an API key; requests with it get 401 from the next request on."""
    from dispatch.accounts import service
    from dispatch.errors import NotFound

    kid = _uuid(key_id, "key_id")
    database = _database(get_settings())
    try:
        with database.session_scope() as session:
            service.revoke_key(session, key_id=kid)
    except NotFound as exc:
        _fail(exc.detail, field="key_id")
    _emit({"key_id": str(kid), "revoked": True})


@idem_app.command("prune")
def idempotency_prune() -> None:
    """Forget idempotency keys older than the configured retention."""
    from datetime import timedelta

    from dispatch import idempotency

    settings = get_settings()
    database = _database(settings)
    with database.session_scope() as session:
        removed = idempotency.prune(session, ttl=timedelta(hours=settings.idempotency_ttl_hours))
    _emit({"removed": removed})


@parcels_app.command("import")
def parcels_import(
    file: Annotated[
        Path, typer.Argument(help="CSV (UTF-8/GBK) or XLSX manifest.", exists=True, dir_okay=False)
    ],
    carrier: Annotated[str, typer.Option(help="Carrier account id the parcels belong to.")],
) -> None:
    """Import a manifest file for a carrier, with a progress bar; prints the summary as JSON."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from dispatch.imports import service as imports
    from dispatch.models import CarrierAccount

    carrier_id = _uuid(carrier, "carrier")
    database = _database(get_settings())
    content = file.read_bytes()
    with database.session_scope() as session:
        if session.get(CarrierAccount, carrier_id) is None:
            _fail(f"carrier {carrier_id} not found", field="carrier")
        record = imports.create(
            session,
            carrier=imports.carrier_context(session, carrier_id),
            filename=file.name,
            content_type="",
            content=content,
        )
        import_id = record.id
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    ) as bar:
        task = bar.add_task(f"importing {file.name}", total=None)
        imports.process(
            database, import_id, on_progress=lambda done, total: bar.update(task, completed=done, total=total)
        )
    with database.session_scope() as session:
        report = imports.report(
            session, carrier=imports.carrier_context(session, carrier_id), import_id=import_id, limit=1000
        )
    _emit(report.model_dump(mode="json"))


@app.command()
def scenario(
    county: Annotated[str, typer.Option(help="6-digit NBS county code.")] = "211104",
    parcels: Annotated[int, typer.Option(min=1, max=1_000_000, help="Parcels in the wave.")] = 10_000,
    seed: Annotated[int, typer.Option(min=0, help="Seed of placement, parcels and solver.")] = 0,
    gazetteer: Annotated[Path | None, typer.Option(help="NBS tables; default from settings.")] = None,
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=1.0, help="Seconds from start to answer (build and solve).")
    ] = 30.0,
) -> None:
    """Build a synthetic wave for a county (a station per village), solve and check it; prints JSON."""
    from dispatch.planning.scenario import ScenarioError, ScenarioSpec, process_age_s, run_scenario

    settings = get_settings()
    spec = ScenarioSpec(
        county_code=county, parcels=parcels, seed=seed, gazetteer_dir=gazetteer or settings.gazetteer_dir
    )
    try:
        # The limit counts from the process's start: interpreter start-up and imports included.
        report = run_scenario(
            spec, settings=settings, time_limit_s=time_limit, already_elapsed_s=process_age_s()
        )
    except ScenarioError as exc:
        _fail(str(exc), field=exc.field)
    _emit(report)


@app.command()
def match(
    gazetteer: Annotated[Path | None, typer.Option(help="NBS tables; default from settings.")] = None,
    county: Annotated[str | None, typer.Option(help="The operator's county code (evidence).")] = None,
) -> None:
    """Match addresses read one per line on stdin; writes one JSON object per line to stdout."""
    from dispatch.matching.service import match_lines, matcher_for

    gazetteer_dir = gazetteer or get_settings().gazetteer_dir
    if not (gazetteer_dir / "villages.csv").is_file():
        _fail(f"no gazetteer at {gazetteer_dir}", field="gazetteer")
    matcher = matcher_for(str(gazetteer_dir))
    for line in match_lines(matcher, sys.stdin, county=county):
        sys.stdout.write(line + "\n")


@app.command("solve")
def solve_file(
    file: Annotated[Path, typer.Argument(help="A Solomon or VRPLIB (CVRP, VRPTW) instance file.")],
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Seconds for the whole run, more than 0.")
    ],
    seed: Annotated[int, typer.Option(help="Seed for the engines' random choices.")] = 0,
) -> None:
    """Plan a benchmark instance; prints {"routes": [[customer ids…], …], "cost", "vehicles", "feasible"}.

    Costs use the file's convention (VRPTW: distances truncated to 0.1; CVRP: rounded to integers).
    An unreadable file or a bad limit exits with status 2 and a JSON error on stderr.
    """
    import math
    import os
    from typing import NoReturn

    from dispatch.planning import instances
    from routing.problem import RoutingError

    def process_age_s() -> float:
        """Seconds since this process started (start-up and imports included); 0 when unknown."""
        try:
            with (
                open("/proc/self/stat", encoding="ascii") as stat,
                open("/proc/uptime", encoding="ascii") as up,
            ):
                started_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
                return max(0.0, float(up.read().split()[0]) - started_ticks / os.sysconf("SC_CLK_TCK"))
        except (OSError, ValueError, IndexError):
            return 0.0

    def refuse(message: str, field: str) -> NoReturn:
        sys.stderr.write(json.dumps({"error": message, "field": field}, ensure_ascii=False) + "\n")
        raise typer.Exit(code=2)

    if not (math.isfinite(time_limit) and time_limit > 0):
        refuse(f"--time-limit must be a positive number of seconds, not {time_limit}", "time_limit")
    if seed < 0:
        refuse(f"--seed must not be negative, not {seed}", "seed")
    try:
        instance = instances.read_instance(file)
    except instances.InstanceError as exc:
        refuse(str(exc), "file")
    # The limit is for the whole command: start-up, imports and reading count against it, and the
    # search keeps at least half of it.
    budget = max(time_limit - process_age_s() - 0.5, time_limit / 2)
    try:
        answer = instances.solve_instance(instance, time_limit_s=budget, seed=seed)
    except RoutingError as exc:
        refuse(str(exc), exc.field)
    _emit({"instance": instance.name, **answer.to_json()})


@desk_app.command("create")
def desk_user_create(
    operator: Annotated[str, typer.Option(help="Operator id.")],
    username: Annotated[str, typer.Option(help="Login name, unique in the operator.")],
    role: Annotated[UserRole, typer.Option(help="admin or dispatcher.")] = UserRole.DISPATCHER,
    display_name: Annotated[str | None, typer.Option(help="Name shown on the desk.")] = None,
) -> None:
    """Create a desk user; prints its id and desk API key (shown this once)."""
    from dispatch.accounts import service
    from dispatch.errors import DispatchError

    operator_id = _uuid(operator, "operator")
    database = _database(get_settings())
    try:
        with database.session_scope() as session:
            user, key = service.create_desk_user(
                session,
                operator_id=operator_id,
                username=username,
                role=role,
                display_name=display_name,
            )
            out = {
                "user_id": str(user.id),
                "operator_id": str(operator_id),
                "username": user.username,
                "role": user.role.value,
                "api_key": key.api_key,
                "api_key_prefix": key.prefix,
            }
    except DispatchError as exc:
        _fail(exc.detail, field=(exc.errors or [{}])[0].get("field", "operator"))
    _emit(out)


@desk_app.command("issue-key")
def desk_user_issue_key(user: Annotated[str, typer.Option(help="Desk user id.")]) -> None:
    """Issue another desk API key for a user (for rotation); prints it once."""
    from dispatch.accounts import service
    from dispatch.errors import NotFound

    user_id = _uuid(user, "user")
    database = _database(get_settings())
    try:
        with database.session_scope() as session:
            key = service.issue_desk_key(session, user_id=user_id)
            out = {"user_id": str(user_id), "key_id": str(key.key_id), "api_key": key.api_key}
    except NotFound as exc:
        _fail(exc.detail, field="user")
    _emit(out)


@desk_app.command("revoke-key")
def desk_user_revoke_key(key_id: Annotated[str, typer.Option("--key-id", help="Desk API key id.")]) -> None:
    """Revoke a desk API key; refused from the next request on."""
    from dispatch.accounts import service
    from dispatch.errors import NotFound

    kid = _uuid(key_id, "key_id")
    database = _database(get_settings())
    try:
        with database.session_scope() as session:
            service.revoke_desk_key(session, key_id=kid)
    except NotFound as exc:
        _fail(exc.detail, field="key_id")
    _emit({"key_id": str(kid), "revoked": True})


def _load_gazetteer(directory: Path) -> Gazetteer:
    from dispatch.matching.gazetteer import load_dir

    try:
        return load_dir(directory)
    except FileNotFoundError as exc:
        _fail(str(exc), field="gazetteer")
        raise  # unreachable; _fail exits


def _import_with_progress(
    database: Database, gazetteer: Gazetteer, source_year: int | None
) -> dict[str, int]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from dispatch.divisions import service as divisions

    with (
        Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        ) as bar,
        database.session_scope() as session,
    ):
        task = bar.add_task(f"importing {gazetteer.source}", total=len(gazetteer))
        counts = divisions.import_gazetteer(
            session,
            gazetteer,
            source_year=source_year,
            on_progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    return counts.as_dict()


@gazetteer_app.command("import")
def gazetteer_import(
    directory: Annotated[
        Path | None,
        typer.Argument(help="NBS tables (counties/townships/villages.csv); default: settings.gazetteer_dir."),
    ] = None,
    source_year: Annotated[int | None, typer.Option(help="The data's vintage, e.g. 2023.")] = None,
) -> None:
    """Upsert the division tables by code; prints {inserted, updated, retired, unchanged}.

    Re-importing the same tables changes nothing; codes a newer import lacks stay, flagged retired.
    """
    settings = get_settings()
    gazetteer = _load_gazetteer(directory or settings.gazetteer_dir)
    _emit(_import_with_progress(_database(settings), gazetteer, source_year))


@seed_app.command("stations")
def seed_stations(
    operator: Annotated[str, typer.Option(help="Operator id.")],
    gazetteer: Annotated[
        Path | None,
        typer.Option(help="NBS tables to import first; without it they are imported only if missing."),
    ] = None,
) -> None:
    """One village station per village committee of the operator's county; prints {created, existing}.

    Idempotent: a village some station of the operator already covers gets no new station.
    """
    from dispatch.accounts import service as accounts
    from dispatch.divisions import service as divisions
    from dispatch.errors import DispatchError
    from dispatch.stations import service as stations

    operator_id = _uuid(operator, "operator")
    settings = get_settings()
    database = _database(settings)
    try:
        with database.session_scope() as session:
            county = accounts.get_operator(session, operator_id=operator_id).county_code
            known = bool(divisions.county_villages(session, county_code=county, kind=None))
    except DispatchError as exc:
        _fail(exc.detail, field="operator")
    if gazetteer is not None or not known:
        _import_with_progress(database, _load_gazetteer(gazetteer or settings.gazetteer_dir), None)
    with database.session_scope() as session:
        result = stations.seed_village_stations(session, operator_id=operator_id)
    _emit(result.model_dump())


def _desk_context(session: Any, user: str) -> Any:
    from dispatch.accounts.service import DeskContext
    from dispatch.models import DispatcherUser, Operator

    user_id = _uuid(user, "user")
    row = session.get(DispatcherUser, user_id)
    if row is None or not row.active:
        _fail(f"desk user {user_id} not found", field="user")
    timezone = session.get(Operator, row.operator_id).timezone
    return DeskContext(user_id=row.id, operator_id=row.operator_id, role=row.role, timezone=timezone)


@stations_app.command("list")
def stations_list(
    user: Annotated[str, typer.Option(help="The desk user asking (their operator's stations).")],
    covers: Annotated[str | None, typer.Option(help="Only the station covering this village code.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
) -> None:
    """The operator's stations, oldest first; prints {"items": [...], "next_cursor": …}."""
    from dispatch.stations import service as stations

    database = _database(get_settings())
    with database.session_scope() as session:
        page = stations.list_stations(
            session,
            desk=_desk_context(session, user),
            kind=None,
            active=None,
            covers=covers,
            cursor=None,
            limit=limit,
        )
        out = page.model_dump(mode="json")
    _emit(out)


@stations_app.command("create")
def stations_create(
    user: Annotated[str, typer.Option(help="The desk user creating it.")],
    name: Annotated[str, typer.Option(help="Station name, e.g. 青山村服务站.")],
    kind: Annotated[
        str, typer.Option(help="village_station | shop | locker | township_post_office | bus_stop")
    ] = "village_station",
    village: Annotated[list[str] | None, typer.Option(help="Village code it covers (repeatable).")] = None,
    keeper: Annotated[str | None, typer.Option(help="Keeper's name.")] = None,
    phone: Annotated[str | None, typer.Option(help="Keeper's business phone.")] = None,
) -> None:
    """Create a station covering the given villages; prints the station."""
    from pydantic import ValidationError

    from dispatch.errors import DispatchError
    from dispatch.stations import service as stations
    from dispatch.stations.schemas import StationCreate

    database = _database(get_settings())
    try:
        data = StationCreate.model_validate(
            {
                "name": name,
                "kind": kind,
                "village_code": village[0] if village else None,
                "keeper_name": keeper,
                "keeper_phone": phone,
            }
        )
        with database.session_scope() as session:
            desk = _desk_context(session, user)
            created = stations.create_station(session, desk=desk, data=data)
            if village:
                stations.set_coverage(
                    session, desk=desk, station_id=created.station_id, village_codes=village
                )
                created = stations.get_station(session, desk=desk, station_id=created.station_id)
            out = created.model_dump(mode="json")
    except ValidationError as exc:
        first = exc.errors()[0]
        _fail(str(first["msg"]), field=".".join(str(p) for p in first["loc"]))
    except DispatchError as exc:
        _fail(exc.detail, field=(exc.errors or [{}])[0].get("field"))
    _emit(out)


@review_app.command("list")
def review_list(
    user: Annotated[str, typer.Option(help="The desk user asking (their operator's queue).")],
    status: Annotated[
        str | None, typer.Option(help="village | township | county | ambiguous | unmatched")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
) -> None:
    """Parcels waiting for a dispatcher, oldest first; prints {"items": [...], "next_cursor": …}."""
    from dispatch.review import service as review

    database = _database(get_settings())
    with database.session_scope() as session:
        page = review.queue(
            session, desk=_desk_context(session, user), status=status, cursor=None, limit=limit
        )
        out = page.model_dump(mode="json")
    _emit(out)


@review_app.command("assign")
def review_assign(
    user: Annotated[str, typer.Option(help="The desk user deciding.")],
    parcel: Annotated[str, typer.Option(help="Parcel id from the queue.")],
    station: Annotated[str, typer.Option(help="Station the parcel goes to.")],
    village: Annotated[
        str | None, typer.Option(help="Village code, when the station covers several.")
    ] = None,
) -> None:
    """Send a parcel to a station and remember its address form; prints the assignment."""
    from dispatch.errors import DispatchError
    from dispatch.review import service as review
    from dispatch.review.schemas import AssignIn

    database = _database(get_settings())
    try:
        with database.session_scope() as session:
            result = review.assign(
                session,
                desk=_desk_context(session, user),
                parcel_id=_uuid(parcel, "parcel"),
                data=AssignIn(station_id=_uuid(station, "station"), village_code=village),
            )
            out = result.model_dump(mode="json")
    except DispatchError as exc:
        _fail(exc.detail, field=(exc.errors or [{}])[0].get("field"))
    _emit(out)


def _ensure_embedded_schema(settings: Settings) -> None:
    """Migrate an embedded SQLite database; for PostgreSQL only warn when it is behind."""
    from dispatch import migrate

    database = _database(settings)
    try:
        if settings.is_sqlite:
            migrate.upgrade(database.engine)
        elif migrate.current_heads(database.engine) != migrate.script_heads():
            typer.echo("warning: database is not at the latest migration; run 'gongpei db upgrade'", err=True)
    finally:
        database.engine.dispose()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL only).")] = 1,
) -> None:
    """Run the HTTP API (migrates an embedded SQLite database on first start)."""
    import uvicorn

    settings = get_settings()
    _ensure_embedded_schema(settings)
    if settings.is_sqlite and workers > 1:
        _fail("SQLite runs with one worker; use PostgreSQL for more", field="workers")
    uvicorn.run(
        "dispatch.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )


@vehicle_app.command("create")
def vehicle_create(
    operator: Annotated[str, typer.Option(help="Operator id.")],
    plate: Annotated[str, typer.Option(help="Number plate, e.g. 辽F·A1234.")],
    capacity_kg: Annotated[float, typer.Option("--capacity-kg", help="Payload in kilograms.")],
    refrigerated: Annotated[bool, typer.Option(help="A refrigerated van (cold-chain stops).")] = False,
    volume_m3: Annotated[float | None, typer.Option("--volume-m3", help="Cargo space in m³.")] = None,
) -> None:
    """Add a vehicle to the operator's fleet; prints {"vehicle_id"}."""
    from dispatch.errors import DispatchError
    from dispatch.fleet import service

    operator_id = _uuid(operator, "operator")
    database = _database(get_settings())
    try:
        with database.session_scope() as session:
            vehicle = service.create_vehicle(
                session,
                operator_id=operator_id,
                plate=plate,
                capacity_kg=capacity_kg,
                capacity_volume_cm3=None if volume_m3 is None else round(volume_m3 * 1_000_000),
                refrigerated=refrigerated,
            )
            out = {
                "vehicle_id": str(vehicle.id),
                "plate": vehicle.plate_no,
                "capacity_weight_g": vehicle.capacity_weight_g,
                "refrigerated": vehicle.refrigerated,
            }
    except DispatchError as exc:
        _fail(exc.detail, field=(exc.errors or [{}])[0].get("field"))
    finally:
        database.engine.dispose()
    _emit(out)


@driver_app.command("create")
def driver_create(
    operator: Annotated[str, typer.Option(help="Operator id.")],
    name: Annotated[str, typer.Option(help="The driver's name.")],
    vehicle: Annotated[str | None, typer.Option(help="Vehicle id the driver drives.")] = None,
) -> None:
    """Add a driver; prints {"driver_id", "token"} (a shift token, shown this once)."""
    from dispatch.errors import DispatchError
    from dispatch.fleet import service

    operator_id = _uuid(operator, "operator")
    vehicle_id = _uuid(vehicle, "vehicle") if vehicle else None
    settings = get_settings()
    database = _database(settings)
    try:
        with database.session_scope() as session:
            driver, token = service.create_driver(
                session,
                operator_id=operator_id,
                name=name,
                vehicle_id=vehicle_id,
                token_hours=settings.driver_token_hours,
            )
            out = {
                "driver_id": str(driver.id),
                "token": token.api_key,
                "token_id": str(token.key_id),
                "token_hours": settings.driver_token_hours,
            }
    except DispatchError as exc:
        _fail(exc.detail, field=(exc.errors or [{}])[0].get("field"))
    finally:
        database.engine.dispose()
    _emit(out)


@dispatcher_app.command("create")
def dispatcher_create(
    operator: Annotated[str, typer.Option(help="Operator id.")],
    name: Annotated[str, typer.Option(help="The dispatcher's name (also the desk user name).")],
) -> None:
    """Add a dispatcher (a desk user); prints {"dispatcher_id", "token"} (a desk token, shown this once)."""
    from dispatch.accounts import service
    from dispatch.errors import DispatchError

    operator_id = _uuid(operator, "operator")
    database = _database(get_settings())
    try:
        with database.session_scope() as session:
            user, key = service.create_desk_user(
                session, operator_id=operator_id, username=name, display_name=name
            )
            out = {"dispatcher_id": str(user.id), "token": key.api_key, "token_prefix": key.prefix}
    except DispatchError as exc:
        _fail(exc.detail, field=(exc.errors or [{}])[0].get("field"))
    finally:
        database.engine.dispose()
    _emit(out)


callbacks_app = typer.Typer(help="Carrier callbacks.", no_args_is_help=True)
app.add_typer(callbacks_app, name="callbacks")


@callbacks_app.command("deliver")
def callbacks_deliver() -> None:
    """Send the carrier callbacks that are due now (a worker does this by itself when Redis is set)."""
    from dispatch.callbacks.service import deliver_all_due

    database = _database(get_settings())
    try:
        outcome = deliver_all_due(database)
    finally:
        database.engine.dispose()
    _emit({"delivered": outcome.delivered, "retrying": outcome.retried, "dead": outcome.dead})


@app.command()
def reconcile() -> None:
    """Hand work stuck in a non-terminal state (plans, imports, matching, callbacks) to the queue again;
    without Redis, do it here. A worker does this by itself every GONGPEI_RECONCILE_EVERY_S."""
    from dispatch.jobs.reconcile import reconcile as run

    settings = get_settings()
    database = _database(settings)
    try:
        found = run(database, settings)
    finally:
        database.engine.dispose()
    _emit(found)


@app.command()
def worker(
    queues: Annotated[
        list[str] | None, typer.Argument(help="Queues to listen on (default: every gongpei queue).")
    ] = None,
) -> None:
    """Run an RQ worker with the scheduler (needs GONGPEI_REDIS_URL)."""
    from dispatch.jobs import ALL_QUEUES

    settings = get_settings()
    if not settings.redis_url:
        _fail(
            "GONGPEI_REDIS_URL is not set: without Redis, jobs run inside the API process", field="redis_url"
        )
    from redis import Redis
    from rq import Worker

    from dispatch.matching.service import database_matcher

    # Built once here, so every forked work-horse inherits the matcher instead of building its own.
    database = _database(settings)
    with database.session_scope() as session:
        database_matcher(session)
    database.engine.dispose()
    from dispatch.jobs.reconcile import start_reconciler

    start_reconciler(settings)
    connection = Redis.from_url(settings.redis_url or "")
    Worker(queues or list(ALL_QUEUES), connection=connection).work(with_scheduler=True)


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    gazetteer: Annotated[Path | None, typer.Option(help="NBS tables for village names.")] = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Seed and exit.")] = False,
) -> None:
    """Seed a demo day (a county operator, stations, three brands' parcels, a fleet, a published plan)
    and serve the API."""
    from dispatch import demo as demo_data

    settings = get_settings()
    _ensure_embedded_schema(settings)
    database = _database(settings)
    if gazetteer is not None:
        settings = settings.model_copy(update={"gazetteer_dir": gazetteer})
    seeded = demo_data.seed(database, gazetteer_dir=settings.gazetteer_dir)
    seeded.update(
        demo_data.day(
            database,
            settings=settings,
            operator_id=uuid.UUID(seeded["operator_id"]),
            desk_user_id=uuid.UUID(seeded["desk"]["user_id"]),
        )
    )
    if seeded["plan"]["routes"]:
        seeded["settlement"] = demo_data.settle_day(
            database,
            settings=settings,
            operator_id=uuid.UUID(seeded["operator_id"]),
            first_driver_token=seeded["drivers"][0]["token"],
        )
    database.engine.dispose()
    base = f"http://{host}:{port}"
    key = seeded["carriers"][0]["api_key"]
    yto_key = seeded["carriers"][1]["api_key"]
    desk_key = seeded["desk"]["api_key"]
    driver = seeded["drivers"][0]
    seeded["try"] = [
        f"curl -s '{base}/v1/parcels?limit=3&status=hub_received' -H 'Authorization: Bearer {key}'",
        f"curl -s {base}{seeded['yto_manifest_report']} -H 'Authorization: Bearer {yto_key}'",
        f"curl -s {base}/v1/review -H 'Authorization: Bearer {desk_key}'",
        f"curl -s {base}/v1/plans/{seeded['plan']['plan_id']} -H 'Authorization: Bearer {desk_key}'",
        f"curl -s {base}/v1/driver/manifest -H 'Authorization: Bearer {driver['token']}'"
        " -H 'X-Device-Id: demo-phone'",
        f"curl -s '{base}/v1/statements?party_kind=carrier' -H 'Authorization: Bearer {desk_key}'",
        f"curl -s {base}/v1/carrier/statements -H 'Authorization: Bearer {key}'",
        f"open {base}/driver   # the driver's phone page: paste {driver['token']}",
        f"open {base}/docs",
    ]
    _emit(seeded)
    if not no_serve:
        serve(host=host, port=port, workers=1)


def main() -> None:
    app()


contract_app = typer.Typer(help="Contracts with carriers, station keepers and drivers.", no_args_is_help=True)
app.add_typer(contract_app, name="contract")


@contract_app.command("create")
def contract_create(
    operator: Annotated[str, typer.Option(help="Operator id.")],
    party_kind: Annotated[str, typer.Option("--party-kind", help="carrier, station or driver.")],
    terms: Annotated[str, typer.Option(help="The terms as JSON, or @FILE to read them from a file.")],
    valid_from: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD).")],
    valid_to: Annotated[str | None, typer.Option("--to", help="Last day; none = until replaced.")] = None,
    party: Annotated[str | None, typer.Option(help="The party's id; none = every party of the kind.")] = None,
) -> None:
    """Add a contract version; prints it as JSON."""
    from pydantic import ValidationError

    from dispatch.errors import DispatchError
    from dispatch.settlements import contracts
    from dispatch.settlements.schemas import ContractIn

    operator_id = _uuid(operator, "operator")
    text = Path(terms[1:]).read_text(encoding="utf-8") if terms.startswith("@") else terms
    try:
        body = ContractIn.model_validate(
            {
                "party_kind": party_kind,
                "party_id": party,
                "valid_from": valid_from,
                "valid_to": valid_to,
                "terms": json.loads(text),
            }
        )
    except (ValidationError, json.JSONDecodeError) as exc:
        _fail(f"invalid contract: {exc}")
        return
    database = _database(get_settings())
    try:
        with database.session_scope() as session:
            _emit(
                contracts.contract_view(
                    contracts.create_contract(session, operator_id=operator_id, body=body)
                )
            )
    except DispatchError as exc:
        _emit({"error": exc.detail, "errors": exc.errors})
        raise typer.Exit(code=2) from None


@app.command()
def settle(
    operator: Annotated[str, typer.Option(help="Operator id.")],
    period_from: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD, operator's calendar).")],
    period_to: Annotated[str, typer.Option("--to", help="Last day, inclusive.")],
    by: Annotated[str, typer.Option(help="period (one statement per party), day, week or month.")] = "period",
    close: Annotated[bool, typer.Option("--close", help="Close the statements (immutable).")] = False,
) -> None:
    """Settle a period: prints every party's statement (its lines and total_fen) as JSON; a progress bar
    goes to stderr."""
    from datetime import date as date_type

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TimeElapsedColumn

    from dispatch.errors import DispatchError
    from dispatch.settlements import service as settlements

    operator_id = _uuid(operator, "operator")
    try:
        first, last = date_type.fromisoformat(period_from), date_type.fromisoformat(period_to)
    except ValueError as exc:
        _fail(f"dates must be YYYY-MM-DD: {exc}", field="from")
        return
    settings = get_settings()
    database = _database(settings)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        "[progress.percentage]{task.percentage:>3.0f}%",
        TimeElapsedColumn(),
        console=Console(stderr=True),
    ) as bar:
        task = bar.add_task("settling", total=1.0)
        try:
            with database.session_scope() as session:
                result = settlements.settle(
                    session,
                    operator_id=operator_id,
                    first=first,
                    last=last,
                    by=by,
                    close=close,
                    settings=settings,
                    on_progress=lambda f, stage: bar.update(task, completed=f, description=stage),
                )
                statements = [
                    settlements.statement_view(s, settlements.statement_lines(session, s.id))
                    for s in result.statements
                ]
        except DispatchError as exc:
            _emit({"error": exc.detail, "errors": exc.errors})
            raise typer.Exit(code=2) from None
    _emit(
        {
            "operator_id": str(operator_id),
            "from": first.isoformat(),
            "to": last.isoformat(),
            "by": by,
            "parcels": result.parcels,
            "routes": result.routes,
            "adjustment_lines": result.adjusted,
            "warnings": result.warnings,
            "statements": statements,
        }
    )
