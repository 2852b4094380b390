"""Every ORM table; importing this package registers them all on ``Base.metadata``."""

from dispatch.models.alias import AddressAlias
from dispatch.models.callback import CallbackDelivery, CallbackStatus
from dispatch.models.carrier import ApiKey, CarrierAccount
from dispatch.models.division import Division, DivisionLevel
from dispatch.models.file_import import FileImport, ImportStatus
from dispatch.models.fleet import Driver, DriverToken, Vehicle
from dispatch.models.idempotency import IdempotencyRecord
from dispatch.models.manifest import Manifest, ManifestParcel
from dispatch.models.notification import Channel, DriverNotification, NotificationStatus
from dispatch.models.operator import DeskApiKey, DispatcherUser, Operator, UserRole
from dispatch.models.outbox import OutboxMessage
from dispatch.models.parcel import EventKind, Parcel, ParcelEvent
from dispatch.models.photo import DeliveryPhoto
from dispatch.models.plan import Plan, PlanStatus
from dispatch.models.settlement import (
    ANY_PARTY,
    Contract,
    PartyKind,
    RunStatus,
    SettlementRun,
    Statement,
    StatementItem,
    StatementLine,
    StatementStatus,
)
from dispatch.models.station import Station, StationCoverage, StationKind

__all__ = [
    "ANY_PARTY",
    "Contract",
    "PartyKind",
    "RunStatus",
    "SettlementRun",
    "Statement",
    "StatementItem",
    "StatementLine",
    "StatementStatus",
    "AddressAlias",
    "ApiKey",
    "CallbackDelivery",
    "CallbackStatus",
    "CarrierAccount",
    "Channel",
    "DeliveryPhoto",
    "DeskApiKey",
    "DispatcherUser",
    "Division",
    "DivisionLevel",
    "Driver",
    "DriverNotification",
    "DriverToken",
    "EventKind",
    "FileImport",
    "IdempotencyRecord",
    "ImportStatus",
    "Manifest",
    "ManifestParcel",
    "NotificationStatus",
    "Operator",
    "OutboxMessage",
    "Parcel",
    "ParcelEvent",
    "Plan",
    "PlanStatus",
    "Station",
    "StationCoverage",
    "StationKind",
    "UserRole",
    "Vehicle",
]
