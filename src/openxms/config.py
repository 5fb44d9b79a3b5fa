"""The one settings object, read once at start-up.

Sources, later ones winning: built-in defaults, an optional TOML file (`--config`),
environment variables (`OPENXMS_*`), then command-line flags. Other tools rely on the
environment variables behaving exactly like this:

    OPENXMS_SERVICE_PLANS="SP1:TOKEN1,SP2:TOKEN2:50"   plan id : API token [: rate msg/s]
    OPENXMS_PROJECTS="PROJ1:KEYID1:SECRET1"             project id : key id : key secret
    OPENXMS_DATABASE_URL=postgresql://... | sqlite:///path | /path/file.sqlite3
    OPENXMS_CONVERSATION_APPS="APPID:PROJ1:SP1"         Conversation app id : project : service plan

Projects (OAuth2 client credentials) own batches exactly like service plans do; both are
"accounts" below, told apart by how they authenticate.

Every setting is declared once, below, with its type, range and default: `Server` is the
`[server]` table and, inherited, the attributes of the same names on `Settings`; `OAuth` is
`[oauth]`; `Account` a `[[service_plans]]` or `[[projects]]` entry; `ConversationApp` a
`[[conversation_apps]]` entry; `ConfigFile` the whole file.
`load` merges the sources into one dict of the file's shape and `msgspec.convert` checks all
of it, so an unknown key or a bad value anywhere is a `ConfigError` of one line naming the
source and the key (`openxms.toml: server.port: expected an integer, got "eighty"`).
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from .config_messages import describe
from .connectors.outcomes import OutcomeRules, RulesError
from .connectors.smpp.config import SmppConfig

__all__ = [
    "DEFAULT_RATE",
    "Account",
    "Callbacks",
    "ConfigError",
    "ConfigFile",
    "ConversationApp",
    "OAuth",
    "Server",
    "Settings",
    "load",
    "parse_conversation_apps",
    "parse_projects",
    "parse_service_plans",
]

DEFAULT_RATE = 100.0  # messages (recipients) per second per account, like a modest Sinch plan


class ConfigError(ValueError):
    """A setting is malformed; the message is one line saying where and why."""


Text = Annotated[str, msgspec.Meta(min_length=1)]
AtLeastOne = Annotated[int, msgspec.Meta(ge=1)]


class Account(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A service plan (token auth) or a project (OAuth2) and what the engine needs to serve it."""

    id: Text
    kind: Literal["plan", "project"] = "plan"  # from the table it is in, not a key of its own
    token: Text | None = None  # plan API token
    key_id: Text | None = None  # project access key
    key_secret: Text | None = None
    rate: Annotated[float, msgspec.Meta(ge=0)] = DEFAULT_RATE  # recipients per second; 0 = unlimited
    callback_url: str | None = None  # default delivery-report callback URL
    mo_callback_url: str | None = None  # inbound (MO) callback URL
    webhook_secret: str | None = None  # HMAC-SHA256 signing of callbacks when set
    numbers: tuple[str, ...] = ()  # numbers / short codes this account receives MO on ("+" dropped)
    connector: Literal["simulator", "smpp"] = "simulator"
    smpp: SmppConfig | None = None  # SMPP connection settings (docs/smpp.md)
    max_parts: AtLeastOne | None = None  # account default for max_number_of_message_parts
    api_rate: Annotated[float, msgspec.Meta(gt=0)] | None = None  # API requests per second; over it: 429

    def __post_init__(self) -> None:
        if self.kind == "plan" and not self.token:
            raise ValueError("a service plan needs a token")
        if self.kind == "project" and not (self.key_id and self.key_secret):
            raise ValueError("a project needs key_id and key_secret")
        if self.connector == "smpp" and self.smpp is None:
            raise ValueError('connector = "smpp" needs an smpp table with at least host (docs/smpp.md)')
        if any(n.startswith("+") for n in self.numbers):
            msgspec.structs.force_setattr(self, "numbers", tuple(n.lstrip("+") for n in self.numbers))


class Server(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """`[server]`; also the settings of the same names."""

    host: Text = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 8080
    data_dir: Path = Path("data")
    database_url: Text | None = None  # `database` in the TOML file; None: SQLite file in data_dir
    clock: Literal["system", "manual"] = "system"
    max_body_bytes: AtLeastOne = 4 * 1024 * 1024
    # NORMAL survives process crashes; FULL also power loss (https://www.sqlite.org/pragma.html#pragma_synchronous)
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "NORMAL"
    role: Literal["all", "api", "engine"] = "all"
    node_id: Text | None = None  # default hostname:port (hostname:port:pid with reuse_port)
    # SO_REUSEPORT: several processes listen on one port and the kernel spreads the connections
    # over them (several `--role api` processes in front of one engine, docs/architecture.md).
    reuse_port: bool = False
    dry_run_per_recipient_default: bool = False  # Sinch docs: false; the SDKs' mock server: true
    callback_timeout: Annotated[float, msgspec.Meta(gt=0)] = 10.0  # seconds per callback POST
    unknown_after_ms: Annotated[int, msgspec.Meta(ge=0)] = 3600 * 1000  # Dispatched this long after
    # expire_at with no receipt -> Unknown
    max_batch_recipients: AtLeastOne = 1_000_000  # recipients of one batch once its groups are expanded
    # The control plane (/simulator, /clock, the web UI): see docs/security.md.
    allowed_hosts: tuple[Text, ...] = ()  # Host names it answers besides loopback and `host` ("*": any)
    control_token: Text | None = None  # when set: Bearer token required on its mutating calls
    insecure_control: bool = False  # allow a non-loopback `host` without a control token
    # Origins whose browser pages may call the APIs (CORS, preflights answered); none by default.
    cors_origins: tuple[Text, ...] = ()
    max_inflight_body_bytes: AtLeastOne = 64 * 1024 * 1024  # request bodies held at once, all requests


class Callbacks(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """`[callbacks]`: where callbacks may go (CIDR lists, e.g. deny link-local and metadata
    addresses). A target whose address is in `deny` and not in `allow` is refused."""

    allow: tuple[Text, ...] = ()
    deny: tuple[Text, ...] = ()

    def __post_init__(self) -> None:
        for net in (*self.allow, *self.deny):
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError:
                raise ValueError(f"{net!r} is not an IP network (CIDR)") from None


# Conversation API ids are ULIDs; Sinch answers 400 to an app_id that is not ULID-shaped, and
# so do we (conversation/fields.py), so a configured app must have such an id to be usable.
_APP_ID = re.compile(r"[0-9A-Za-z]{26}")


class ConversationApp(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A `[[conversation_apps]]` entry: a Conversation API app whose SMS channel is a service
    plan, made (or brought up to date) in the database at start-up."""

    id: Text  # 26 letters or digits, like Sinch's app ids (ULIDs)
    project: Text  # the id of a [[projects]] entry: the app's owner
    plan: Text  # the id of a [[service_plans]] entry: the app's SMS channel
    display_name: Text | None = None  # default: the id (on creation; kept afterwards)
    processing_mode: Literal["CONVERSATION", "DISPATCH"] | None = None  # default DISPATCH, like Sinch's

    def __post_init__(self) -> None:
        if not _APP_ID.fullmatch(self.id):
            raise ValueError(f"an app id is 26 letters or digits (a ULID), got {self.id!r}")


class OAuth(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """`[oauth]`."""

    token_ttl: AtLeastOne = 3600  # access token lifetime, seconds


class Retention(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """`[retention]`: messages, reports, callbacks and inbounds older than `days` are deleted
    (Sinch keeps batches 14 days), checked every `interval` seconds. 0 days: keep everything."""

    days: Annotated[float, msgspec.Meta(ge=0)] = 14.0
    interval: Annotated[float, msgspec.Meta(gt=0)] = 300.0
    # at most this many messages (recipient rows) kept: the oldest finished batches go first
    max_messages: AtLeastOne | None = None


class ConfigFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The TOML file; every table is optional."""

    server: Server = Server()
    oauth: OAuth = OAuth()
    callbacks: Callbacks = Callbacks()
    retention: Retention = Retention()
    simulator: dict[str, Any] = {}  # outcome rules, checked by OutcomeRules.from_dict (docs/simulator.md)
    service_plans: tuple[Account, ...] = ()
    projects: tuple[Account, ...] = ()
    conversation_apps: tuple[ConversationApp, ...] = ()


class Settings(Server, frozen=True, forbid_unknown_fields=True):
    """Everything the server reads: the `[server]` settings plus these."""

    accounts: tuple[Account, ...] = ()
    conversation_apps: tuple[ConversationApp, ...] = ()
    oauth: OAuth = OAuth()
    callbacks: Callbacks = Callbacks()
    retention: Retention = Retention()
    simulator: dict[str, Any] = {}  # outcome rules, see connectors/outcomes.py

    @property
    def oauth_token_ttl(self) -> int:
        return self.oauth.token_ttl

    @property
    def database(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'openxms.sqlite3').as_posix()}"

    def account(self, account_id: str) -> Account | None:
        for a in self.accounts:
            if a.id == account_id:
                return a
        return None


# Settings the environment and the command line can set: name -> (table, key) in the file.
_PLACES = {f.name: ("server", f.name) for f in msgspec.structs.fields(Server)}
_PLACES["oauth_token_ttl"] = ("oauth", "token_ttl")
_TYPES = {f.name: f.type for f in msgspec.structs.fields(Server)}
_TYPES["oauth_token_ttl"] = msgspec.structs.fields(OAuth)[0].type
_ENV = {
    "OPENXMS_DATABASE_URL": "database_url",
    "OPENXMS_DATA_DIR": "data_dir",
    "OPENXMS_HOST": "host",
    "OPENXMS_PORT": "port",
    "OPENXMS_CLOCK": "clock",
    "OPENXMS_OAUTH_TOKEN_TTL": "oauth_token_ttl",
    "OPENXMS_MAX_BODY_BYTES": "max_body_bytes",
    "OPENXMS_SQLITE_SYNCHRONOUS": "sqlite_synchronous",
    "OPENXMS_ROLE": "role",
    "OPENXMS_NODE_ID": "node_id",
    "OPENXMS_REUSE_PORT": "reuse_port",
    "OPENXMS_CONTROL_TOKEN": "control_token",
}


# Read by `load` beside _ENV: lists of accounts and apps (the formats in docs/configuration.md).
LIST_VARIABLES = {
    "OPENXMS_SERVICE_PLANS": "service plans, ID:TOKEN[:RATE] separated by commas",
    "OPENXMS_PROJECTS": "projects (OAuth2), ID:KEY_ID:KEY_SECRET separated by commas",
    "OPENXMS_CONVERSATION_APPS": "Conversation apps, APP_ID:PROJECT:PLAN separated by commas",
}


def environment_help() -> str:
    """Every environment variable `load` reads, one per line, for `openxms serve --help`."""
    rows = [(var, f"the {name} setting") for var, name in _ENV.items()] + list(LIST_VARIABLES.items())
    width = max(len(v) for v, _ in rows)
    return "\n".join(f"  {var:<{width}}  {what}" for var, what in rows)


def _dec_hook(type_: type, obj: Any) -> Any:
    if type_ is Path and isinstance(obj, (str, Path)):
        return Path(obj)
    raise NotImplementedError


def _convert(source: str, obj: Any, type_: Any, strict: bool = True, renamed: dict[str, str] | None = None) -> Any:
    """msgspec.convert, a bad value raising ConfigError "source: key path: what is wrong"."""
    try:
        return msgspec.convert(obj, type_, strict=strict, dec_hook=_dec_hook)
    except msgspec.ValidationError as e:
        raise ConfigError(f"{source}: {describe(str(e), obj, type_, renamed or {})}") from None


def _setting(source: str, name: str, value: Any) -> Any:
    """One setting from the environment or the command line, checked on its own so an error
    names where it came from. Strings are cast (OPENXMS_PORT=8080 is a port)."""
    if name == "sqlite_synchronous" and isinstance(value, str):
        value = value.upper()  # PRAGMA synchronous is case-insensitive; so is this
    return _convert(source, value, _TYPES[name], strict=False)


def _env_account(source: str, **fields: Any) -> Account:
    return _convert(f"{source}: {fields['id']}", fields, Account, strict=False)


def parse_service_plans(value: str) -> list[Account]:
    """`SP1:TOKEN1,SP2:TOKEN2:50` -> plans; the optional third field is the rate."""
    plans = []
    for item in filter(None, (s.strip() for s in value.split(","))):
        parts = item.split(":")
        if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
            raise ConfigError(f"OPENXMS_SERVICE_PLANS: expected PLAN:TOKEN[:RATE], got {item!r}")
        rate = {"rate": parts[2]} if len(parts) == 3 else {}
        plans.append(_env_account("OPENXMS_SERVICE_PLANS", id=parts[0], kind="plan", token=parts[1], **rate))
    return plans


def parse_projects(value: str) -> list[Account]:
    """`PROJ1:KEYID1:SECRET1,...` -> projects (OAuth2 client credentials)."""
    projects = []
    for item in filter(None, (s.strip() for s in value.split(","))):
        parts = item.split(":")
        if len(parts) != 3 or not all(parts):
            raise ConfigError(f"OPENXMS_PROJECTS: expected PROJECT:KEY_ID:KEY_SECRET, got {item!r}")
        projects.append(
            _env_account("OPENXMS_PROJECTS", id=parts[0], kind="project", key_id=parts[1], key_secret=parts[2])
        )
    return projects


def parse_conversation_apps(value: str) -> list[ConversationApp]:
    """`APPID:PROJ1:SP1,...` -> Conversation apps (id : project : service plan)."""
    apps = []
    for item in filter(None, (s.strip() for s in value.split(","))):
        parts = item.split(":")
        if len(parts) != 3 or not all(parts):
            raise ConfigError(f"OPENXMS_CONVERSATION_APPS: expected APP_ID:PROJECT:PLAN, got {item!r}")
        apps.append(
            _convert(
                f"OPENXMS_CONVERSATION_APPS: {parts[0]}",
                {"id": parts[0], "project": parts[1], "plan": parts[2]},
                ConversationApp,
            )
        )
    return apps


def _conversation_apps(
    src: str, cf: ConfigFile, env: Mapping[str, str], accounts: list[Account]
) -> tuple[ConversationApp, ...]:
    """The file's apps with the environment's merged in (an id in both keeps the file's other
    keys and takes the environment's project and plan); each must name a configured project
    and service plan."""
    where: dict[str, str] = {}
    by_id: dict[str, ConversationApp] = {}
    for i, a in enumerate(cf.conversation_apps):
        if a.id in by_id:
            raise ConfigError(f'{src}: duplicate id "{a.id}" ({where[a.id]} and conversation_apps[{i}])')
        by_id[a.id], where[a.id] = a, f"conversation_apps[{i}]"
    var = "OPENXMS_CONVERSATION_APPS"
    seen: set[str] = set()
    for a in parse_conversation_apps(env[var]) if env.get(var) else ():
        if a.id in seen:
            raise ConfigError(f'{var}: duplicate id "{a.id}"')
        seen.add(a.id)
        old = by_id.get(a.id)
        by_id[a.id] = a if old is None else msgspec.structs.replace(old, project=a.project, plan=a.plan)
        where[a.id] = f"{var}: {a.id}"
    kinds = {a.id: a.kind for a in accounts}
    for a in by_id.values():
        here = where[a.id]
        file_key = not here.startswith(var)
        if kinds.get(a.project) != "project":
            key = f"{src}: {here}.project" if file_key else here
            raise ConfigError(f'{key}: no project "{a.project}" is configured')
        if kinds.get(a.plan) != "plan":
            key = f"{src}: {here}.plan" if file_key else here
            raise ConfigError(f'{key}: no service plan "{a.plan}" is configured')
    return tuple(by_id.values())


def _merge_accounts(base: list[Account], extra: list[Account]) -> list[Account]:
    """Environment accounts override credentials (and rate) of same-id TOML accounts."""
    by_id = {a.id: a for a in base}
    for a in extra:
        old = by_id.get(a.id)
        if old is None:
            by_id[a.id] = a
        elif a.kind == "plan":
            by_id[a.id] = msgspec.structs.replace(old, kind="plan", token=a.token, rate=a.rate)
        else:
            by_id[a.id] = msgspec.structs.replace(old, kind="project", key_id=a.key_id, key_secret=a.key_secret)
    return list(by_id.values())


def _read(config_file: str | os.PathLike) -> dict[str, Any]:
    try:
        with open(config_file, "rb") as f:
            return tomllib.load(f)
    except OSError as e:
        raise ConfigError(f"{config_file}: cannot read: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{config_file}: not valid TOML: {e}") from None


def _file_doc(src: str, doc: dict[str, Any]) -> dict[str, str]:
    """Prepare the file's dict for conversion in place; returns key paths renamed on the way,
    so an error names the key the file has."""
    renamed = {}
    server = doc.get("server")
    if isinstance(server, dict) and "database" in server:
        if "database_url" in server:
            raise ConfigError(f"{src}: server.database and server.database_url are the same setting; give one")
        server["database_url"] = server.pop("database")
        renamed["server.database_url"] = "server.database"
    if isinstance(server, dict) and isinstance(server.get("sqlite_synchronous"), str):
        server["sqlite_synchronous"] = server["sqlite_synchronous"].upper()
    for table, kind in (("service_plans", "plan"), ("projects", "project")):
        entries = doc.get(table)
        for i, entry in enumerate(entries if isinstance(entries, list) else ()):
            if isinstance(entry, dict):
                if "kind" in entry:  # the table says which; `kind` is not a key of the file
                    raise ConfigError(f"{src}: unknown key '{table}[{i}].kind'")
                entry["kind"] = kind
    return renamed


_URL_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres")


def _check_database_url(url: str | None) -> None:
    """`sqlite:///...`, `postgresql://...` or a file path. Any other `scheme://` is a mistake
    (a MySQL URL would otherwise become a SQLite file named `mysql:`)."""
    m = _URL_SCHEME.match(url or "")
    if m and m.group(1).lower() not in DATABASE_SCHEMES:
        raise ConfigError(
            f"database: unsupported database {m.group(1)!r} in {redact_url(url or '')}; "
            "use sqlite:///path/file.sqlite3 (or a file path) or postgresql://user@host/db"
        )


def redact_url(url: str) -> str:
    """`url` with a password in it replaced by `***` (for messages and the start-up line)."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':')[0]}:***@{host}" if ":" in creds else url
    return url


def _check_ids(src: str, cf: ConfigFile) -> None:
    seen: dict[str, str] = {}
    for table in ("service_plans", "projects"):
        for i, a in enumerate(getattr(cf, table)):
            here = f"{table}[{i}]"
            if a.id in seen:
                raise ConfigError(f'{src}: duplicate id "{a.id}" ({seen[a.id]} and {here})')
            seen[a.id] = here


def load(
    config_file: str | os.PathLike | None = None, env: Mapping[str, str] | None = None, **overrides: Any
) -> Settings:
    """Build the settings; `overrides` are command-line flags (None means not given), named
    like the settings (`port`, `database_url`, `oauth_token_ttl`, ...)."""
    env = os.environ if env is None else env
    src = str(config_file) if config_file else "settings"
    doc = _read(config_file) if config_file else {}
    renamed = _file_doc(src, doc)

    layers = [(var, name, env[var]) for var, name in _ENV.items() if env.get(var)]
    for name, value in overrides.items():
        if name not in _PLACES:
            raise ConfigError(f"command line: unknown setting {name!r}")
        if value is not None:
            layers.append((f"command line: {name}", name, value))
    for source, name, value in layers:
        table, key = _PLACES[name]
        if not isinstance(doc.setdefault(table, {}), dict):
            continue  # the conversion below names the file's bad table
        doc[table][key] = _setting(source, name, value)
        renamed.pop(f"{table}.{key}", None)

    cf: ConfigFile = _convert(src, doc, ConfigFile, renamed=renamed)
    _check_ids(src, cf)
    try:
        OutcomeRules.from_dict(cf.simulator)  # what the simulator will build from it at start-up
    except RulesError as e:
        raise ConfigError(
            f"{src}: unknown key 'simulator.{e.key}'" if e.unknown else f"{src}: simulator.{e.key}: {e.problem}"
        ) from None

    env_accounts: list[Account] = []
    seen: dict[str, str] = {}
    for var, parse in (("OPENXMS_SERVICE_PLANS", parse_service_plans), ("OPENXMS_PROJECTS", parse_projects)):
        for a in parse(env[var]) if env.get(var) else ():
            if a.id in seen:
                also = "" if seen[a.id] == var else f" (also in {seen[a.id]})"
                raise ConfigError(f'{var}: duplicate id "{a.id}"{also}')
            seen[a.id] = var
            env_accounts.append(a)
    accounts = _merge_accounts([*cf.service_plans, *cf.projects], env_accounts)
    apps = _conversation_apps(src, cf, env, accounts)
    _check_database_url(cf.server.database_url)
    return Settings(
        **msgspec.structs.asdict(cf.server),
        oauth=cf.oauth,
        callbacks=cf.callbacks,
        retention=cf.retention,
        simulator=cf.simulator,
        accounts=tuple(accounts),
        conversation_apps=apps,
    )
