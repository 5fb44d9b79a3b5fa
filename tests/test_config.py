"""Settings: environment variables exactly as documented, TOML, and one clear line for every
mistake (unknown key, bad value, duplicate id), naming the source and the key."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import msgspec
import pytest

from openxms import config
from openxms.connectors.outcomes import OutcomeRules
from openxms.connectors.smpp.config import SmppConfig

DOCS = Path(__file__).resolve().parents[1] / "docs"
PLAN = '[[service_plans]]\nid = "SP1"\ntoken = "t"\n'
SMPP = PLAN + 'connector = "smpp"\n[service_plans.smpp]\nhost = "h"\n'


def load_toml(tmp_path, text, env=None, **overrides):
    f = tmp_path / "openxms.toml"
    f.write_text(text)
    return config.load(f, env=env or {}, **overrides)


def error(tmp_path, text, env=None, **overrides) -> str:
    """The ConfigError message, with the file's directory cut off."""
    with pytest.raises(config.ConfigError) as e:
        load_toml(tmp_path, text, env, **overrides)
    msg = str(e.value)
    assert "\n" not in msg
    return msg.replace(f"{tmp_path}/", "")


# environment -----------------------------------------------------------------------------
def test_env_plans_projects_and_rates():
    s = config.load(
        None,
        env={
            "OPENXMS_SERVICE_PLANS": "SP1:TOKEN1,SP2:TOKEN2:50",
            "OPENXMS_PROJECTS": "PROJ1:KEYID1:SECRET1",
            "OPENXMS_DATABASE_URL": "postgresql://u@h/db",
        },
    )
    sp1, sp2, proj = s.account("SP1"), s.account("SP2"), s.account("PROJ1")
    assert (sp1.kind, sp1.token, sp1.rate) == ("plan", "TOKEN1", config.DEFAULT_RATE)
    assert (sp2.token, sp2.rate) == ("TOKEN2", 50.0)
    assert (proj.kind, proj.key_id, proj.key_secret) == ("project", "KEYID1", "SECRET1")
    assert s.database == "postgresql://u@h/db" and s.account("nope") is None


def test_default_database_is_sqlite_in_the_data_dir():
    s = config.load(None, env={}, data_dir="/tmp/x")
    assert s.database == "sqlite:////tmp/x/openxms.sqlite3" and s.accounts == ()
    assert config.load(None, env={"OPENXMS_DATABASE_URL": "/srv/x.sqlite3"}).database == "/srv/x.sqlite3"


def test_simple_env_vars_are_cast_and_override_the_file_and_flags_override_them(tmp_path):
    env = {
        "OPENXMS_HOST": "0.0.0.0",
        "OPENXMS_PORT": "9000",
        "OPENXMS_CLOCK": "manual",
        "OPENXMS_OAUTH_TOKEN_TTL": "60",
        "OPENXMS_MAX_BODY_BYTES": "1000",
        "OPENXMS_SQLITE_SYNCHRONOUS": "full",
        "OPENXMS_ROLE": "engine",
        "OPENXMS_NODE_ID": "n1",
        "OPENXMS_DATA_DIR": "/tmp/d",
        "OPENXMS_DATABASE_URL": "sqlite:///env.db",
    }
    s = load_toml(
        tmp_path, '[server]\nport = 1\ndatabase = "sqlite:///file.db"\nrole = "api"\n[oauth]\ntoken_ttl = 5\n', env
    )
    assert (
        s.host,
        s.port,
        s.clock,
        s.oauth_token_ttl,
        s.max_body_bytes,
        s.sqlite_synchronous,
        s.role,
        s.node_id,
        s.data_dir,
        s.database,
    ) == ("0.0.0.0", 9000, "manual", 60, 1000, "FULL", "engine", "n1", Path("/tmp/d"), "sqlite:///env.db")
    s = load_toml(tmp_path, "", env, port=9001, role="all", database_url="sqlite:///flag.db", host=None)
    assert (s.port, s.role, s.database, s.host) == (9001, "all", "sqlite:///flag.db", "0.0.0.0")
    assert config.load(None, env={"OPENXMS_PORT": ""}).port == 8080  # empty = not set, as before


def test_env_accounts_override_the_credentials_of_same_id_file_accounts(tmp_path):
    toml = (
        PLAN + 'rate = 5\ncallback_url = "https://example.com/dr"\nnumbers = ["+12025550100"]\n'
        '[[projects]]\nid = "P1"\nkey_id = "k"\nkey_secret = "s"\nrate = 3\n'
    )
    s = load_toml(tmp_path, toml, {"OPENXMS_SERVICE_PLANS": "SP1:new:7,SP9:x", "OPENXMS_PROJECTS": "P1:k2:s2"})
    sp1, p1 = s.account("SP1"), s.account("P1")
    assert (sp1.token, sp1.rate, sp1.callback_url, sp1.numbers) == (
        "new",
        7.0,
        "https://example.com/dr",
        ("12025550100",),
    )
    assert (p1.kind, p1.key_id, p1.key_secret, p1.rate) == ("project", "k2", "s2", 3.0)
    assert [a.id for a in s.accounts] == ["SP1", "P1", "SP9"]
    # no rate in the environment: the default rate, as documented ("optional third field")
    assert load_toml(tmp_path, toml, {"OPENXMS_SERVICE_PLANS": "SP1:new"}).account("SP1").rate == config.DEFAULT_RATE


@pytest.mark.parametrize(
    "env,msg",
    [
        ({"OPENXMS_SERVICE_PLANS": "SP1"}, "OPENXMS_SERVICE_PLANS: expected PLAN:TOKEN[:RATE], got 'SP1'"),
        ({"OPENXMS_SERVICE_PLANS": "SP1:T:fast"}, 'OPENXMS_SERVICE_PLANS: SP1: rate: expected a number, got "fast"'),
        ({"OPENXMS_SERVICE_PLANS": "SP1:T:-1"}, 'OPENXMS_SERVICE_PLANS: SP1: rate: expected a number >= 0.0, got "-1"'),
        ({"OPENXMS_SERVICE_PLANS": "SP1:a,SP1:b"}, 'OPENXMS_SERVICE_PLANS: duplicate id "SP1"'),
        (
            {"OPENXMS_SERVICE_PLANS": "X:a", "OPENXMS_PROJECTS": "X:k:s"},
            'OPENXMS_PROJECTS: duplicate id "X" (also in OPENXMS_SERVICE_PLANS)',
        ),
        ({"OPENXMS_PROJECTS": "P:K"}, "OPENXMS_PROJECTS: expected PROJECT:KEY_ID:KEY_SECRET, got 'P:K'"),
        ({"OPENXMS_CLOCK": "sundial"}, 'OPENXMS_CLOCK: expected "manual" or "system", got "sundial"'),
        ({"OPENXMS_PORT": "eighty"}, 'OPENXMS_PORT: expected an integer, got "eighty"'),
        ({"OPENXMS_PORT": "0"}, 'OPENXMS_PORT: expected an integer >= 1, got "0"'),
        ({"OPENXMS_OAUTH_TOKEN_TTL": "1.5"}, 'OPENXMS_OAUTH_TOKEN_TTL: expected an integer, got "1.5"'),
        (
            {"OPENXMS_SQLITE_SYNCHRONOUS": "sometimes"},
            'OPENXMS_SQLITE_SYNCHRONOUS: expected "EXTRA", "FULL", "NORMAL" or "OFF", got "SOMETIMES"',
        ),
    ],
)
def test_bad_env_names_the_variable(env, msg):
    with pytest.raises(config.ConfigError) as e:
        config.load(None, env=env)
    assert str(e.value) == msg


def test_bad_flags():
    with pytest.raises(config.ConfigError, match=r"^command line: port: expected an integer <= 65535, got 70000$"):
        config.load(None, env={}, port=70000)
    with pytest.raises(config.ConfigError, match="unknown setting 'colour'"):
        config.load(None, env={}, colour="red")


# the file --------------------------------------------------------------------------------
FULL = """
[server]
host = "0.0.0.0"
port = 9000
database = "postgresql://openxms@db/openxms"
data_dir = "/var/lib/openxms"
clock = "manual"
max_body_bytes = 1000
sqlite_synchronous = "FULL"
role = "engine"
node_id = "node-1"
reuse_port = true
dry_run_per_recipient_default = true
callback_timeout = 2.5
unknown_after_ms = 60000
max_batch_recipients = 5000
allowed_hosts = ["sim.example"]
control_token = "ctl"
insecure_control = true
max_inflight_body_bytes = 1000000
cors_origins = ["https://app.example"]

[oauth]
token_ttl = 60

[callbacks]
allow = ["10.1.2.3/32"]
deny = ["10.0.0.0/8", "169.254.0.0/16"]

[retention]
days = 30.0
interval = 60.0
max_messages = 1000000

[[service_plans]]
id = "SP1"
token = "TOKEN1"
rate = 50.0
callback_url = "https://example.com/dr"
mo_callback_url = "https://example.com/mo"
webhook_secret = "s3cret"
numbers = ["12025550100", "12025550101"]
max_parts = 6
api_rate = 25.0
connector = "smpp"

[service_plans.smpp]
host = "smsc.example"
port = 2776
system_id = "id"
password = "pw"
system_type = "t"
bind_mode = "transmitter_receiver"
binds = 2
window = 5
throughput = 10.0
enquire_link_interval = 20.0
response_timeout = 5.0
reconnect_min = 0.5
reconnect_max = 10.0
tls = true
tls_verify = false
source_ton = 5
source_npi = 0
dest_ton = 2
dest_npi = 9
concat = "sar"
registered_delivery = 0
service_type = "CMT"
receipt_wait = 3600.0

[[projects]]
id = "PROJ1"
key_id = "KEYID1"
key_secret = "SECRET1"
rate = 0.0
numbers = ["447700900000"]
connector = "simulator"

[[conversation_apps]]
id = "01K0APP0000000000000000001"
project = "PROJ1"
plan = "SP1"
display_name = "Shop"
processing_mode = "CONVERSATION"

[simulator]
seed = 42
default_profile = "mostly_ok"
default_rules = false
profiles = { mostly_ok = { delay_ms = [100, 3000], failure_probability = 0.05 } }
rules = [ { match = "4670*", profile = "slow" }, { match = "*99", status = "Failed", code = 60, delay_ms = 500 } ]
"""


def test_a_full_file_round_trips(tmp_path):
    s = load_toml(tmp_path, FULL)

    # The settings, written back in the file's shape, are the file: every key was read, none lost.
    def plain(x):  # tuples become lists, paths strings, like a parsed file
        return msgspec.json.decode(msgspec.json.encode(x, enc_hook=str))

    server = {
        k: v
        for k, v in plain(s).items()
        if k not in ("accounts", "oauth", "callbacks", "retention", "simulator", "conversation_apps")
    }
    server["database"] = server.pop("database_url")
    accounts = [
        {k: v for k, v in plain(a).items() if k != "kind" and v is not None} for a in s.accounts
    ]  # TOML has no null: an unset key is absent
    again = {
        "server": server,
        "oauth": plain(s.oauth),
        "callbacks": plain(s.callbacks),
        "retention": plain(s.retention),
        "simulator": s.simulator,
        "service_plans": accounts[:1],
        "projects": accounts[1:],
        "conversation_apps": plain(s.conversation_apps),
    }
    assert again == tomllib.loads(FULL)
    assert (s.oauth_token_ttl, s.database) == (60, "postgresql://openxms@db/openxms")
    assert isinstance(s.account("SP1").smpp, SmppConfig) and s.account("PROJ1").kind == "project"
    rules = OutcomeRules.from_dict(s.simulator)
    assert rules.decide("12017777799", 1).code == 60
    assert 2000 <= rules.decide("46701234567", 1).delay_ms <= 5000


def test_defaults_without_a_file():
    s = config.load(None, env={})
    assert s == config.Settings()
    assert (s.host, s.port, s.oauth_token_ttl, s.role, s.sqlite_synchronous) == (
        "127.0.0.1",
        8080,
        3600,
        "all",
        "NORMAL",
    )


def test_lower_case_sqlite_synchronous_and_the_database_url_spelling(tmp_path):
    s = load_toml(tmp_path, '[server]\nsqlite_synchronous = "extra"\ndatabase_url = "sqlite:///x.db"\n')
    assert (s.sqlite_synchronous, s.database) == ("EXTRA", "sqlite:///x.db")


@pytest.mark.parametrize(
    "toml,msg",
    [
        # unknown sections and keys, in every section
        ("[sever]\nport = 1\n", "unknown section [sever]"),
        ("[[servers]]\nport = 1\n", "unknown section [[servers]]"),
        ("port = 1\n", "unknown key 'port'"),
        ("[server]\nprot = 80\n", "unknown key 'server.prot'"),
        ("[oauth]\nttl = 5\n", "unknown key 'oauth.ttl'"),
        ("[simulator]\nbogus = 1\n", "unknown key 'simulator.bogus'"),
        ('[simulator.profiles.p]\ncolour = "red"\n', "unknown key 'simulator.profiles.p.colour'"),
        ('[[simulator.rules]]\nmatch = "*1"\ncolour = "red"\n', "unknown key 'simulator.rules[0].colour'"),
        (PLAN + 'colour = "red"\n', "unknown key 'service_plans[0].colour'"),
        (PLAN + 'kind = "project"\n', "unknown key 'service_plans[0].kind'"),
        (
            '[[projects]]\nid = "P"\nkey_id = "k"\nkey_secret = "s"\ntoken = "t"\ncolor = 1\n',
            "unknown key 'projects[0].color'",
        ),
        (SMPP + "windo = 5\n", "unknown key 'service_plans[0].smpp.windo'"),
        # bad values, named by their key
        ('[server]\nport = "eighty"\n', 'server.port: expected an integer, got "eighty"'),
        ("[server]\nport = 70000\n", "server.port: expected an integer <= 65535, got 70000"),
        ('[server]\nhost = ""\n', 'server.host: expected a non-empty string, got ""'),
        ('[server]\nclock = "sundial"\n', 'server.clock: expected "manual" or "system", got "sundial"'),
        ('[server]\nrole = "boss"\n', 'server.role: expected "all", "api" or "engine", got "boss"'),
        ("[server]\nsqlite_synchronous = 1\n", "server.sqlite_synchronous: expected a string, got 1"),
        ("[server]\ndatabase = 5\n", "server.database: expected a string, got 5"),
        (
            '[server]\ndatabase = "a"\ndatabase_url = "b"\n',
            "server.database and server.database_url are the same setting; give one",
        ),
        (
            '[server]\ndry_run_per_recipient_default = "yes"\n',
            'server.dry_run_per_recipient_default: expected true or false, got "yes"',
        ),
        ("[server]\ncallback_timeout = 0\n", "server.callback_timeout: expected a number > 0.0, got 0"),
        ("[server]\nunknown_after_ms = -1\n", "server.unknown_after_ms: expected an integer >= 0, got -1"),
        ("server = 5\n", "server: expected a table, got 5"),
        ("[oauth]\ntoken_ttl = 0\n", "oauth.token_ttl: expected an integer >= 1, got 0"),
        ('service_plans = { id = "SP1" }\n', "service_plans: expected an array, got a table"),
        (PLAN + "rate = -1\n", "service_plans[0].rate: expected a number >= 0.0, got -1"),
        (PLAN + 'rate = "fast"\n', 'service_plans[0].rate: expected a number, got "fast"'),
        (PLAN + "max_parts = 0\n", "service_plans[0].max_parts: expected an integer >= 1, got 0"),
        (PLAN + "numbers = [12025550100]\n", "service_plans[0].numbers[0]: expected a string, got 12025550100"),
        (
            PLAN + 'connector = "carrier-pigeon"\n',
            'service_plans[0].connector: expected "simulator" or "smpp", got "carrier-pigeon"',
        ),
        ('[[service_plans]]\nid = "SP1"\n', "service_plans[0]: a service plan needs a token"),
        ('[[service_plans]]\ntoken = "t"\n', "missing key 'service_plans[0].id'"),
        ('[[projects]]\nid = "P"\nkey_id = "k"\n', "projects[0]: a project needs key_id and key_secret"),
        (
            PLAN + 'connector = "smpp"\n',
            'service_plans[0]: connector = "smpp" needs an smpp table with at least host (docs/smpp.md)',
        ),
        # nested: an smpp table, simulator rules
        (PLAN + 'connector = "smpp"\n[service_plans.smpp]\nport = 1\n', "missing key 'service_plans[0].smpp.host'"),
        (
            SMPP + 'bind_mode = "rx"\n',
            'service_plans[0].smpp.bind_mode: expected "transceiver" or "transmitter_receiver", got "rx"',
        ),
        (SMPP + "window = 0\n", "service_plans[0].smpp.window: expected an integer >= 1, got 0"),
        (SMPP + 'port = "x"\n', 'service_plans[0].smpp.port: expected an integer, got "x"'),
        (SMPP + "dest_ton = 256\n", "service_plans[0].smpp.dest_ton: expected an integer <= 255, got 256"),
        (
            '[[service_plans]]\nid = "SP2"\ntoken = "t"\n' + SMPP + 'tls = "yes"\n',
            'service_plans[1].smpp.tls: expected true or false, got "yes"',
        ),
        ('[simulator]\nseed = "x"\n', "simulator.seed: must be an integer, not 'x'"),
        ('[simulator]\ndefault_profile = "nope"\n', "simulator.default_profile: unknown default profile 'nope'"),
        (
            "[simulator.profiles.p]\ndelay_ms = [5, 1]\n",
            "simulator.profiles.p.delay_ms: must be [min, max] with 0 <= min <= max",
        ),
        (
            '[[simulator.rules]]\nmatch = "*1"\n[[simulator.rules]]\nmatch = "*2"\nstatus = "Happy"\n',
            "simulator.rules[1].status: unknown status 'Happy'; "
            "one of Delivered, Failed, Expired, Rejected, Deleted, Unknown",
        ),
        ("simulator = 5\n", "simulator: expected a table, got 5"),
        # duplicate ids
        (PLAN + PLAN, 'duplicate id "SP1" (service_plans[0] and service_plans[1])'),
        (
            PLAN + '[[projects]]\nid = "SP1"\nkey_id = "k"\nkey_secret = "s"\n',
            'duplicate id "SP1" (service_plans[0] and projects[0])',
        ),
    ],
)
def test_a_bad_file_is_one_line_naming_the_file_and_the_key(tmp_path, toml, msg):
    assert error(tmp_path, toml) == f"openxms.toml: {msg}"


def test_a_file_that_is_not_toml(tmp_path):
    assert re.fullmatch(r"openxms\.toml: not valid TOML: .*line 1.*", error(tmp_path, "not toml at all ["))
    with pytest.raises(config.ConfigError, match="cannot read"):
        config.load(tmp_path / "missing.toml", env={})


def test_a_bad_env_value_is_blamed_on_the_variable_not_the_file(tmp_path):
    assert (
        error(tmp_path, "[server]\nport = 80\n", {"OPENXMS_PORT": "x"}) == 'OPENXMS_PORT: expected an integer, got "x"'
    )


def test_the_documented_examples_load(tmp_path):
    """docs/configuration.md and docs/smpp.md: every example is a valid file, and every
    setting is documented."""
    text = (DOCS / "configuration.md").read_text()
    example = re.search(r"```toml\n(.*?)```", text, re.S)[1]
    s = load_toml(tmp_path, example)
    assert s.account("SP1").max_parts == 6 and s.account("PROJ1").kind == "project"
    doc = tomllib.loads(example)
    assert set(doc["server"]) == {
        "database" if f.name == "database_url" else f.name for f in msgspec.structs.fields(config.Server)
    }
    assert set(doc["oauth"]) == {f.name for f in msgspec.structs.fields(config.OAuth)}
    assert set(doc["service_plans"][0]) | set(doc["projects"][0]) | {"kind", "smpp"} == {
        f.name for f in msgspec.structs.fields(config.Account)
    }
    assert set(doc["conversation_apps"][0]) == {f.name for f in msgspec.structs.fields(config.ConversationApp)}
    assert s.conversation_apps[0].plan == "SP1"
    smpp = re.search(r"```toml\n(.*?)```", (DOCS / "smpp.md").read_text(), re.S)[1]
    documented = set(re.findall(r"^(\w+) = ", smpp.split("[service_plans.smpp]")[1], re.M))
    assert documented == {f.name for f in msgspec.structs.fields(SmppConfig)}
    assert load_toml(tmp_path, smpp).account("SP1").smpp.host == "smsc.carrier.example"


def test_smpp_config_built_in_code_is_checked_too():
    assert SmppConfig("h").window == 10
    for bad in (
        {"host": ""},
        {"host": "h", "bind_mode": "rx"},
        {"host": "h", "concat": "udh7"},
        {"host": "h", "window": 0},
        {"host": "h", "receipt_wait": 0},
    ):
        with pytest.raises(ValueError):
            SmppConfig(**bad)


@pytest.mark.parametrize(
    "toml,msg",
    [
        ("[simulator]\nbogus = 1\n", "unknown key 'simulator.bogus'"),
        ('[server]\nport = "eighty"\n', 'server.port: expected an integer, got "eighty"'),
    ],
)
def test_serve_prints_one_error_line_and_no_traceback(tmp_path, toml, msg):
    bad = tmp_path / "bad.toml"
    bad.write_text(toml)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    p = subprocess.run(
        [sys.executable, "-m", "openxms", "serve", "--config", str(bad), "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert p.returncode != 0
    assert p.stderr.strip().splitlines() == [f"Error: {bad}: {msg}"]
    assert "Traceback" not in p.stdout + p.stderr
