"""Settings of the API, the worker and `vst serve`: read from the environment, validated at startup, and refused
with a message that names the environment variable as the operator wrote it."""

from __future__ import annotations

import re

import pytest

from app.runner import serve
from app.settings import ApiSettings, SettingsError, load_settings
from worker.settings import load_settings as load_worker_settings


def _names(variable: str) -> str:
    """A problem in the message starts with the variable: "...: VST_X: why", "...; VST_X must be ..."."""
    return rf"(: |; ){re.escape(variable)}\b"


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
        ("VST_REDIS_URL", "http://localhost", "VST_REDIS_URL"),
        ("VST_MAX_UPLOAD_BYTES", "lots", "VST_MAX_UPLOAD_BYTES"),
        ("VST_MAX_QUEUE_LENGTH", "0", "VST_MAX_QUEUE_LENGTH"),
        ("VST_DEFAULT_MAX_SIDE", "4096", "VST_DEFAULT_MAX_SIDE"),
    ],
)
def test_invalid_values_are_refused_with_the_variable_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, mentioned: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=_names(mentioned)):
        load_settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [("REDIS_URL", "localhost:6379"), ("VST_HEARTBEAT_INTERVAL_S", "0"), ("VST_LOG_LEVEL", "LOUD")],
)
def test_the_worker_refuses_invalid_values_with_the_variable_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=r"^invalid worker configuration" + _names(name)):
        load_worker_settings()


@pytest.mark.parametrize(
    ("name", "value"), [("VST_RESTART_LIMIT", "-1"), ("VST_STARTUP_TIMEOUT_S", "soon"), ("REDIS_URL", "http://x")]
)
def test_vst_serve_refuses_invalid_values_in_one_line_naming_the_variable_before_starting_anything(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: object, name: str, value: str
) -> None:
    monkeypatch.setenv("VST_RUN_DIR", str(tmp_path))
    monkeypatch.setenv(name, value)
    assert serve() == 2
    error = capsys.readouterr().err
    assert re.match(r"invalid vst serve configuration" + _names(name), error), error
    assert error.count("\n") == 1, error


def test_settings_are_frozen() -> None:
    settings = ApiSettings()
    with pytest.raises(ValueError, match="frozen"):
        setattr(settings, "max_queue_length", 3)  # noqa: B010 - bypass the frozen type on purpose
