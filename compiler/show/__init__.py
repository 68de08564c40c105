"""Rendering values for people and scripts: plan.py the plan, checks.py check and probe results,
status.py `specctl status`; pure."""
