"""Till and CRM configuration: one TOML file plus `TILLCRM_` environment overrides.

The file is chosen by `--config`, else `TILLCRM_CONFIG`, else the platformdirs default. Environment
variables override the file (`TILLCRM_CRM__URL` sets `[crm] url`), which is how a service
deployment or a test changes one key without writing a file. A bad file never half-loads: every
problem is reported on its own line naming the file and the key, and the command exits 2.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

import platformdirs
import tomlkit
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

__all__ = [
    "APP_NAME",
    "ConfigError",
    "CrmSettings",
    "DeviceKind",
    "DeviceSettings",
    "LocaleSettings",
    "LogSettings",
    "OfflineSettings",
    "PrinterKind",
    "PrinterSettings",
    "SecuritySettings",
    "ServerSettings",
    "Settings",
    "SyncSettings",
    "TillSettings",
    "config_path",
    "default_config_path",
    "default_data_dir",
    "default_log_dir",
    "load_settings",
    "save_registration",
]

APP_NAME = "tillcrm"


def default_config_path() -> Path:
    """Where the till looks for its config when neither `--config` nor `TILLCRM_CONFIG` is given."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_data_dir() -> Path:
    """Where the till's database and the embedded CRM's database live by default."""
    return Path(platformdirs.user_data_dir(APP_NAME))


def default_log_dir() -> Path:
    """Where the till's log file lives by default (~/.local/state/tillcrm/log on Linux)."""
    return Path(platformdirs.user_log_dir(APP_NAME))


class _Section(BaseModel):
    """A config table: unknown keys are errors, so a typo is reported instead of ignored."""

    model_config = ConfigDict(extra="forbid")


class TillSettings(_Section):
    """This till's identity, written by `tillcrm register`."""

    id: str = ""
    """Till id issued by the CRM at enrollment; empty until the till is registered."""
    name: str = "Till 1"
    """Name shown in the status bar and recorded in the audit log."""


class CrmSettings(_Section):
    """How the till reaches the CRM service."""

    url: str = "http://127.0.0.1:8765"
    """Base URL of the CRM service (the API lives under /v1)."""
    ca_bundle: Path | None = None
    """PEM file of CA certificates to trust instead of the system store; TLS is always verified."""
    connect_timeout: Annotated[float, Field(gt=0, le=60)] = 3.0
    """Seconds to wait for a TCP/TLS connection before the CRM is treated as offline."""
    read_timeout: Annotated[float, Field(gt=0, le=300)] = 10.0
    """Seconds to wait for a response once connected."""


class SyncSettings(_Section):
    """The outbox push and the cache pull."""

    interval_seconds: Annotated[float, Field(gt=0, le=3600)] = 5.0
    """Seconds between sync rounds while online."""
    batch_size: Annotated[int, Field(ge=1, le=1000)] = 200
    """Most ops sent in one push request (fewer when more would pass the CRM's body limit)."""
    backoff_base_seconds: Annotated[float, Field(gt=0)] = 1.0
    """Base of the full-jitter exponential backoff after a failed push."""
    backoff_cap_seconds: Annotated[float, Field(gt=0)] = 300.0
    """Longest wait between push attempts; a longer `Retry-After` from the CRM is cut to it,
    and a stored next try further ahead than this (the clock was put back) is due at once."""
    attention_after_tries: Annotated[int, Field(ge=1, le=100)] = 5
    """An op the CRM answers with the same server error (5xx) this many times in a row, sent
    alone, needs attention: it and the ops after it wait for a supervisor's retry."""
    probe_max_seconds: Annotated[float, Field(gt=0, le=300)] = 1.5
    """Longest wait between health probes while the CRM is unreachable. Probes start 1 s
    after the failure and double up to this, so a CRM that comes back is noticed within it
    (and the queue drains at once); raise it to spare a CRM that many tills probe."""
    pull_page_size: Annotated[int, Field(ge=1, le=5000)] = 1000
    """Customers per page of a pull."""


class OfflineSettings(_Section):
    """What the till may do with money while the CRM cannot be reached."""

    max_balance_age_hours: Annotated[float, Field(gt=0)] = 24.0
    """A cached balance older than this cannot back an offline redemption or debit."""
    per_transaction_cap: Annotated[int, Field(ge=0)] = 5_000
    """Largest stored-value debit of one transaction taken offline, in minor units."""
    per_till_cap: Annotated[int, Field(ge=0)] = 50_000
    """Largest total of this till's unsynced offline stored-value debits, in minor units."""
    per_transaction_points_cap: Annotated[int, Field(ge=0)] = 5_000
    """Largest points redemption of one transaction taken offline (a points tender or a
    redemption), in points: capped apart from money, a point is not a cent."""
    per_till_points_cap: Annotated[int, Field(ge=0)] = 50_000
    """Largest total of this till's unsynced offline points redemptions, in points."""


class SecuritySettings(_Section):
    """Operator login and supervisor overrides."""

    max_pin_attempts: Annotated[int, Field(ge=1, le=20)] = 5
    """Wrong PINs in a row before the operator is locked."""
    lockout_minutes: Annotated[float, Field(gt=0)] = 15.0
    """How long a locked operator must wait."""


class LocaleSettings(_Section):
    """How money, dates and phone numbers are read and shown."""

    locale: str = "en_US"
    """Babel locale for money and dates."""
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    """ISO 4217 currency of this till."""
    phone_region: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "US"
    """Region assumed for phone numbers typed without a country code."""


class DeviceKind(StrEnum):
    """The kinds of reader a till can have."""

    BARCODE = "barcode"
    MAGSTRIPE = "magstripe"
    CONTACTLESS = "contactless"


def _stopbits(value: float) -> float:
    if value not in (1, 1.5, 2):
        raise ValueError("must be 1, 1.5 or 2")
    return value


class DeviceSettings(_Section):
    """One serial reader (a `[[devices]]` table)."""

    name: Annotated[str, Field(min_length=1)]
    """Name shown on the devices screen and in events."""
    kind: DeviceKind
    """barcode, magstripe or contactless."""
    url: Annotated[str, Field(min_length=1)]
    """Port path or any pyserial URL (socket://host:port, loop://)."""
    baudrate: Annotated[int, Field(gt=0)] = 9600
    """Line speed."""
    bytesize: Literal[5, 6, 7, 8] = 8
    """Data bits."""
    parity: Literal["N", "E", "O", "M", "S"] = "N"
    """Parity: N, E, O, M or S."""
    stopbits: Annotated[float, AfterValidator(_stopbits)] = 1
    """Stop bits: 1, 1.5 or 2."""
    terminator: Literal["CR", "LF", "CRLF"] = "CR"
    """Line terminator of barcode and line-based contactless readers."""
    aim_prefix: bool = False
    """The scanner sends an AIM symbology identifier (]E0, ]C1, ...) before each code."""
    contactless_format: Literal["rdm6300", "hex", "decimal"] = "rdm6300"
    """Frame format of a contactless reader."""
    byte_order: Literal["big", "little"] = "big"
    """Byte order of a line-based contactless reader's UID."""
    usb_vid: Annotated[int, Field(ge=0, le=0xFFFF)] | None = None
    """USB vendor id, to find the port again after an unplug."""
    usb_pid: Annotated[int, Field(ge=0, le=0xFFFF)] | None = None
    """USB product id, to find the port again after an unplug."""
    usb_serial: str | None = None
    """USB serial number, to tell two identical readers apart."""


class ServerSettings(_Section):
    """The reference CRM service (`tillcrm crm serve`)."""

    db: str = ""
    """SQLAlchemy URL; empty means SQLite in the data dir. postgresql+psycopg://... for a chain."""
    host: str = "127.0.0.1"
    """Address to listen on."""
    port: Annotated[int, Field(ge=1, le=65535)] = 8765
    """Port to listen on."""


class PrinterKind(StrEnum):
    """How the till reaches its receipt printer."""

    NONE = "none"
    SERIAL = "serial"
    USB = "usb"
    NETWORK = "network"
    FILE = "file"
    """ESC/POS bytes written to a file (the last receipt): the demo, or a printer's device node."""
    DUMMY = "dummy"
    """Takes every job and keeps none: a till with no printer to test against."""


class PrinterSettings(_Section):
    """The ESC/POS receipt printer (`[printer]`)."""

    kind: PrinterKind = PrinterKind.NONE
    """none, serial, usb, network, file or dummy."""
    device: str = ""
    """serial: the port (/dev/ttyUSB0); file: the file the receipt's bytes go to."""
    baudrate: Annotated[int, Field(gt=0)] = 9600
    """serial: line speed."""
    host: str = ""
    """network: the printer's address."""
    port: Annotated[int, Field(ge=1, le=65535)] = 9100
    """network: the printer's raw TCP port."""
    usb_vid: Annotated[int, Field(ge=0, le=0xFFFF)] | None = None
    """usb: vendor id."""
    usb_pid: Annotated[int, Field(ge=0, le=0xFFFF)] | None = None
    """usb: product id."""
    width: Annotated[int, Field(ge=24, le=64)] = 42
    """Characters per line (42 on 80 mm paper in font A, 32 on 58 mm)."""
    timeout: Annotated[float, Field(gt=0, le=60)] = 3.0
    """Seconds to wait for the printer to connect, take the receipt or answer a status query."""
    paper_check: bool = True
    """Ask the printer's paper sensor (DLE EOT 4) before each receipt (serial, usb, network);
    turn off for a printer that never answers, which makes each receipt wait `timeout`."""


class LogSettings(_Section):
    """The till's log file (`[logs]`): device events, sync attempts, logins and errors, for
    support. It rotates, so a till that runs for years keeps at most `max_bytes * (backups + 1)`
    bytes of it. The CRM (`tillcrm crm serve`) logs JSON lines to stderr instead."""

    dir: Path = Field(default_factory=default_log_dir)
    """Folder of `till.log` and its rotated copies (`till.log.1`, ...)."""
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """The least severe tillcrm message written; other libraries write warnings and errors."""
    max_bytes: Annotated[int, Field(ge=10_000)] = 5_000_000
    """The file's size at which it is rotated."""
    backups: Annotated[int, Field(ge=0, le=100)] = 5
    """Rotated copies kept; the oldest is deleted beyond them."""


class Settings(BaseSettings):
    """The whole configuration of one till (and of the CRM service run beside it)."""

    model_config = SettingsConfigDict(
        env_prefix="TILLCRM_", env_nested_delimiter="__", extra="forbid"
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    """Folder for the till's database, lock file and the embedded CRM's database."""
    till: TillSettings = TillSettings()
    """This till's identity."""
    crm: CrmSettings = CrmSettings()
    """The CRM service."""
    sync: SyncSettings = SyncSettings()
    """Sync timing and batching."""
    offline: OfflineSettings = OfflineSettings()
    """Offline money caps."""
    security: SecuritySettings = SecuritySettings()
    """Login and override rules."""
    locale: LocaleSettings = LocaleSettings()
    """Money, dates and phone numbers."""
    devices: list[DeviceSettings] = []
    """Serial readers."""
    printer: PrinterSettings = PrinterSettings()
    """The receipt printer."""
    server: ServerSettings = ServerSettings()
    """The reference CRM service."""
    logs: LogSettings = LogSettings()
    """The till's log file."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment over the TOML file; the file is passed in through `init_settings`."""
        return (env_settings, init_settings)


class ConfigError(Exception):
    """The config cannot be used; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def config_path(explicit: Path | None) -> Path:
    """The config file in use: `--config`, else `$TILLCRM_CONFIG`, else the per-user file."""
    if explicit is not None:
        return explicit
    from_env = os.environ.get("TILLCRM_CONFIG")
    return Path(from_env) if from_env else default_config_path()


def _describe(error_type: str, message: str) -> str:
    if error_type == "extra_forbidden":
        return "unknown key"
    if error_type == "missing":
        return "missing required key"
    return message[0].lower() + message[1:] if message else error_type


def load_settings(path: Path | None = None, *, required: bool = False) -> Settings:
    """Load the config file (if any) with environment overrides.

    A missing file is fine for the defaults unless `required` (an explicit `--config` must exist).
    Raises `ConfigError` with one line per problem: `FILE: KEY: what is expected`.
    """
    source = config_path(path)
    explicit = path is not None or "TILLCRM_CONFIG" in os.environ
    data: dict[str, object] = {}
    if source.exists():
        try:
            data = TomlConfigSettingsSource(Settings, toml_file=source)()
        except (OSError, ValueError) as exc:
            raise ConfigError([f"{source}: cannot be read: {exc}"]) from exc
    elif required or explicit:
        raise ConfigError([f"{source}: no such file (copy config.example.toml to start one)"])
    try:
        return Settings(**data)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = ".".join(str(part) for part in error["loc"]) or "(top level)"
            problems.append(f"{source}: {key}: {_describe(error['type'], error['msg'])}")
        raise ConfigError(problems) from exc


def save_registration(path: Path, *, till_id: str, till_name: str, crm_url: str) -> None:
    """Write the till's identity and CRM URL into the config file, keeping its comments.

    tomlkit edits the document in place, so an installer's notes in the file survive.
    The token is never written here: it goes to the keyring.
    """
    document = tomlkit.parse(path.read_text()) if path.exists() else tomlkit.document()
    for table, values in (("till", {"id": till_id, "name": till_name}), ("crm", {"url": crm_url})):
        section = document.get(table)
        if section is None:
            section = tomlkit.table()
            document[table] = section
        for key, value in values.items():
            section[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomlkit.dumps(document))
