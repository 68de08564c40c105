"""Post-deployment probes, one module per kind of thing probed; run.py holds the registry and the
runner (side effects: network, Docker API reads, files)."""
