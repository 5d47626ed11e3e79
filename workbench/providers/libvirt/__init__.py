"""providers libvirt package."""
