"""Azure fixes: one module per resource family, mirroring ``workbench.providers.azure``."""
