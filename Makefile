# The two commands of the README, plus the setup they both run first.
.PHONY: setup demo demo-swarm test lint evidence mutants

setup:
	bash testbed/setup.sh

demo: setup
	.venv/bin/python -m specctl.demo

# The same app on a three-node Swarm on this machine (testbed/swarm.sh), blue → green → rollback.
demo-swarm: setup
	.venv/bin/python -m specctl.demo_swarm

test: setup
	.venv/bin/python -m pytest

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	bash testbed/typecheck.sh

# docs/RELIABILITY.md from a run of the fault suite (make test never rewrites it).
evidence: setup
	SPECCTL_EVIDENCE=1 .venv/bin/python -m pytest tests/test_faults.py tests/test_kills.py

# Mutation testing of compiler/ and schemas/ with mutmut against the pure tests, group by group
# (testbed/mutants.groups), then the score table (docs/MUTATIONS.md). Results stay in .mutmut-*/.
mutants:
	bash testbed/mutants_all.sh
