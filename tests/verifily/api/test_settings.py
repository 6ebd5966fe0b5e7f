"""API settings from the environment: the code image that lends origins to queued runs."""

from verifily.api.settings import ApiSettings


def test_code_image_prefers_verifily_code_image_then_the_charts_variable(tmp_path):
    base = {"VERIFILY_DATA_ROOTS": str(tmp_path)}
    assert ApiSettings.from_env(base).code_image is None
    chart = {**base, "DAGSTER_CURRENT_IMAGE": "reg/verifily:7"}
    assert ApiSettings.from_env(chart).code_image == "reg/verifily:7"
    own = {**chart, "VERIFILY_CODE_IMAGE": "reg/verifily:8"}
    assert ApiSettings.from_env(own).code_image == "reg/verifily:8"
