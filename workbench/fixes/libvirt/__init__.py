"""libvirt/KVM fixes: one module per resource family, mirroring ``workbench.providers.libvirt``."""
