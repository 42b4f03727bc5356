"""Settings: read from MEDLEDGER_GATEWAY_* and refuse the shipped secret outside dev."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.settings import DEFAULT_SESSION_SECRET, GatewaySettings, get_settings
from tests.gateway.conftest import GRANTS_CONTRACT, HOSPITAL, make_settings


@pytest.mark.parametrize("env", ["test", "prod"])
def test_default_secret_is_refused_outside_dev(env: str) -> None:
    with pytest.raises(ValidationError, match="shipped default"):
        make_settings(env=env, session_secret=DEFAULT_SESSION_SECRET)


def test_short_secret_is_refused_outside_dev() -> None:
    with pytest.raises(ValidationError, match="at least 32"):
        make_settings(env="prod", session_secret="short")


def test_dev_runs_with_the_default_secret() -> None:
    settings = GatewaySettings(
        env="dev", hospital=HOSPITAL, chain_id=1, grants_contract=GRANTS_CONTRACT
    )
    assert settings.session_secret.get_secret_value() == DEFAULT_SESSION_SECRET
    assert DEFAULT_SESSION_SECRET not in repr(settings)  # SecretStr keeps it out of logs


def test_settings_come_from_the_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDLEDGER_GATEWAY_ENV", "prod")
    monkeypatch.setenv("MEDLEDGER_GATEWAY_HOSPITAL", HOSPITAL.lower())
    monkeypatch.setenv("MEDLEDGER_GATEWAY_CHAIN_ID", "77")
    monkeypatch.setenv("MEDLEDGER_GATEWAY_GRANTS_CONTRACT", GRANTS_CONTRACT)
    monkeypatch.setenv("MEDLEDGER_GATEWAY_SESSION_SECRET", "x" * 48)
    get_settings.cache_clear()
    try:
        settings = get_settings()
        assert (settings.env, settings.chain_id, settings.hospital) == ("prod", 77, HOSPITAL)
        assert get_settings() is settings
    finally:
        get_settings.cache_clear()


def test_missing_or_bad_hospital_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError):
        make_settings(hospital="0x1234")
    with pytest.raises(ValidationError, match="checksum"):
        make_settings(hospital="0x52908400098527886e0F7030069857D2E4169EE7")
