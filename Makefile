# The two commands of the README, plus the setup they both run first.
.PHONY: setup demo test lint evidence

setup:
	bash testbed/setup.sh

demo: setup
	.venv/bin/python -m specctl.demo

test: setup
	.venv/bin/python -m pytest

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	bash testbed/typecheck.sh

# docs/RELIABILITY.md from a run of the fault suite (make test never rewrites it).
evidence: setup
	SPECCTL_EVIDENCE=1 .venv/bin/python -m pytest tests/test_faults.py tests/test_kills.py
