"""VMware vSphere fixes: one module per resource family, mirroring ``workbench.providers.vsphere``."""
