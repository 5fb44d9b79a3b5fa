"""What `openxms serve` prints about what it loaded: every plan, project and app, no secret."""

from __future__ import annotations

from openxms import config
from openxms.cli import loaded_accounts

TOML = """
[[service_plans]]
id = "SP9"
token = "tok-0123456789abcdef"
rate = 0
connector = "smpp"
smpp = { host = "smsc.example", port = 2776, binds = 2 }

[[projects]]
id = "PROJ9"
key_id = "KEY9"
key_secret = "sec-0123456789abcdef"

[[conversation_apps]]
id = "01K0APP0000000000000000009"
project = "PROJ9"
plan = "SP9"
"""


def test_start_up_lists_what_it_loaded_without_secrets(tmp_path):
    f = tmp_path / "openxms.toml"
    f.write_text(TOML)
    s = config.load(f, env={"OPENXMS_SERVICE_PLANS": "SP1:TOKEN1:50"})
    lines = loaded_accounts(s)
    text = "\n".join(lines)
    assert "service plan SP9: token ...cdef, unlimited, via smpp smsc.example:2776 (2 binds)" in lines
    assert "service plan SP1: token ***, 50 msg/s, via simulator" in lines
    assert any(line.startswith("project PROJ9: key KEY9, secret ...cdef") for line in lines)
    assert "conversation app 01K0APP0000000000000000009: project PROJ9, plan SP9" in lines
    for secret in ("tok-0123456789abcdef", "sec-0123456789abcdef", "TOKEN1"):
        assert secret not in text


def test_serve_help_lists_every_environment_variable_the_settings_read():
    import re
    from pathlib import Path

    from click.testing import CliRunner

    from openxms.cli import main

    source = Path(config.__file__).read_text()
    read = set(re.findall(r'"(OPENXMS_[A-Z_]+)"', source))
    out = CliRunner().invoke(main, ["serve", "--help"]).output
    assert read and all(var in out for var in read), read - set(re.findall(r"OPENXMS_[A-Z_]+", out))
