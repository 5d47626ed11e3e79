"""Google Cloud fixes: one module per resource family, mirroring ``workbench.providers.gcp``."""
