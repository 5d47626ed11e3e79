"""Findings of other tools (Prowler's OCSF, any scanner's SARIF 2.1.0, Cloud Custodian's resources.json),
each import a scan of its own source beside vmwb's: see :mod:`.landing`."""
