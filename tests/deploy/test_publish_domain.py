"""publish with a custom domain: SSM and the client get the custom name, from the stack's outputs."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from eventapi.client.config import EventsConfig
from eventapi.config import DomainConfig, load_stage
from eventapi.contract import SsmParam, ssm_name
from eventapi.deploy import publish
from eventapi.outputs import Output
from eventapi.protocol.auth import ApiKeyAuth
from tests.deploy.conftest import NOW, create_api, create_key, outputs_for, ssm_values

DOMAIN = DomainConfig("events.example.com", hosted_zone_id="Z0123456789ABCDEFGHIJ")


def test_custom_domain_reaches_ssm_and_the_client(session: Any, project: Path, tmp_path: Path) -> None:
    """The stack's custom-domain outputs land in SSM; the client's endpoints and auth `host` are the custom name."""
    # Given the outputs a stage with a custom domain writes (endpoints and hosts on the one custom name)
    stage = load_stage("dev", project)
    api = create_api(session, stage.api_name)
    create_key(session, api["apiId"], NOW + timedelta(days=100))
    outputs = outputs_for(
        api,
        **{
            Output.HTTP_ENDPOINT.value: DOMAIN.http_endpoint,
            Output.REALTIME_ENDPOINT.value: DOMAIN.realtime_endpoint,
            Output.HTTP_HOST.value: DOMAIN.name,
            Output.REALTIME_HOST.value: DOMAIN.name,
        },
    )
    file = tmp_path / "outputs-dev.json"
    file.write_text(json.dumps({stage.stack_name: outputs}))
    # When the post-deploy step publishes them
    publish(session, stage, outputs_file=file, now=NOW)
    # Then the config a client reads names the custom domain everywhere
    values = ssm_values(session, stage.ssm.prefix)
    assert values[ssm_name(stage.ssm.prefix, SsmParam.HTTP_HOST)] == ("String", "events.example.com")
    config = EventsConfig.from_json(json.loads(values[ssm_name(stage.ssm.prefix, SsmParam.CONFIG)][1]))
    assert (config.http_endpoint, config.realtime_endpoint) == (
        "https://events.example.com/event",
        "wss://events.example.com/event/realtime",
    )
    assert config.http_host == config.realtime_host == "events.example.com"
    assert ApiKeyAuth("da2-example").connect_auth(config.http_host)["host"] == "events.example.com"
