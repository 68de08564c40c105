"""Importers: other deployment formats -> a commented spec; pure (the CLI reads and writes the
files)."""
