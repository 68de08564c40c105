"""specctl: declarative blue/green deployments on one Docker host."""

__version__ = "0.1.0"
