# The two commands of the README, plus the setup they both run first.
.PHONY: setup demo test lint

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
