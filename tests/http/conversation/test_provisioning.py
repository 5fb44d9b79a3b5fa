"""Conversation apps from the configuration (`OPENXMS_CONVERSATION_APPS`, `[[conversation_apps]]`):
made at start-up, brought up to date at the next, usable at once (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from openxms import config

from ..conftest import make_api
from .resources import ENV, HANDSET, Conv

APP = "01K0APP0000000000000000001"


def start(database_url, tmp_path, env=None, toml=None):
    app, ctx = make_api(database_url, tmp_path, env={**ENV, **(env or {})}, toml=toml)
    return TestClient(app), ctx


def test_an_app_from_the_environment_is_there_and_sends(database_url, tmp_path):
    client, ctx = start(database_url, tmp_path, {"OPENXMS_CONVERSATION_APPS": f"{APP}:PROJ1:SP2"})
    with client:
        conv = Conv(client, ctx)
        [a] = conv.ok("GET", "/apps")["apps"]
        assert (a["id"], a["display_name"], a["processing_mode"]) == (APP, APP, "DISPATCH")
        assert a["channel_credentials"][0]["static_bearer"] == {"claimed_identity": "SP2", "token": "TOKEN2"}
        assert a["channel_credentials"][0]["state"]["status"] == "ACTIVE"
        conv.send(APP, {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": HANDSET}]}}, "hi")
        assert conv.wait_for(conv.handset)[0]["service_plan_id"] == "SP2"
        assert Conv(client, ctx, "PROJ2", "KEY2", "SECRET2").ok("GET", "/apps") == {"apps": []}


TOML = f"""
[[conversation_apps]]
id = "{APP}"
project = "PROJ1"
plan = "SP1"
display_name = "Configured"
processing_mode = "CONVERSATION"
"""


def test_the_next_start_brings_a_configured_app_up_to_date(database_url, tmp_path):
    client, ctx = start(database_url, tmp_path, toml=TOML)
    with client:
        conv = Conv(client, ctx)
        a = conv.ok("GET", f"/apps/{APP}")
        assert (a["display_name"], a["processing_mode"]) == ("Configured", "CONVERSATION")
        # changed through the API: another channel, a webhook
        conv.ok(
            "PATCH",
            f"/apps/{APP}",
            {
                "channel_credentials": [
                    {"channel": "TELEGRAM", "telegram_credentials": {"token": "t"}},
                    *a["channel_credentials"],
                ],
                "conversation_metadata_report_view": "FULL",
            },
        )
        webhook = conv.webhook(APP)
    # the environment now moves the app to SP2 (the file's name and mode stay)
    client, ctx = start(database_url, tmp_path, {"OPENXMS_CONVERSATION_APPS": f"{APP}:PROJ1:SP2"}, toml=TOML)
    with client:
        conv = Conv(client, ctx)
        a = conv.ok("GET", f"/apps/{APP}")
        assert [c["channel"] for c in a["channel_credentials"]] == ["TELEGRAM", "SMS"]
        assert a["channel_credentials"][1]["static_bearer"] == {"claimed_identity": "SP2", "token": "TOKEN2"}
        assert (a["display_name"], a["processing_mode"], a["conversation_metadata_report_view"]) == (
            "Configured",
            "CONVERSATION",
            "FULL",
        )
        assert conv.row("SELECT plan_id FROM conv_apps WHERE id = ?", APP).plan_id == "SP2"
        assert conv.ok("GET", f"/webhooks/{webhook['id']}") == webhook
    # with no name or mode configured, what the API set is kept
    client, ctx = start(database_url, tmp_path, {"OPENXMS_CONVERSATION_APPS": f"{APP}:PROJ1:SP1"})
    with client:
        conv = Conv(client, ctx)
        conv.ok("PATCH", f"/apps/{APP}?update_mask=display_name", {"display_name": "Renamed"})
    client, ctx = start(database_url, tmp_path, {"OPENXMS_CONVERSATION_APPS": f"{APP}:PROJ1:SP1"})
    with client:
        assert Conv(client, ctx).ok("GET", f"/apps/{APP}")["display_name"] == "Renamed"


def test_an_app_of_another_project_in_the_database_stops_the_start(database_url, tmp_path):
    client, _ = start(database_url, tmp_path, {"OPENXMS_CONVERSATION_APPS": f"{APP}:PROJ1:SP1"})
    with client:
        pass
    with pytest.raises(config.ConfigError, match=f"conversation app {APP} belongs to project PROJ1"):
        start(database_url, tmp_path, {"OPENXMS_CONVERSATION_APPS": f"{APP}:PROJ2:SP1"})


@pytest.mark.parametrize(
    "env,toml,msg",
    [
        (
            {"OPENXMS_CONVERSATION_APPS": f"{APP}:PROJ9:SP1"},
            None,
            f'OPENXMS_CONVERSATION_APPS: {APP}: no project "PROJ9" is configured',
        ),
        (
            {"OPENXMS_CONVERSATION_APPS": f"{APP}:PROJ1:SP9"},
            None,
            f'OPENXMS_CONVERSATION_APPS: {APP}: no service plan "SP9" is configured',
        ),
        (
            {"OPENXMS_CONVERSATION_APPS": f"{APP}:SP1:SP1"},
            None,
            f'OPENXMS_CONVERSATION_APPS: {APP}: no project "SP1" is configured',
        ),
        (
            {"OPENXMS_CONVERSATION_APPS": f"{APP}:PROJ1"},
            None,
            f"OPENXMS_CONVERSATION_APPS: expected APP_ID:PROJECT:PLAN, got '{APP}:PROJ1'",
        ),
        (
            {"OPENXMS_CONVERSATION_APPS": "APP:PROJ1:SP1"},
            None,
            "OPENXMS_CONVERSATION_APPS: APP: an app id is 26 letters or digits (a ULID), got 'APP'",
        ),
        (
            {"OPENXMS_CONVERSATION_APPS": f"{APP}:PROJ1:SP1,{APP}:PROJ1:SP2"},
            None,
            f'OPENXMS_CONVERSATION_APPS: duplicate id "{APP}"',
        ),
        (
            {},
            TOML.replace('"SP1"', '"SP7"'),
            'openxms.toml: conversation_apps[0].plan: no service plan "SP7" is configured',
        ),
        (
            {},
            TOML.replace('"PROJ1"', '"SP1"'),
            'openxms.toml: conversation_apps[0].project: no project "SP1" is configured',
        ),
        ({}, TOML + TOML, f'openxms.toml: duplicate id "{APP}" (conversation_apps[0] and conversation_apps[1])'),
        (
            {},
            TOML.replace('"CONVERSATION"', '"BATCH"'),
            'openxms.toml: conversation_apps[0].processing_mode: expected "CONVERSATION" or "DISPATCH", got "BATCH"',
        ),
        ({}, TOML + 'colour = "red"\n', "openxms.toml: unknown key 'conversation_apps[0].colour'"),
        ({}, TOML.replace(f'id = "{APP}"\n', ""), "openxms.toml: missing key 'conversation_apps[0].id'"),
    ],
)
def test_configuration_errors_are_one_line_naming_the_key(tmp_path, env, toml, msg):
    path = None
    if toml is not None:
        path = tmp_path / "openxms.toml"
        path.write_text(toml)
    with pytest.raises(config.ConfigError) as e:
        config.load(path, env={"OPENXMS_SERVICE_PLANS": "SP1:T1,SP2:T2", **ENV, **env})
    assert str(e.value) == (msg.replace("openxms.toml", str(path)) if path else msg)
