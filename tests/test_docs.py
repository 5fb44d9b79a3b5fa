"""Every fenced code block of README.md and docs/*.md is run or checked by a test, so the docs
cannot drift from the code: commands are executed against a started server, configuration
examples are loaded, printed output is regenerated and compared, benchmark commands are parsed
by their scripts' own argument parsers (running them is what docs/benchmarks.md is for).

`CHECKS` names, for each block (file, index among its fenced blocks), the test that covers it;
a new block without an entry fails `test_every_block_is_checked`, an entry without its block
too. Each check below says which blocks it covers.
"""

from __future__ import annotations

import importlib
import os
import re
import shlex
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
import yaml

from openxms import config, metrics
from openxms.cli import loaded_accounts

from ._ports import free_port, wait_healthy
from .test_cli_errors import one_error
from .test_cli_startup import TOML as STARTUP_TOML
from .test_deploy import KNOWN, docker_env

ROOT = Path(__file__).resolve().parent.parent
OPENXMS = Path(sys.executable).parent / "openxms"  # the console script the README's first command runs
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def doc_files() -> list[str]:
    return ["README.md", *sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md"))]


def blocks(name: str) -> list[tuple[str, str]]:
    return [(m[1], m[2]) for m in FENCE.finditer((ROOT / name).read_text())]


def block(name: str, index: int) -> str:
    return blocks(name)[index][1]


CHECKS: dict[tuple[str, int], str] = {
    ("README.md", 0): "test_docs::test_the_readme_commands_are_what_ci_runs",
    ("README.md", 1): "test_docs::test_the_readme_commands_are_what_ci_runs",
    ("README.md", 2): "e2e.test_readme::test_the_readme_examples_run_as_pasted",
    ("README.md", 3): "e2e.test_readme::test_the_readme_examples_run_as_pasted",
    ("README.md", 4): "e2e.test_readme::test_the_readme_examples_run_as_pasted",
    ("README.md", 5): "e2e.test_readme::test_the_readme_examples_run_as_pasted",
    ("README.md", 6): "test_docs::test_the_readme_provisioning_example",
    ("docs/architecture.md", 0): "test_docs::test_the_architecture_tree_names_what_exists",
    ("docs/benchmarks.md", 0): "test_docs::test_benchmark_commands_parse",
    ("docs/benchmarks.md", 1): "test_docs::test_benchmark_commands_parse",
    ("docs/benchmarks.md", 2): "test_docs::test_benchmark_commands_parse",
    ("docs/benchmarks.md", 3): "test_docs::test_benchmark_commands_parse",
    ("docs/benchmarks.md", 4): "test_docs::test_benchmark_commands_parse",
    ("docs/benchmarks.md", 5): "test_docs::test_benchmark_commands_parse",
    ("docs/benchmarks.md", 6): "test_docs::test_benchmark_commands_parse",
    ("docs/benchmarks.md", 7): "test_docs::test_benchmark_commands_parse",
    ("docs/benchmarks.md", 8): "test_docs::test_benchmark_commands_parse",
    ("docs/benchmarks.md", 9): "test_docs::test_benchmark_commands_parse",
    ("docs/benchmarks.md", 10): "test_docs::test_benchmark_commands_parse",
    ("docs/benchmarks.md", 11): "test_docs::test_benchmark_commands_parse",
    ("docs/benchmarks.md", 12): "test_docs::test_benchmark_commands_parse",
    ("docs/benchmarks.md", 13): "test_docs::test_benchmark_commands_parse",
    ("docs/configuration.md", 0): "test_docs::test_the_start_up_listing_is_what_serve_prints",
    ("docs/configuration.md", 1): "test_docs::test_the_command_synopsis_matches_help",
    ("docs/configuration.md", 2): "test_config::test_the_documented_examples_load",
    ("docs/configuration.md", 3): "test_docs::test_documented_errors_are_what_serve_prints",
    ("docs/configuration.md", 4): "test_docs::test_documented_errors_are_what_serve_prints",
    ("docs/conversation.md", 0): "test_docs::test_the_conversation_sdk_example_runs",
    ("docs/conversation.md", 1): "test_docs::test_the_conversation_sdk_example_runs",
    ("docs/deploy.md", 0): "test_docs::test_the_deploy_examples_run_without_the_container",
    ("docs/deploy.md", 1): "test_docs::test_the_deploy_examples_run_without_the_container",
    ("docs/deploy.md", 2): "test_deploy::test_the_systemd_unit_names_real_settings_and_flags",
    ("docs/operations.md", 0): "test_docs::test_the_metric_queries_name_served_metrics",
    ("docs/reliability.md", 0): "test_docs::test_benchmark_commands_parse",
    ("docs/reliability.md", 1): "test_docs::test_benchmark_commands_parse",
    ("docs/simulator.md", 0): "test_docs::test_the_simulator_rules_example_loads",
    ("docs/smpp.md", 0): "test_config::test_the_documented_examples_load",
    ("docs/smpp.md", 1): "test_docs::test_the_command_synopsis_matches_help",
}


def test_every_block_is_checked():
    found = {(name, i) for name in doc_files() for i in range(len(blocks(name)))}
    assert found - set(CHECKS) == set(), "a new code block: run or check it here"
    assert set(CHECKS) - found == set(), "a block went: drop its entry"
    for target in set(CHECKS.values()):
        module, test = target.split("::")
        assert callable(getattr(importlib.import_module(f"tests.{module}"), test, None)), target


def run_shell(script: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-ec", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENXMS_")}
    return {**env, **extra}


class Served:
    """A shell block that ends in `.venv/bin/openxms serve ...`, run by bash as written, with the
    console script of this environment and a free port (the docs say 8080: it may be taken)."""

    def __init__(self, script: str, cwd: Path, env: dict[str, str], port_in_docs: str = "8080"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.port_in_docs = port_in_docs
        script = script.replace(".venv/bin/openxms serve", f"exec {OPENXMS} serve --port {self.port}")
        self.log = cwd / "server.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(["bash", "-ec", script], cwd=cwd, env=env, stdout=log, stderr=log)
        try:
            wait_healthy(self.url)
        except BaseException:
            self.stop()
            raise
        assert self.proc.poll() is None, self.log.read_text()

    def here(self, text: str) -> str:
        """A documented snippet pointed at this server instead of the documented port."""
        return text.replace(f"127.0.0.1:{self.port_in_docs}", f"127.0.0.1:{self.port}")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(15)


# --- README ----------------------------------------------------------------------------------


def test_the_readme_commands_are_what_ci_runs():
    """README blocks 0 and 1. The test command is `.ci/run`'s last line, as is (CI runs it on
    every change); the first command installs the same way without the test extra, then runs
    the console script, which tests/e2e/test_readme.py starts as the server it pastes into."""
    (lang0, run), (lang1, test) = blocks("README.md")[:2]
    assert (lang0, lang1) == ("sh", "sh")
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == test.strip()
    install, _, pytest_cmd = test.strip().rpartition(" && ")
    assert pytest_cmd == ".venv/bin/python -m pytest"
    assert run.strip() == install.replace(" -e '.[test]'", " -e .") + " && .venv/bin/openxms serve"
    assert OPENXMS.exists(), "the README runs .venv/bin/openxms: the console script must be installed"


def test_the_readme_provisioning_example(tmp_path):
    """README block 6: the variables as written (but for the database, which names a server
    that does not exist) are what `openxms plans` then lists, and the `serve` synopsis names
    real options."""
    text = block("README.md", 6)
    lines = [line.split("#")[0].strip() for line in text.splitlines()]
    assignments = [line for line in lines if re.match(r"OPENXMS_\w+=", line)]
    assert {a.split("=")[0] for a in assignments} <= KNOWN
    runnable = "\n".join(f"export {a}" for a in assignments if not a.startswith("OPENXMS_DATABASE_URL"))
    r = run_shell(f"{runnable}\n{OPENXMS} plans", tmp_path, clean_env())
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "service plan SP1: token ***, 100 msg/s, via simulator",
        "service plan SP2: token ***, 50 msg/s, via simulator",
        "project PROJ1: key KEYID1, secret ***, 100 msg/s, via simulator",
    ]
    serve = next(line for line in lines if line.startswith("openxms serve"))
    assert set(flags(serve)) <= set(help_flags(["serve"]))


# --- architecture ----------------------------------------------------------------------------


def test_the_architecture_tree_names_what_exists():
    """docs/architecture.md block 0: every folder and every `name.py` in the tree exists where
    the tree puts it (files anywhere below their folder)."""
    src = ROOT / "src" / "openxms"
    here = src
    missing = []
    for line in block("docs/architecture.md", 0).splitlines():
        head = line.split()[0] if line.split() else ""
        if not line.startswith(" "):  # src/openxms/, tests/, bench/
            here = ROOT / head.rstrip("/")
            missing += [] if here.is_dir() else [head]
            continue
        if line.startswith("  ") and not line.startswith("   ") and head.endswith("/"):
            here = src / head.rstrip("/")
            missing += [] if here.is_dir() else [head]
        for name in re.findall(r"\b(\w+\.py)\b", line):
            if not any(here.rglob(name)):
                missing.append(f"{here.relative_to(ROOT)}/.../{name}")
        for sub in re.findall(r"(?<=[\s(])(\w+)/(?=[\s)])", line.split(None, 1)[-1] if head.endswith("/") else ""):
            if not (here / sub).is_dir() and not (src / sub).is_dir():  # "validate with sms/"
                missing.append(f"{here.relative_to(ROOT)}/{sub}/")
    assert missing == []


# --- benchmarks and fault runs ---------------------------------------------------------------

PARSE_ONLY = textwrap.dedent(
    """
    import argparse, runpy, sys
    from pathlib import Path

    parse = argparse.ArgumentParser.parse_args

    def parse_only(self, args=None, namespace=None):
        print(parse(self, args, namespace))
        raise SystemExit(0)

    argparse.ArgumentParser.parse_args = parse_only
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    sys.path.insert(0, str(Path(script).resolve().parent))
    runpy.run_path(script, run_name="__main__")
    """
)


def bench_commands(name: str, index: int) -> list[tuple[Path, list[str]]]:
    """(working directory, argv) of each `python script ...` line of a shell block, following
    its `cd` and `VAR=value` lines; anything else must be an install or a checkout step."""
    cwd, variables, commands = ROOT, {}, []
    for raw in block(name, index).splitlines():
        line = raw.split("  #")[0].strip()
        if line.startswith("("):  # a subshell: its `cd` stays inside
            assert "pip install" in line or "venv" in line, f"{name} block {index}: what runs {line!r}?"
            continue
        if line.startswith("cd ") and " && " in line:
            cwd = (cwd / line[3 : line.index(" && ")]).resolve()
            line = line.split(" && ", 1)[1]
        if not line:
            continue
        if m := re.fullmatch(r"(\w+)=(\S+)", line):
            variables[m[1]] = m[2]
            continue
        words = [re.sub(r"\$(\w+)", lambda v: variables[v[1]], w) for w in shlex.split(line)]
        if words[0] == "cd":
            cwd = (cwd / words[1]).resolve()
        elif words[0].endswith("/bin/python") and words[1].endswith(".py"):
            commands.append((cwd, words))
        elif words[0] == "git" and words[1:3] == ["worktree", "add"]:
            commit = words[-1]
            r = subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=ROOT, capture_output=True)
            assert r.returncode == 0, f"{name}: commit {commit} is not in this repository"
        else:
            assert "pip install" in line or "venv" in line, f"{name} block {index}: what runs {line!r}?"
    return commands


BENCH_BLOCKS = [(name, i) for (name, i), t in CHECKS.items() if t.endswith("test_benchmark_commands_parse")]


@pytest.mark.parametrize("name,index", BENCH_BLOCKS)
def test_benchmark_commands_parse(tmp_path, name, index):
    """docs/benchmarks.md and docs/reliability.md: each command names a script that exists, run
    with this checkout's venv, and its options are accepted by the script's own parser."""
    runner = tmp_path / "parse_only.py"
    runner.write_text(PARSE_ONLY)
    commands = bench_commands(name, index)
    assert commands
    for cwd, (python, script, *args) in commands:
        here = Path(os.path.normpath(cwd / python))
        # this checkout's venv, or the one a `git worktree add` block made for the tree before
        assert here == ROOT / ".venv" / "bin" / "python" or here.parts[1:3] == ("tmp", "openxms-before"), python
        script_path = cwd / script
        assert script_path.exists(), script_path
        r = subprocess.run(
            [sys.executable, str(runner), str(script_path), *args], cwd=cwd, capture_output=True, text=True, timeout=60
        )
        assert r.returncode == 0 and r.stdout.startswith("Namespace("), f"{script} {args}: {r.stderr[-1500:]}"


# --- configuration.md ------------------------------------------------------------------------


def test_the_start_up_listing_is_what_serve_prints(tmp_path):
    """docs/configuration.md block 0: the lines serve prints for tests/test_cli_startup.py's file."""
    f = tmp_path / "openxms.toml"
    f.write_text(STARTUP_TOML)
    assert loaded_accounts(config.load(f, env={})) == block("docs/configuration.md", 0).splitlines()


def flags(text: str) -> list[str]:
    return re.findall(r"(?<![\w-])--[a-z][a-z-]*", text)


def help_flags(command: list[str]) -> list[str]:
    r = subprocess.run([str(OPENXMS), *command, "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    options = r.stdout.split("Options:", 1)[1]
    found = []
    for flag in flags(options):
        if flag == "--help":
            continue
        # click's on/off pairs (`--wait / --no-wait`): either spelling documents the pair
        found.append(flag.replace("--no-", "--") if flag.startswith("--no-") else flag)
    return sorted(set(found))


def documented(text: str, command: str) -> set[str]:
    """The options of `openxms COMMAND` in a synopsis (its line and the indented ones after)."""
    out, inside = set(), False
    for line in text.splitlines():
        if line.startswith("openxms "):
            inside = line.split()[1:3] == command.split() or line.split()[1] == command
        if inside:
            out |= {f.replace("--no-", "--") for f in flags(line.split("#")[0])}
    return out


def test_the_command_synopsis_matches_help():
    """docs/configuration.md block 1 lists every command with all its options (`smsc` points
    at docs/smpp.md block 1, which lists all of its own)."""
    synopsis = block("docs/configuration.md", 1)
    commands = sorted(
        {
            " ".join(line.split()[1:3]) if line.split()[1] == "config" else line.split()[1]
            for line in synopsis.splitlines()
            if line.startswith("openxms ")
        }
    )
    r = subprocess.run([str(OPENXMS), "--help"], capture_output=True, text=True, timeout=60)
    served = re.findall(r"^  (\w+)\s", r.stdout.split("Commands:", 1)[1], re.M)
    assert sorted(c.split()[0] for c in commands) == sorted(served)
    for command in commands:
        text = block("docs/smpp.md", 1) if command == "smsc" else synopsis
        assert documented(text, command) == set(help_flags(command.split())), command


def expected(line: str, swap: dict[str, str]) -> re.Pattern[str]:
    """A documented line as a pattern: `...` stands for anything, `swap` for what differs here."""
    for doc, here in swap.items():
        line = line.replace(doc, here)
    return re.compile(".*?".join(re.escape(part) for part in line.split("...")))


SMPP_TYPO = """
[[service_plans]]
id = "SP1"
token = "TOKEN1"
connector = "smpp"
[service_plans.smpp]
host = "smsc.example"
windo = 10
"""
RULES = """
[[simulator.rules]]
match = "*1"
status = "Failed"
[[simulator.rules]]
match = "*2"
status = "Happy"
"""
CONFIG_ERRORS = [  # (openxms.toml, environment), in the order of docs/configuration.md block 3
    ("[server]\nprot = 1\n", {}),
    ('[server]\nport = "eighty"\n', {}),
    (RULES, {}),
    (SMPP_TYPO, {}),
    (None, {"OPENXMS_PORT": "eighty"}),
]


def test_documented_errors_are_what_serve_prints(tmp_path):
    """docs/configuration.md blocks 3 and 4: each line, produced by the case it describes."""

    def serve(*args: str, env: dict[str, str] | None = None) -> str:
        cmd = [str(OPENXMS), "serve", "--data-dir", str(tmp_path / "data"), *args]
        return one_error(
            subprocess.run(cmd, cwd=tmp_path, env=clean_env(**(env or {})), capture_output=True, text=True, timeout=60)
        )

    lines = block("docs/configuration.md", 3).splitlines()
    assert len(lines) == len(CONFIG_ERRORS)
    for line, (toml, env) in zip(lines, CONFIG_ERRORS, strict=True):
        args = []
        if toml is not None:
            (tmp_path / "openxms.toml").write_text(toml)
            args = ["--config", "openxms.toml"]
        if "port" not in (toml or "") + str(env):  # a valid file by mistake must not start on 8080
            args += ["--port", str(free_port())]
        assert expected(line, {}).fullmatch(serve(*args, env=env)), line

    start_up = block("docs/configuration.md", 4).splitlines()
    (tmp_path / "file").write_text("")
    not_a_dir = str(tmp_path / "file" / "data")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = str(taken.getsockname()[1])
        got = [
            (serve("--port", "70000"), {}),
            (serve("--port", busy), {"8080": busy}),
            (serve("--database", "mysql://app:hunter2@db/x"), {}),
            (serve("--database", "postgresql://nobody@127.0.0.1:1/x"), {}),
            # root may write anywhere: a path under a file stands for the unwritable folder
            (serve("--data-dir", not_a_dir), {"/srv/openxms/data": not_a_dir, "Permission denied": "Not a directory"}),
            (serve("--log-level", "verbose"), {}),
        ]
    assert len(start_up) == len(got)
    for line, (error, swap) in zip(start_up, got, strict=True):
        assert expected(line, swap).fullmatch(error), (line, error)


# --- conversation.md -------------------------------------------------------------------------


def test_the_conversation_sdk_example_runs(tmp_path):
    """docs/conversation.md blocks 0 and 1: the server started as shown, the SDK snippet run as
    shown (pointed at its port); the message reaches the handset."""
    (lang0, serve), (lang1, sdk) = blocks("docs/conversation.md")[:2]
    assert (lang0, lang1) == ("sh", "python")
    server = Served(serve, tmp_path, clean_env())
    try:
        r = subprocess.run([sys.executable, "-c", server.here(sdk)], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-2000:]
        assert re.fullmatch(r"[0-9A-Z]{26}\n", r.stdout), r.stdout
        got = wait_for(lambda: handset(server.url, "12017777777"))
        assert got[0]["body"] == "Hello" and got[0]["from"] == "12025550100", got
    finally:
        server.stop()


def handset(url: str, number: str) -> list[dict]:
    return httpx.get(f"{url}/simulator/handsets/{number}/messages", timeout=10).json()["messages"]


def wait_for(fn, timeout: float = 20.0):
    import time

    deadline = time.monotonic() + timeout
    while not (value := fn()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return value


# --- deploy.md -------------------------------------------------------------------------------


def test_the_deploy_examples_run_without_the_container(tmp_path):
    """docs/deploy.md blocks 0 and 1. Building the image needs a registry that the test machines
    do not reach, so the container's process runs here instead: the image's environment plus
    the `-e` settings of `docker run`, on the port and volume the Dockerfile declares; then the
    compose example's curl against it, as compose's node 1 (same plan, port 8081)."""
    run, compose_curl = block("docs/deploy.md", 0), block("docs/deploy.md", 1)
    words = shlex.split(run.replace("\\\n", " ").split("docker run", 1)[1].splitlines()[0])
    settings = dict(words[i + 1].split("=", 1) for i, w in enumerate(words) if w == "-e")
    assert set(settings) <= KNOWN
    assert "127.0.0.1:8080:8080" in words and "openxms-data:/data" in words
    image = docker_env()
    assert image["OPENXMS_PORT"] == "8080" and image["OPENXMS_DATA_DIR"] == "/data"
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    node = next(s for s in compose["services"].values() if "127.0.0.1:8081:8080" in s.get("ports", []))
    assert settings["OPENXMS_SERVICE_PLANS"] == node["environment"]["OPENXMS_SERVICE_PLANS"]

    env = clean_env(**{k: v for k, v in image.items() if k not in ("OPENXMS_HOST", "OPENXMS_PORT")}, **settings)
    env["OPENXMS_DATA_DIR"] = str(tmp_path / "data")
    server = Served(".venv/bin/openxms serve", tmp_path, env, port_in_docs="8081")
    try:
        assert httpx.get(server.url + "/readyz").status_code == 200
        assert "service plan SP1: token ***, 50 msg/s, via simulator" in server.log.read_text()
        curl = "\n".join(line for line in compose_curl.splitlines() if not line.startswith("docker "))
        r = run_shell(server.here(curl), tmp_path)
        assert r.returncode == 0, r.stderr
        assert re.search(r'"id":"[0-9A-Z]{26}"', r.stdout), r.stdout
        assert wait_for(lambda: handset(server.url, "12017777777"))[0]["body"] == "Hello"
    finally:
        server.stop()


# --- the lease rule: architecture.md "Several nodes", delivery.md --------------------------


def test_the_lease_rule_quotes_the_engines_numbers_and_readiness_fields(tmp_path):
    """The prose of the fair-share rule names the pass interval, the TTL, the hand-over bound and
    the `/readyz` fields the engine really has."""
    from openxms.clock import Clock
    from openxms.engine import engine, leasing
    from openxms.store import leases
    from openxms.store.db import Database

    rule = (ROOT / "docs" / "architecture.md").read_text().split("## Several nodes", 1)[1]
    delivery = (ROOT / "docs" / "delivery.md").read_text()
    assert leasing.TICK_S == 1.0 and "once a second" in rule and "renewed every second" in delivery
    assert leases.LEASE_MS == 15_000 and leasing.LIVE_MS == leases.LEASE_MS
    assert "lease TTL (15 s)" in rule and "expiring after 15 s" in delivery
    assert engine.HAND_OVER_S == 10.0 and "up to 10 s" in rule
    assert leasing.share(4, 2) == 2 and "ceil(P / N)" in rule and "at most ceil(P / N) leases" in delivery

    async def no_inbound(mo):
        raise AssertionError(mo)

    e = engine.Engine(
        Database(f"sqlite:///{tmp_path / 'x.sqlite3'}"),
        Clock(),
        {},
        "n",
        lambda a: None,
        no_inbound,
        unknown_after_ms=1,
        callback_timeout=1,
    )
    named = set(re.findall(r"`(?:engine\.)?(\w+)`", rule.split("`/readyz` shows", 1)[1].split("\n\n", 1)[0]))
    assert named == {"dispatching", "handing_over", "live_nodes", "lease_share"} <= set(e.health())


# --- operations.md ---------------------------------------------------------------------------


def test_the_metric_queries_name_served_metrics(tmp_path):
    """docs/operations.md block 0: every metric a query names, and every label it groups by or
    matches on, is in /metrics of a server that sent a message."""
    queries = block("docs/operations.md", 0)
    server = Served(".venv/bin/openxms serve", tmp_path, clean_env(OPENXMS_SERVICE_PLANS="SP1:TOKEN1"))
    try:
        sent = httpx.post(
            server.url + "/xms/v1/SP1/batches",
            headers={"Authorization": "Bearer TOKEN1"},
            json={"to": ["+12017777777"], "from": "+12025550100", "body": "Hi"},
        )
        assert sent.status_code == 201
        wait_for(lambda: handset(server.url, "12017777777"))
        exposition = httpx.get(server.url + "/metrics").text
    finally:
        server.stop()
    declared = dict(re.findall(r"^# TYPE (openxms_\w+) (\w+)", exposition, re.M))
    labels_of = {m.name: set(m.labels) for m in vars(metrics).values() if isinstance(m, metrics._Metric)}
    for line in queries.splitlines():
        query = line.split("  #")[0]
        names = re.findall(r"\bopenxms_\w+", query)
        used = {label for group in re.findall(r"by \(([^)]*)\)", query) for label in re.split(r",\s*", group)}
        used |= set(re.findall(r"[{,](\w+)!?=", query))
        allowed: set[str] = set()
        for name in names:
            family = next((f for f in (name, re.sub(r"_(total|bucket|sum|count)$", "", name)) if f in labels_of), None)
            assert family, f"{name} is not an openxms metric"
            assert re.search(rf"^{name}[{{ ]", exposition, re.M) or {name, family} & set(declared), name
            allowed |= labels_of[family] | ({"le"} if name.endswith("_bucket") else set())
        assert used <= allowed, (line, used - allowed)


# --- simulator.md ----------------------------------------------------------------------------


def test_the_simulator_rules_example_loads(tmp_path):
    """docs/simulator.md block 0 is a valid `[simulator]` table."""
    f = tmp_path / "openxms.toml"
    f.write_text(block("docs/simulator.md", 0))
    s = config.load(f, env={})
    assert s.simulator["seed"] == 42 and s.simulator["default_profile"] == "mostly_ok"
    assert [r["match"] for r in s.simulator["rules"]] == ["4670*", "*99"]


def test_the_simulator_api_table_and_views_are_what_is_served(tmp_path):
    """Every request in docs/simulator.md's API table is a served route, every /simulator and /clock route
    is in the table, and every view in its URL table is a tab of the page."""
    from openxms.app import build
    from openxms.http.openapi import operations

    text = (ROOT / "docs/simulator.md").read_text()
    table = text[text.index("## API (outside") : text.index("## Outcome rules")].replace("`GET` / `PUT ", "`GET / PUT ")
    documented = set()
    for methods, path, alt in re.findall(r"^\| `([A-Z /]+?) (/[^`?\[ ]+)(\[/\{\w+\}\])?[^`]*`", table, re.M):
        for m in methods.split(" / "):
            documented.add((m.strip(), re.sub(r"\{\w+\}", "{}", path)))
            if alt:
                documented.add((m.strip(), re.sub(r"\{\w+\}", "{}", path + alt[1:-1])))
    app, _ = build(config.load(None, env={}, data_dir=str(tmp_path)))
    served = {(m.upper(), re.sub(r"\{\w+\}", "{}", p)) for p, m, _, _ in operations(app.routes)}
    served.add(("GET", "/simulator/events"))  # the event stream: a UI route, not in the OpenAPI document
    simulator = {(m, p) for m, p in served if p.startswith(("/simulator", "/clock"))}
    assert documented - served == set(), "documented but not served"
    assert simulator - documented == set(), "served but not in docs/simulator.md"
    tabs = set(re.findall(r'data-view="(\w+)"', (ROOT / "src/openxms/ui/static/index.html").read_text()))
    views = set(re.findall(r"`#/(\w+)", text[: text.index("### Messages")]))
    assert views == tabs, views ^ tabs
