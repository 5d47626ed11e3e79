"""The image factory: the signed approved-image registry and imported validation results.

- :mod:`~workbench.images.keys`: the Ed25519 signing key (keyring) and the trust root (config + local key).
- :mod:`~workbench.images.registry`: approve / revoke, each a signed, chained, audited entry.
- :mod:`~workbench.images.verify`: per-entry status ok / tampered / untrusted_key / revoked.
- :mod:`~workbench.images.trivy`, :mod:`~workbench.images.openscap`: result-file parsers;
  :mod:`~workbench.images.results` imports them into the cache and computes the 7-day critical KPI.
- :mod:`~workbench.images.overview`: what ``vmwb images list`` and the images view show.
- :mod:`~workbench.images.check_logic`: the Python half of checks IMG-11, IMG-12 and IMG-14.
"""
