"""The API's settings: read from the environment, validated at startup with messages naming the variable."""

from __future__ import annotations

import pytest

from app.settings import ApiSettings, SettingsError, load_settings


def test_defaults_and_redis_url_without_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://example:6380/2")
    monkeypatch.setenv("VST_MAX_QUEUE_LENGTH", "7")
    settings = load_settings()
    assert settings.redis_url == "redis://example:6380/2"
    assert settings.max_queue_length == 7
    assert settings.default_max_side == 512


@pytest.mark.parametrize(
    ("name", "value", "mentioned"),
    [
        ("REDIS_URL", "http://localhost", "REDIS_URL"),
        ("VST_MAX_UPLOAD_BYTES", "lots", "VST_MAX_UPLOAD_BYTES"),
        ("VST_MAX_QUEUE_LENGTH", "0", "VST_MAX_QUEUE_LENGTH"),
        ("VST_DEFAULT_MAX_SIDE", "4096", "VST_DEFAULT_MAX_SIDE"),
    ],
)
def test_invalid_values_are_refused_with_the_variable_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, mentioned: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=mentioned):
        load_settings()


def test_settings_are_frozen() -> None:
    settings = ApiSettings()
    with pytest.raises(ValueError, match="frozen"):
        setattr(settings, "max_queue_length", 3)  # noqa: B010 - bypass the frozen type on purpose
