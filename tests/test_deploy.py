"""The deployment files (Dockerfile, compose.yaml, the systemd unit in docs/deploy.md) agree
with the code: every setting they name exists, the paths they probe are served, the image
runs as a non-root user. Building the image needs a registry the test machines do not reach."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from starlette.testclient import TestClient

from openxms import config
from openxms.cli import _check_exposure

from .http.conftest import make_api

ROOT = Path(__file__).resolve().parent.parent
KNOWN = set(config._ENV) | set(config.LIST_VARIABLES)


def dockerfile() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    return [
        (m.group(1).upper(), m.group(2))
        for m in (re.match(r"(\w+)\s+(.*)", line) for line in text.splitlines() if line and not line.startswith("#"))
        if m
    ]


def docker_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for op, arg in dockerfile():
        if op == "ENV":
            env.update(dict(kv.split("=", 1) for kv in arg.split()))
    return {k: v for k, v in env.items() if k.startswith("OPENXMS_")}


def test_dockerfile_copies_what_exists_runs_non_root_and_probes_readyz(tmp_path):
    ops = dockerfile()
    for op, arg in ops:
        if op == "COPY":
            *sources, _ = arg.split()
            assert all((ROOT / s).exists() for s in sources), arg
    users = [arg for op, arg in ops if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    health = next(arg for op, arg in ops if op == "HEALTHCHECK")
    path = re.search(r"http://127\.0\.0\.1:(\d+)(/\w+)", health)
    assert path and path.group(1) == docker_env()["OPENXMS_PORT"]
    app, _ = make_api(f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert c.get(path.group(2)).status_code == 200
    assert next(arg for op, arg in ops if op == "CMD") == '["openxms", "serve"]'


def test_the_image_settings_load_and_need_a_control_token():
    env = docker_env()
    assert set(env) <= KNOWN
    s = config.load(None, env=env)
    assert (s.host, s.port, str(s.data_dir)) == ("0.0.0.0", 8080, "/data")
    with pytest.raises(config.ConfigError, match="OPENXMS_CONTROL_TOKEN"):
        _check_exposure(s)
    _check_exposure(config.load(None, env={**env, "OPENXMS_CONTROL_TOKEN": "t"}))


def test_compose_nodes_share_postgresql_with_their_own_ids():
    doc = yaml.safe_load((ROOT / "compose.yaml").read_text())
    nodes = {name: svc for name, svc in doc["services"].items() if svc.get("build") == "."}
    assert len(nodes) == 2
    ids = set()
    for svc in nodes.values():
        env = svc["environment"]
        assert set(env) <= KNOWN, set(env) - KNOWN
        s = config.load(None, env={**docker_env(), **env})
        assert s.database.startswith("postgresql://") and s.control_token
        ids.add(s.node_id)
        assert all(p.startswith("127.0.0.1:") for p in svc["ports"])  # loopback unless you change it
    assert len(ids) == 2


def test_the_systemd_unit_names_real_settings_and_flags():
    text = (ROOT / "docs" / "deploy.md").read_text()
    unit = re.search(r"```ini\n(.*?)```", text, re.S).group(1)
    env = dict(line.split("=", 2)[1:] for line in unit.splitlines() if line.startswith("Environment="))
    assert set(env) <= KNOWN
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    args = exec_start.split()[1:]
    assert args[:1] == ["serve"]
    from click.testing import CliRunner

    from openxms.cli import main

    help_text = CliRunner().invoke(main, ["serve", "--help"]).output
    assert all(a in help_text for a in args[1:] if a.startswith("--"))
