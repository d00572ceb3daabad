"""tools/kiali_keys.py: Kiali's config key tree from its Go structs; and the tree chart-check reads
is the one of the Kiali version the program pins."""

import json

from components.config.models import KialiConfig
from tools import chart_check, kiali_keys

GO = '''package config

type Config struct {
	Auth       AuthConfig        `yaml:"auth,omitempty"`
	Identity   security.Identity `yaml:",omitempty"`
	Extra      map[string]string `yaml:"extra"`
	Dashboards []Dashboard       `yaml:"dashboards"`
	Internal   string            `yaml:"-"`
	Untagged   string
	Deployment `yaml:",inline"`
}

type AuthConfig struct {
	Strategy string        `yaml:"strategy,omitempty"`
	OpenId   *OpenIdConfig `yaml:"openid,omitempty"`
}

type OpenIdConfig struct {
	ClientId string `yaml:"client_id"`
}

type Deployment struct {
	ViewOnlyMode bool `yaml:"view_only_mode"`
}
'''
SECURITY = '''package security

type Identity struct {
	CertFile string `yaml:"cert_file"`
}
'''


def test_the_tree_follows_yaml_tags_nested_structs_inline_and_maps(tmp_path):
    (tmp_path / "config" / "security").mkdir(parents=True)
    (tmp_path / "config" / "config.go").write_text(GO)
    (tmp_path / "config" / "config_test.go").write_text("package config\ntype Ignored struct {\n\tX int `yaml:\"x\"`\n}\n")
    (tmp_path / "config" / "security" / "config_security.go").write_text(SECURITY)
    doc = kiali_keys.document(tmp_path, "v9.9.9")
    assert doc["kiali"] == "v9.9.9"
    assert doc["tree"] == {"auth": {"openid": {"client_id": {}}, "strategy": {}}, "dashboards": {}, "extra": "*",
                           "identity": {"cert_file": {}}, "view_only_mode": {}}


def test_chart_check_reads_the_keys_of_the_pinned_kiali_inside_the_repository():
    pinned = KialiConfig().chart_version
    doc = json.loads(chart_check.KIALI_KEYS.read_text())
    assert doc["kiali"] == f"v{pinned}" and chart_check.KIALI_KEYS.is_relative_to(chart_check.ROOT)
    for key in ("auth", "deployment", "external_services", "login_token", "server"):
        assert key in doc["tree"]
