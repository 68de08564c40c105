"""Backups: store.py creates, lists, prunes and restores them, verify.py proves one restores (side
effects: Docker, files)."""
