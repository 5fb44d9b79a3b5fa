"""Settings: environment variables exactly as documented, TOML, and the errors for typos."""

import pytest

from openxms import config
from openxms.connectors.outcomes import OutcomeRules


def test_env_plans_projects_and_rates():
    s = config.load(None, env={"OPENXMS_SERVICE_PLANS": "SP1:TOKEN1,SP2:TOKEN2:50",
                               "OPENXMS_PROJECTS": "PROJ1:KEYID1:SECRET1",
                               "OPENXMS_DATABASE_URL": "postgresql://u@h/db"})
    sp1, sp2, proj = s.account("SP1"), s.account("SP2"), s.account("PROJ1")
    assert (sp1.token, sp1.rate) == ("TOKEN1", config.DEFAULT_RATE)
    assert (sp2.token, sp2.rate) == ("TOKEN2", 50.0)
    assert (proj.kind, proj.key_id, proj.key_secret) == ("project", "KEYID1", "SECRET1")
    assert s.database == "postgresql://u@h/db"


def test_default_database_is_sqlite_in_the_data_dir():
    s = config.load(None, env={}, data_dir="/tmp/x")
    assert s.database == "sqlite:////tmp/x/openxms.sqlite3" and s.accounts == ()


@pytest.mark.parametrize("env", [{"OPENXMS_SERVICE_PLANS": "SP1"}, {"OPENXMS_SERVICE_PLANS": "SP1:T:fast"},
                                 {"OPENXMS_SERVICE_PLANS": "SP1:T:-1"}, {"OPENXMS_PROJECTS": "P:K"},
                                 {"OPENXMS_CLOCK": "sundial"}])
def test_bad_env(env):
    with pytest.raises(config.ConfigError):
        config.load(None, env=env)


def test_toml_with_simulator_rules_and_env_override(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text("""
[server]
port = 9000
clock = "manual"
[oauth]
token_ttl = 60
[[service_plans]]
id = "SP1"
token = "old"
rate = 5
callback_url = "https://example.com/dr"
numbers = ["+12025550100"]
[simulator]
seed = 42
default_profile = "mostly_ok"
[simulator.profiles.mostly_ok]
delay_ms = [100, 3000]
failure_probability = 0.05
failure_status = "Failed"
failure_code = 153
[[simulator.rules]]
match = "4670*"
profile = "slow"
[[simulator.rules]]
match = "*99"
status = "Failed"
code = 60
delay_ms = 500
""")
    s = config.load(f, env={"OPENXMS_SERVICE_PLANS": "SP1:new:7"}, port=9001)
    a = s.account("SP1")
    assert (a.token, a.rate, a.callback_url, a.numbers) == ("new", 7.0, "https://example.com/dr", ("12025550100",))
    assert (s.port, s.clock, s.oauth_token_ttl) == (9001, "manual", 60)
    rules = OutcomeRules.from_dict(s.simulator)
    assert rules.decide("12017777799", 1).code == 60
    assert 2000 <= rules.decide("46701234567", 1).delay_ms <= 5000


@pytest.mark.parametrize("toml", [
    '[[service_plans]]\nid = "SP1"\ntoken = "t"\ncolour = "red"\n',
    '[[service_plans]]\nid = "SP1"\n',
    '[[projects]]\nid = "P"\nkey_id = "k"\n',
    '[[service_plans]]\nid = "SP1"\ntoken = "t"\nconnector = "carrier-pigeon"\n',
    '[[service_plans]]\nid = "SP1"\ntoken = "t"\nconnector = "smpp"\n[service_plans.smpp]\nport = 1\n',
    '[[service_plans]]\nid = "SP1"\ntoken = "t"\nconnector = "smpp"\n[service_plans.smpp]\nhost = "h"\nwindo = 5\n',
    'not toml at all [',
])
def test_bad_toml(tmp_path, toml):
    f = tmp_path / "c.toml"
    f.write_text(toml)
    with pytest.raises(config.ConfigError):
        config.load(f, env={})
