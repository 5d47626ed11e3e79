"""The config file's one schema: typos named with a suggestion, wrong types in one line, every provider's
section validated by that provider's own schema (an entry-point provider's too), ``[checks.<ID>]`` checked
against the catalogue, and the legacy policy keys moved into ``[policy]``."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workbench import config, plugins
from workbench.errors import ConfigError


def refused(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        config.parse(data, Path("/etc/vmwb.toml"))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("/etc/vmwb.toml: ")
    return message.removeprefix("/etc/vmwb.toml: ")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"aws": {"regoins": ["eu-west-1"]}},
            "unknown key aws.regoins (did you mean 'regions'?)",
        ),
        (
            {"aws": {"fix_profil": "x"}},
            "unknown key aws.fix_profil (did you mean 'fix_profile'?)",
        ),
        ({"gcp": {"projets": []}}, "unknown key gcp.projets (did you mean 'projects'?)"),
        ({"azure": {"tenant": "t"}}, "unknown key azure.tenant (did you mean 'tenant_id'?)"),
        ({"vsphere": {"hots": "vc"}}, "unknown key vsphere.hots (did you mean 'host'?)"),
        ({"libvirt": {"uri": []}}, "unknown key libvirt.uri (did you mean 'uris'?)"),
        ({"general": {"rol": "viewer"}}, "unknown key general.rol (did you mean 'role'?)"),
        (
            {"policy": {"org_acounts": []}},
            "unknown key policy.org_acounts (did you mean 'org_accounts'?)",
        ),
        (
            {"fixes": {"owner_tags": "o"}},
            "unknown key fixes.owner_tags (did you mean 'owner_tag'?)",
        ),
        (
            {"images": {"trusted_key": []}},
            "unknown key images.trusted_key (did you mean 'trusted_keys'?)",
        ),
        ({"polcy": {}}, "unknown section [polcy] (did you mean 'policy'?)"),
        ({"awss": {}}, "unknown section [awss] (did you mean 'aws'?)"),
        (
            {"libvirt": {"hosts": [{"name": "kvm", "url": "qemu:///system"}]}},
            "unknown key libvirt.hosts[0].url (did you mean 'uri'?)",
        ),
    ],
)
def test_a_typo_names_the_key_and_suggests_the_right_one(
    data: dict[str, Any], message: str
) -> None:
    assert refused(data) == message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"aws": {"max_attempts": "3"}}, "aws.max_attempts must be a whole number, not '3'"),
        (
            {"aws": {"regions": "eu-west-1"}},
            "aws.regions must be a list of strings, not 'eu-west-1'",
        ),
        ({"aws": {"include_base": 1}}, "aws.include_base must be true or false, not 1"),
        ({"gcp": {"timeout": "30"}}, "gcp.timeout must be a number, not '30'"),
        ({"azure": {"subscriptions": [1]}}, "azure.subscriptions[0] must be a string, not 1"),
        (
            {"libvirt": {"hosts": [{"name": "a", "uri": 3}]}},
            "libvirt.hosts[0].uri must be a string, not 3",
        ),
        ({"vsphere": {"port": "443"}}, "vsphere.port must be a whole number, not '443'"),
        ({"general": {"read_only": "yes"}}, "general.read_only must be true or false, not 'yes'"),
        (
            {"general": {"role": "admin"}},
            "general.role must be one of 'viewer', 'responder', 'operator', not 'admin'",
        ),
        (
            {"general": {"keep_raw_secrets": "no"}},
            "general.keep_raw_secrets must be true or false, not 'no'",
        ),
        (
            {"policy": {"org_accounts": "111122223333"}},
            "policy.org_accounts must be a list of strings, not '111122223333'",
        ),
        (
            {"policy": {"narrow_min_prefix_v4": 40}},
            "policy.narrow_min_prefix_v4: Input should be less than or equal to 32, not 40",
        ),
        ({"aws": []}, "[aws] must be a table, not list"),
    ],
)
def test_a_wrong_type_is_one_line_naming_section_key_and_type(
    data: dict[str, Any], message: str
) -> None:
    assert refused(data) == message


def test_a_password_in_the_vsphere_section_says_where_it_belongs() -> None:
    assert "never put a password" in refused(
        {"vsphere": {"host": "vc", "user": "u", "password": "x"}}
    )
    message = refused({"vsphere": {"servers": [{"host": "vc", "user": "u", "password": "x"}]}})
    assert message.startswith("vsphere.servers[0]: never put a password")


def test_valid_sections_of_every_builtin_provider_are_accepted() -> None:
    cfg = config.parse(
        {
            "general": {"role": "viewer", "keep_raw_secrets": True},
            "aws": {
                "regions": ["eu-west-1"],
                "max_attempts": 2,
                "read_timeout": 5,
                "fix_profile": "fix",
            },
            "gcp": {"projects": ["p"], "retry_deadline": 10, "fix_credentials_file": "k.json"},
            "azure": {"subscriptions": ["s"], "fake_credential": True, "fix_client_id": "c"},
            "libvirt": {"hosts": [{"name": "kvm", "uri": "test:///default"}], "secure_xml": True},
            "vsphere": {"servers": [{"host": "vc", "user": "u", "port": 8989, "protocol": "http"}]},
        }
    )
    assert cfg.role == "viewer" and cfg.keep_raw_secrets is True
    assert cfg.configured_providers == ["aws", "gcp", "azure", "libvirt", "vsphere"]
    assert (
        cfg.provider("aws")["read_timeout"] == 5
    )  # kept as written: the provider builds its settings


def test_every_builtin_provider_declares_a_schema_without_importing_its_sdk() -> None:
    code = (
        "import sys\n"
        "from workbench import config, plugins\n"
        "for name in plugins.names('providers'):\n"
        "    assert config.settings_schema(name) is not None, name\n"
        "assert not {'boto3', 'googleapiclient', 'google.cloud.compute_v1', 'azure.mgmt.compute', 'pyVmomi',"
        " 'libvirt'} & set(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def refused_checks(data: dict[str, Any]) -> str:
    from workbench.scan.loader import check_config

    with pytest.raises(ConfigError) as info:
        check_config(config.parse(data, Path("/etc/vmwb.toml")))
    return str(info.value).removeprefix("/etc/vmwb.toml: ")


def test_a_check_table_is_validated_against_the_catalogue() -> None:
    assert (
        refused_checks({"checks": {"SNP03": {}}})
        == "unknown check [checks.SNP03] (did you mean 'SNP-03'?)"
    )
    assert (
        refused_checks({"checks": {"spr-01": {}}})
        == "unknown check [checks.spr-01] (did you mean 'SPR-01'?)"
    )
    assert refused_checks({"checks": {"SPR-01": {"max_age_dayz": 3}}}) == (
        "[checks.SPR-01]: unknown parameter 'max_age_dayz' (did you mean 'max_age_days'?)"
    )
    assert "max_age_days must be int, not '120'" in refused_checks(
        {"checks": {"SPR-01": {"max_age_days": "120"}}}
    )
    assert (
        refused_checks({"checks": {"SPR-01": 3}}) == "[checks.SPR-01] must be a table of parameters"
    )
    cfg = config.parse({"checks": {"SPR-01": {"max_age_days": 120}}})
    assert cfg.check_params("SPR-01") == {"max_age_days": 120}


def test_legacy_policy_keys_are_moved_into_policy_with_a_note() -> None:
    cfg = config.parse(
        {
            "fixes": {"allowed_accounts": ["111122223333"], "owner_tag": "team"},
            "checks": {
                "SNP-03": {"allowlisted_accounts": ["111122223333"]},
                "SPR-01": {"max_age_days": 9},
            },
            "images": {"trusted_publishers": ["acme-images"]},
        },
        Path("c.toml"),
    )
    assert cfg.policy.org_accounts == ["111122223333"]
    assert cfg.policy.trusted_publishers == ["acme-images"]
    assert cfg.provider("fixes") == {"owner_tag": "team"}
    assert "SNP-03" not in cfg.sections["checks"] and cfg.check_params("SPR-01") == {
        "max_age_days": 9
    }
    assert "trusted_publishers" not in cfg.provider("images")
    assert cfg.notes == (
        "c.toml: checks.SNP-03.allowlisted_accounts is deprecated; read as policy.org_accounts (move it there)",
        "c.toml: fixes.allowed_accounts is deprecated; read as policy.org_accounts (move it there)",
        "c.toml: images.trusted_publishers is deprecated; read as policy.trusted_publishers (move it there)",
    )


def test_two_places_that_disagree_about_the_policy_are_refused() -> None:
    message = refused(
        {
            "fixes": {"allowed_accounts": ["111122223333"]},
            "checks": {"IMG-07": {"allowlisted_accounts": []}},
        }
    )
    assert message == (
        "fixes.allowed_accounts and checks.IMG-07.allowlisted_accounts disagree; set policy.org_accounts once"
    )
    message = refused(
        {"policy": {"org_accounts": ["1"]}, "checks": {"SNP-03": {"allowlisted_accounts": ["2"]}}}
    )
    assert "policy.org_accounts disagree" in message
    # The same accounts in another order are the same policy.
    cfg = config.parse(
        {"policy": {"org_accounts": ["1", "2"]}, "fixes": {"allowed_accounts": ["2", "1"]}}
    )
    assert sorted(cfg.policy.org_accounts or []) == ["1", "2"]


def test_a_legacy_key_of_the_wrong_type_is_named_where_it_was_written() -> None:
    assert refused({"fixes": {"allowed_accounts": "111122223333"}}) == (
        "fixes.allowed_accounts must be a list of strings, not '111122223333'"
    )


def test_the_schema_knows_the_roles_the_guards_know() -> None:
    import typing

    from workbench.config_schema import GeneralSection

    assert typing.get_args(GeneralSection.model_fields["role"].annotation) == config.ROLES


def test_policy_defaults() -> None:
    policy = config.Config().policy
    assert policy.org_accounts is None and policy.trusted_publishers == []
    assert (policy.narrow_min_prefix_v4, policy.narrow_min_prefix_v6) == (16, 48)


def test_legacy_table_matches_the_catalogue_bindings() -> None:
    """Every legacy ``[checks.X] param`` key is a parameter bound to the policy key it migrates to."""
    from workbench.scan.loader import get_check

    for (section, table, key), target in config.LEGACY_POLICY_KEYS.items():
        if section == "checks":
            assert get_check(table).params[key].policy == target, (table, key)


ENTRY_POINT_MODULE = """
from typing import ClassVar

from workbench.config_schema import Section
from workbench.providers.base import Provider


class ProxmoxSection(Section):
    nodes: list[str] = []
    token_env: str | None = None


class ProxmoxProvider(Provider):
    name: ClassVar[str] = "proxmox"
    title: ClassVar[str] = "Proxmox VE"

    @classmethod
    def from_config(cls, section, **overrides):
        return cls()

    def discover(self):
        return []

    def collect(self, scope, task, out, ctx):
        pass
"""


@pytest.fixture
def proxmox_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A real installed distribution advertising a provider through the ``vmwb.providers`` entry point."""
    (tmp_path / "vmwb_proxmox.py").write_text(ENTRY_POINT_MODULE, encoding="utf-8")
    meta = tmp_path / "vmwb_proxmox-0.1.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: vmwb-proxmox\nVersion: 0.1\n", encoding="utf-8"
    )
    (meta / "entry_points.txt").write_text(
        "[vmwb.providers]\nproxmox = vmwb_proxmox:ProxmoxProvider\n"
        "[vmwb.settings]\nproxmox = vmwb_proxmox:ProxmoxSection\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    plugins.clear()
    yield
    sys.modules.pop("vmwb_proxmox", None)
    monkeypatch.undo()
    plugins.clear()


@pytest.mark.usefixtures("proxmox_plugin")
def test_an_entry_point_providers_section_is_accepted_and_validated_by_its_schema() -> None:
    cfg = config.parse({"proxmox": {"nodes": ["pve-1"]}})
    assert cfg.configured_providers == ["proxmox"]
    assert (
        refused({"proxmox": {"node": ["pve-1"]}})
        == "unknown key proxmox.node (did you mean 'nodes'?)"
    )
    assert (
        refused({"proxmox": {"nodes": "pve-1"}})
        == "proxmox.nodes must be a list of strings, not 'pve-1'"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[aws]\nregoins = ["eu-west-1"]\n', "unknown key aws.regoins (did you mean 'regions'?)"),
        ("[checks.SNP03]\n", "unknown check [checks.SNP03] (did you mean 'SNP-03'?)"),
    ],
)
def test_the_cli_says_one_line_and_no_traceback(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "workbench",
            "--config",
            str(path),
            "--db",
            str(tmp_path / "c.db"),
            "checks",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 2
    assert run.stderr == f"vmwb: error: {path}: {message}\n"


def test_the_cli_prints_the_deprecation_note_once_and_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[fixes]\nallowed_accounts = ["111122223333"]\n', encoding="utf-8")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "workbench",
            "--config",
            str(path),
            "--db",
            str(tmp_path / "c.db"),
            "checks",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr == (
        f"vmwb: note: {path}: fixes.allowed_accounts is deprecated; read as policy.org_accounts "
        "(move it there)\n"
    )
