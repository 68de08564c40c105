"""Pre-deployment checks, one module per area; run.py holds the registry and the runner (side
effects: reads the host, Docker and files)."""
