"""API settings from the environment: what earlier releases needed for queued jobs is not."""

import logging

from verifily.api.settings import UNUSED_ENV, ApiSettings


def test_webserver_and_origin_settings_are_not_needed_and_say_so(tmp_path, caplog):
    base = {"VERIFILY_DATA_ROOTS": str(tmp_path)}
    with caplog.at_level(logging.WARNING):
        ApiSettings.from_env(base)
    assert not caplog.records
    old = {**base, "VERIFILY_DAGSTER_URL": "http://127.0.0.1:3000"}
    with caplog.at_level(logging.WARNING):
        settings = ApiSettings.from_env(old)
    assert settings.data_roots == [tmp_path.resolve()]
    (warning,) = caplog.records
    assert "VERIFILY_DAGSTER_URL is no longer used" in warning.getMessage()
    assert "VERIFILY_DAGSTER_URL" in UNUSED_ENV
