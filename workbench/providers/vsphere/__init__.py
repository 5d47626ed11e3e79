"""providers vsphere package."""
