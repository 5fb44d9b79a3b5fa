"""The one settings object, read once at start-up.

Sources, later ones winning: built-in defaults, an optional TOML file (`--config`),
environment variables (`OPENXMS_*`), then command-line flags. Other tools rely on the
environment variables behaving exactly like this:

    OPENXMS_SERVICE_PLANS="SP1:TOKEN1,SP2:TOKEN2:50"   plan id : API token [: rate msg/s]
    OPENXMS_PROJECTS="PROJ1:KEYID1:SECRET1"             project id : key id : key secret
    OPENXMS_DATABASE_URL=postgresql://... | sqlite:///path | /path/file.sqlite3

Projects (OAuth2 client credentials) own batches exactly like service plans do; both are
"accounts" below, told apart by how they authenticate.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

DEFAULT_RATE = 100.0  # messages (recipients) per second per account, like a modest Sinch plan


class ConfigError(ValueError):
    """A setting is malformed; the message says which and why."""


@dataclass(frozen=True)
class Account:
    """A service plan (token auth) or a project (OAuth2) and what the engine needs to serve it."""

    id: str
    kind: str = "plan"  # "plan" | "project"
    token: str | None = None  # plan API token
    key_id: str | None = None  # project access key
    key_secret: str | None = None
    rate: float = DEFAULT_RATE  # recipients per second; 0 = unlimited
    callback_url: str | None = None  # default delivery-report callback URL
    mo_callback_url: str | None = None  # inbound (MO) callback URL
    webhook_secret: str | None = None  # HMAC-SHA256 signing of callbacks when set
    numbers: tuple[str, ...] = ()  # numbers / short codes this account receives MO on
    connector: str = "simulator"  # "simulator" | "smpp"
    smpp: dict[str, Any] | None = None  # SMPP connection settings (see docs/smpp.md)
    max_parts: int | None = None  # account default for max_number_of_message_parts


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("data")
    database_url: str | None = None  # None: SQLite file in data_dir
    accounts: tuple[Account, ...] = ()
    clock: str = "system"  # "system" | "manual"
    oauth_token_ttl: int = 3600  # seconds
    max_body_bytes: int = 4 * 1024 * 1024
    sqlite_synchronous: str = "NORMAL"  # NORMAL survives process crashes; FULL also power loss
    role: str = "all"  # "all" | "api" | "engine"
    node_id: str | None = None
    simulator: dict[str, Any] = field(default_factory=dict)  # outcome rules, see connectors/outcomes.py
    dry_run_per_recipient_default: bool = False  # Sinch docs: false; the SDKs' mock server: true
    callback_timeout: float = 10.0
    unknown_after_ms: int = 3600 * 1000  # Dispatched this long after expire_at with no receipt -> Unknown

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


_ACCOUNT_KEYS = {
    "id", "token", "key_id", "key_secret", "rate", "callback_url", "mo_callback_url",
    "webhook_secret", "numbers", "connector", "smpp", "max_parts",
}


def _account_from_toml(d: dict[str, Any], kind: str) -> Account:
    unknown = set(d) - _ACCOUNT_KEYS
    if unknown:
        raise ConfigError(f"unknown {kind} setting(s): {', '.join(sorted(unknown))}")
    if not d.get("id"):
        raise ConfigError(f"a {kind} needs an id")
    if kind == "plan" and not d.get("token"):
        raise ConfigError(f"service plan {d['id']} needs a token")
    if kind == "project" and not (d.get("key_id") and d.get("key_secret")):
        raise ConfigError(f"project {d['id']} needs key_id and key_secret")
    vals = dict(d)
    vals["numbers"] = tuple(str(n).lstrip("+") for n in d.get("numbers", ()))
    if "rate" in vals:
        vals["rate"] = _rate(vals["rate"], d["id"])
    if vals.get("connector", "simulator") not in ("simulator", "smpp"):
        raise ConfigError(f"{kind} {d['id']}: connector must be 'simulator' or 'smpp'")
    if vals.get("connector") == "smpp":
        from .connectors.smpp.client import SmppConfig

        try:
            SmppConfig.from_dict(dict(vals.get("smpp") or {}))
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{kind} {d['id']}: {e}") from None
    return Account(kind=kind, **vals)


def _rate(value: Any, who: str) -> float:
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{who}: rate must be a number of messages per second") from None
    if rate < 0:
        raise ConfigError(f"{who}: rate must be >= 0 (0 = unlimited)")
    return rate


def parse_service_plans(value: str) -> list[Account]:
    """`SP1:TOKEN1,SP2:TOKEN2:50` -> plans; the optional third field is the rate."""
    plans = []
    for item in filter(None, (s.strip() for s in value.split(","))):
        parts = item.split(":")
        if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
            raise ConfigError(f"OPENXMS_SERVICE_PLANS: expected PLAN:TOKEN[:RATE], got {item!r}")
        rate = _rate(parts[2], parts[0]) if len(parts) == 3 else DEFAULT_RATE
        plans.append(Account(id=parts[0], kind="plan", token=parts[1], rate=rate))
    return plans


def parse_projects(value: str) -> list[Account]:
    """`PROJ1:KEYID1:SECRET1,...` -> projects (OAuth2 client credentials)."""
    projects = []
    for item in filter(None, (s.strip() for s in value.split(","))):
        parts = item.split(":")
        if len(parts) != 3 or not all(parts):
            raise ConfigError(f"OPENXMS_PROJECTS: expected PROJECT:KEY_ID:KEY_SECRET, got {item!r}")
        projects.append(Account(id=parts[0], kind="project", key_id=parts[1], key_secret=parts[2]))
    return projects


def _merge_accounts(base: list[Account], extra: list[Account]) -> list[Account]:
    """Environment accounts override credentials (and rate) of same-id TOML accounts."""
    by_id = {a.id: a for a in base}
    for a in extra:
        old = by_id.get(a.id)
        if old is None:
            by_id[a.id] = a
        elif a.kind == "plan":
            by_id[a.id] = replace(old, kind="plan", token=a.token, rate=a.rate)
        else:
            by_id[a.id] = replace(old, kind="project", key_id=a.key_id, key_secret=a.key_secret)
    return list(by_id.values())


def load(config_file: str | os.PathLike | None = None, env: dict[str, str] | None = None,
         **overrides: Any) -> Settings:
    """Build the settings; `overrides` are command-line flags (None means not given)."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    accounts: list[Account] = []
    if config_file:
        try:
            with open(config_file, "rb") as f:
                doc = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ConfigError(f"cannot read config file {config_file}: {e}") from None
        server = doc.get("server", {})
        for key in ("host", "port", "data_dir", "database_url", "clock", "max_body_bytes",
                    "sqlite_synchronous", "role", "node_id", "dry_run_per_recipient_default",
                    "callback_timeout", "unknown_after_ms"):
            if key in server:
                values[key] = server[key]
        if "database" in server:
            values["database_url"] = server["database"]
        if "token_ttl" in doc.get("oauth", {}):
            values["oauth_token_ttl"] = int(doc["oauth"]["token_ttl"])
        if "simulator" in doc:
            values["simulator"] = doc["simulator"]
        accounts += [_account_from_toml(p, "plan") for p in doc.get("service_plans", [])]
        accounts += [_account_from_toml(p, "project") for p in doc.get("projects", [])]

    env_accounts = []
    if env.get("OPENXMS_SERVICE_PLANS"):
        env_accounts += parse_service_plans(env["OPENXMS_SERVICE_PLANS"])
    if env.get("OPENXMS_PROJECTS"):
        env_accounts += parse_projects(env["OPENXMS_PROJECTS"])
    accounts = _merge_accounts(accounts, env_accounts)
    simple_env = {
        "OPENXMS_DATABASE_URL": "database_url", "OPENXMS_DATA_DIR": "data_dir",
        "OPENXMS_HOST": "host", "OPENXMS_PORT": "port", "OPENXMS_CLOCK": "clock",
        "OPENXMS_OAUTH_TOKEN_TTL": "oauth_token_ttl", "OPENXMS_MAX_BODY_BYTES": "max_body_bytes",
        "OPENXMS_SQLITE_SYNCHRONOUS": "sqlite_synchronous", "OPENXMS_ROLE": "role",
        "OPENXMS_NODE_ID": "node_id",
    }
    for var, key in simple_env.items():
        if env.get(var):
            values[key] = env[var]
    values.update({k: v for k, v in overrides.items() if v is not None})

    ids = [a.id for a in accounts]
    if len(ids) != len(set(ids)):
        raise ConfigError("an id is used by both a service plan and a project")
    try:
        settings = Settings(
            host=str(values.get("host", Settings.host)),
            port=int(values.get("port", Settings.port)),
            data_dir=Path(values.get("data_dir", Settings.data_dir)),
            database_url=values.get("database_url"),
            accounts=tuple(accounts),
            clock=str(values.get("clock", "system")),
            oauth_token_ttl=int(values.get("oauth_token_ttl", 3600)),
            max_body_bytes=int(values.get("max_body_bytes", Settings.max_body_bytes)),
            sqlite_synchronous=str(values.get("sqlite_synchronous", "NORMAL")).upper(),
            role=str(values.get("role", "all")),
            node_id=values.get("node_id"),
            simulator=dict(values.get("simulator", {})),
            dry_run_per_recipient_default=bool(values.get("dry_run_per_recipient_default", False)),
            callback_timeout=float(values.get("callback_timeout", 10.0)),
            unknown_after_ms=int(values.get("unknown_after_ms", Settings.unknown_after_ms)),
        )
    except (TypeError, ValueError) as e:
        raise ConfigError(f"bad setting: {e}") from None
    if settings.clock not in ("system", "manual"):
        raise ConfigError("clock must be 'system' or 'manual'")
    if settings.role not in ("all", "api", "engine"):
        raise ConfigError("role must be 'all', 'api' or 'engine'")
    if settings.sqlite_synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise ConfigError("sqlite_synchronous must be OFF, NORMAL, FULL or EXTRA")
    return settings
