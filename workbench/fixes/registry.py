"""Every fix, by id. Fix modules are imported on first use, not when this module is.

A new provider's fixes register the same way: add its ids to ``_LOCATIONS`` (``"module:ClassName"``). Checks
name their fix in their metadata (``fix = "aws.snapshot.revoke_public"``); :func:`for_check` also honours that.
"""

from __future__ import annotations

import functools
import importlib

from workbench.fixes.base import Fix, FixError

_AWS = "workbench.fixes.aws"
_GCP = "workbench.fixes.gcp"
_AZURE = "workbench.fixes.azure"
_LOCATIONS: dict[str, str] = {
    "aws.snapshot.revoke_public": f"{_AWS}.snapshots:RevokePublicSnapshot",
    "aws.snapshot.revoke_foreign_shares": f"{_AWS}.snapshots:RevokeForeignSnapshotShares",
    "aws.snapshot.block_public_access": f"{_AWS}.account:SnapshotBlockPublicAccess",
    "aws.image.make_private": f"{_AWS}.images:MakeImagePrivate",
    "aws.image.revoke_foreign_launch": f"{_AWS}.images:RevokeForeignLaunch",
    "aws.image.block_public_access": f"{_AWS}.account:ImageBlockPublicAccess",
    "aws.instance.require_imdsv2": f"{_AWS}.instances:RequireImdsV2",
    "aws.account.imds_defaults": f"{_AWS}.account:ImdsDefaults",
    "aws.sg.revoke_world_admin_ingress": f"{_AWS}.security_groups:RevokeWorldAdminIngress",
    "aws.ebs.encryption_by_default": f"{_AWS}.account:EbsEncryptionByDefault",
    "aws.instance.mark_expiry": f"{_AWS}.instance_lifecycle:MarkExpiry",
    "aws.instance.stop_expired": f"{_AWS}.instance_lifecycle:StopExpired",
    "aws.instance.terminate_expired": f"{_AWS}.instance_lifecycle:TerminateExpired",
    "aws.volume.delete_orphan": f"{_AWS}.volumes:DeleteOrphanVolume",
    "aws.instance.tag_owner": f"{_AWS}.instances:TagOwner",
    "gcp.snapshot.remove_public_access": f"{_GCP}.iam:RemovePublicSnapshotAccess",
    "gcp.image.remove_public_access": f"{_GCP}.iam:RemovePublicImageAccess",
    "gcp.instance.block_project_ssh_keys": f"{_GCP}.instances:BlockProjectSshKeys",
    "gcp.instance.disable_serial_port": f"{_GCP}.instances:DisableSerialPort",
    "gcp.instance.enable_shielded_vm": f"{_GCP}.instances:EnableShieldedVm",
    "gcp.firewall.restrict_world_admin_ingress": f"{_GCP}.firewall:RestrictWorldAdminIngress",
    "azure.disk.deny_network_access": f"{_AZURE}.disks:DenyDiskNetworkAccess",
    "azure.snapshot.deny_network_access": f"{_AZURE}.disks:DenySnapshotNetworkAccess",
    "azure.disk.revoke_sas": f"{_AZURE}.disks:RevokeDiskSas",
    "azure.snapshot.revoke_sas": f"{_AZURE}.disks:RevokeSnapshotSas",
    "azure.nsg.restrict_world_admin_rules": f"{_AZURE}.nsg:RestrictNsgAdminRules",
    "libvirt.snapshot.delete_old": "workbench.fixes.libvirt.domain:DeleteOldSnapshot",
    "libvirt.graphics.listen_localhost": "workbench.fixes.libvirt.domain:GraphicsListenLocalhost",
    "vsphere.vm.set_isolation": "workbench.fixes.vsphere.vm:SetIsolation",
    "vsphere.vm.remove_legacy_devices": "workbench.fixes.vsphere.vm:RemoveLegacyDevices",
    "vsphere.snapshot.delete_old": "workbench.fixes.vsphere.vm:DeleteOldSnapshot",
}

FIX_IDS: frozenset[str] = frozenset(_LOCATIONS)


@functools.cache
def get(fix_id: str) -> Fix:
    location = _LOCATIONS.get(fix_id)
    if location is None:
        raise FixError(f"no fix {fix_id!r} (see `vmwb fix list`)")
    module, _, name = location.partition(":")
    fix = getattr(importlib.import_module(module), name)()
    if fix.id != fix_id:  # a typo in _LOCATIONS must not run another fix
        raise FixError(f"fix registry error: {location} declares {fix.id!r}, not {fix_id!r}")
    return fix


def all_fixes() -> list[Fix]:
    return [get(fix_id) for fix_id in sorted(FIX_IDS)]


def _check_metadata_fix(check_id: str) -> str | None:
    """The fix a check's own metadata names, when the check catalogue is available."""
    try:
        from workbench.scan.loader import get_check
    except ImportError:
        return None
    try:
        return getattr(get_check(check_id), "fix", None)
    except Exception:  # an unknown check, or a catalogue that does not load: no metadata link
        return None


def for_check(check_id: str) -> list[Fix]:
    """The fixes that resolve findings of ``check_id``: declared by the fix or named by the check."""
    found = [f for f in all_fixes() if check_id in f.check_ids]
    named = _check_metadata_fix(check_id)
    if named in FIX_IDS and all(f.id != named for f in found):
        found.insert(0, get(named))
    return found
