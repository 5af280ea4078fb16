"""`single_idp_start_url`: optional, and only ever a page on the service's own site."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from federation.config import ConfigError, FederationConfig, load_federation_config

TEST_RP = "https://test-rp.federation.test"
STANDARD_RP = "https://test-rp-standard.federation.test"


def load_with_start_url(tmp_path: Path, keys_dir: Path, demo_config_path: Path, url: object) -> FederationConfig:
    data = yaml.safe_load(demo_config_path.read_text())
    data["relying_parties"][0]["single_idp_start_url"] = url
    path = tmp_path / "federation.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_federation_config(path, keys_dir=keys_dir, variables={})


def test_the_demo_lets_companies_link_to_two_services(federation_config: FederationConfig) -> None:
    assert federation_config.relying_party(TEST_RP).single_idp_start_url == "http://127.0.0.1:8083/"
    assert federation_config.relying_party(STANDARD_RP).single_idp_start_url is None


def test_a_start_url_on_the_services_site_is_taken(tmp_path, keys_dir, demo_config_path) -> None:
    config = load_with_start_url(tmp_path, keys_dir, demo_config_path, "http://127.0.0.1:8083/start?from=company")
    assert config.relying_party(TEST_RP).single_idp_start_url == "http://127.0.0.1:8083/start?from=company"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://elsewhere.example/", "is not on the site of service_home_url"),
        ("http://127.0.0.1:9999/", "is not on the site of service_home_url"),
        ("https://127.0.0.1:8083/", "is not on the site of service_home_url"),
        ("/relative", "is not an absolute http(s) URL"),
        ("javascript:alert(1)", "is not an absolute http(s) URL"),
    ],
)
def test_a_start_url_elsewhere_is_refused_by_name(tmp_path, keys_dir, demo_config_path, url, says) -> None:
    with pytest.raises(ConfigError) as info:
        load_with_start_url(tmp_path, keys_dir, demo_config_path, url)
    assert info.value.field == "single_idp_start_url"
    assert says in str(info.value)
