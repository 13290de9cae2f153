"""What a smoke run reads from a deployed stack (its outputs and the parameters that are settings, the
shell winning) and from the local stack's ready file, without AWS: boto3's client is a stand-in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from smoke.targets import load_target

OUTPUTS = {
    "ApiUrl": "https://api.example.com/",
    "WebhookBaseUrl": "https://hooks.example.com/hooks",
    "ResourceTag": "va-prod",
}
PARAMETERS = {
    "SecretsArn": "arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:va-AbCdEf",
    "TwilioSecretArn": "",  # empty: the functions use SecretsArn, so the run does too
    "MongoDbDatabase": "voice_agents_prod",
    "PhoneNumberCountry": "GB",
    "TwilioNumberMonthlyCents": "150",
    "AlarmTopicArn": "arn:aws:sns:ap-southeast-2:123456789012:alarms",  # not a setting
}


class StandInCloudFormation:
    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        assert StackName == "voice-agents-prod"
        return {
            "Stacks": [
                {
                    "Outputs": [{"OutputKey": key, "OutputValue": value} for key, value in OUTPUTS.items()],
                    "Parameters": [
                        {"ParameterKey": key, "ParameterValue": value} for key, value in PARAMETERS.items()
                    ],
                }
            ]
        }


def test_a_deployed_stack_gives_its_outputs_and_setting_parameters_and_the_shell_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(boto3, "client", lambda service, **_: StandInCloudFormation())
    target = load_target({"SMOKE_STACK": "voice-agents-prod", "PHONE_NUMBER_COUNTRY": "AU"})
    assert target.api_url == "https://api.example.com"
    assert target.environment["SECRETS_ARN"] == PARAMETERS["SecretsArn"]
    assert "TWILIO_SECRET_ARN" not in target.environment
    assert target.environment["MONGODB_DATABASE"] == "voice_agents_prod"
    assert target.environment["TWILIO_NUMBER_MONTHLY_CENTS"] == "150"
    assert target.environment["RESOURCE_TAG"] == "va-prod"
    assert target.environment["WEBHOOK_BASE_URL"] == OUTPUTS["WebhookBaseUrl"]
    assert target.environment["PHONE_NUMBER_COUNTRY"] == "AU"  # set in the shell
    assert "ALARM_TOPIC_ARN" not in target.environment
    url = "https://hooks.example.com/hooks/api/webhooks/twilio/abc"
    assert target.reachable(url) == url


def test_the_local_stack_is_its_ready_file_and_its_webhook_base_is_served_by_its_api(tmp_path: Path) -> None:
    ready = tmp_path / "local-stack.json"
    environment = {"WEBHOOK_BASE_URL": "https://abc123.example.com/hooks", "RETELL_API_KEY": "key_local"}
    ready.write_text(json.dumps({"apiUrl": "http://127.0.0.1:3000", "environment": environment}))
    target = load_target({"SMOKE_STACK": "local", "SMOKE_LOCAL_STATE": str(ready), "RETELL_API_KEY": "mine"})
    assert target.environment["RETELL_API_KEY"] == "key_local"  # the fakes' credentials win locally
    assert target.api_url == "http://127.0.0.1:3000"
    assert (
        target.reachable("https://abc123.example.com/hooks/api/webhooks/twilio/abc")
        == "http://127.0.0.1:3000/api/webhooks/twilio/abc"
    )


def test_without_a_ready_file_the_local_target_says_to_start_the_stack(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="start the local stack first"):
        load_target({"SMOKE_STACK": "local", "SMOKE_LOCAL_STATE": str(tmp_path / "none.json")})
