"""pytest plugin for the mutmut runs of testbed/mutants.sh (loaded with `-p mutmut_pure` in the
mirror that script builds; `make test` never loads it).

- Pure tests only: a test that uses the `docker_engine` fixture, directly or through a fixture
  such as `sandbox_factory`, gets the `docker` mark, so `-m "not docker"` leaves it out even
  where an engine is running (the fixture alone would run it, or skip it without an engine).
- A child process started by a test (`run_cli`, `python -c ...`) imports the mutated package:
  PYTHONPATH puts mutants/src first, ahead of the editable install, and mutmut's
  MUTANT_UNDER_TEST, inherited, selects the same mutant there. mutmut_child/sitecustomize.py
  keeps such a child on the original code during mutmut's stats run.
- Hypothesis stops at the first failing example (no shrinking), and the hostile-input properties
  try 15 examples each rather than 60 (HOSTILE_EXAMPLES): they are the slowest pure tests, and a
  surviving mutant costs every test that reaches it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent  # the mirror's mutants/


def pytest_configure(config: pytest.Config) -> None:
    ours = [str(HERE / "src"), str(HERE / "mutmut_child")]
    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p not in ours]
    os.environ["PYTHONPATH"] = os.pathsep.join([*ours, *rest])
    os.environ.setdefault("HOSTILE_EXAMPLES", "15")  # read when tests/test_hostile.py is imported
    # The first failing example kills the mutant: Hypothesis need not shrink or explain it, which
    # takes longer than the test (tests/conftest.py has loaded its profile; the test modules,
    # imported after this, build their settings on this one).
    from hypothesis import Phase, settings

    phases = [p for p in settings.default.phases if p not in (Phase.shrink, Phase.explain)]
    settings.register_profile("mutmut", parent=settings.default, phases=phases)
    settings.load_profile("mutmut")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by mark
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "docker_engine" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.docker)
