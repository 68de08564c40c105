#!/usr/bin/env bash
# Mutation testing of compiler/ and schemas/ with mutmut 3 against the pure tests (no Docker).
#
# mutmut 3 imports the mutated code from mutants/<path>, with mutants/src first on sys.path, so
# the package-dir mapping of pyproject.toml (specctl = cli/, specctl.compiler = compiler/, ...)
# is mirrored into .mutmut/ (gitignored): src/specctl/ holds cli/*.py, with schemas/,
# compiler/, appliers/, importers/ and templates/ as its subpackages, beside tests/, config/,
# generated/ and docs/. mutmut runs in that mirror; its results stay in .mutmut/mutants/ between
# runs and only functions changed since are tested again (rm -rf .mutmut to start over).
#
#   bash testbed/mutants.sh                                # mutmut run over compiler/ and schemas/
#   bash testbed/mutants.sh run 'specctl.schemas.units.*'  # only these mutants (mutmut's globs)
#   bash testbed/mutants.sh results                        # or show NAME, browse, export-cicd-stats
#
# One mutant at a time unless MUTMUT_CHILDREN says otherwise. For a quick loop while writing tests
# for one module, narrow the mutants and the tests (its own mirror keeps the main results apart):
#
#   MUTMUT_STAGE=.mutmut-units MUTMUT_ONLY='schemas/units.py' \
#     MUTMUT_TESTS='tests/test_units.py' bash testbed/mutants.sh
#
# which scores the module against those tests alone (a lower bound of the whole suite's score).
# mutmut mutates code inside functions
# only (not module-level constants, not functions with decorators other than
# @staticmethod/@classmethod), so docs/MUTATIONS.md's hand mutations stay in hand_mutants.py.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
mutmut=${MUTMUT:-$repo/.venv/bin/mutmut}
if [ ! -x "$mutmut" ]; then
  echo "mutants: no $mutmut; run: .venv/bin/python -m pip install -e '.[dev]'" >&2
  exit 1
fi

stage=$repo/${MUTMUT_STAGE:-.mutmut}
case $stage in "$repo"/.mutmut*) ;; *)
  echo "mutants: MUTMUT_STAGE must be a folder named .mutmut* in the repository" >&2; exit 1 ;;
esac
only=""
set -f  # the globs are mutmut's, not the shell's
for glob in ${MUTMUT_ONLY:-compiler/* schemas/*}; do only+="\"src/specctl/$glob\", "; done
selection='"tests/", "--ignore=tests/test_layers.py"'
if [ -n "${MUTMUT_TESTS:-}" ]; then
  selection=""
  for test in $MUTMUT_TESTS; do selection+="\"$test\", "; done
fi
set +f
mkdir -p "$stage"
# A fresh copy every run, file times kept: mutmut re-mutates a file only when its source is newer
# than the mutated copy it made before.
rm -rf "$stage/src" "$stage/tests" "$stage/config" "$stage/generated" "$stage/docs" \
  "$stage/mutmut_child"
mkdir -p "$stage/src/specctl" "$stage/mutmut_child"
tar -c --exclude=__pycache__ -C cli . | tar -x -C "$stage/src/specctl"
tar -c --exclude=__pycache__ schemas compiler appliers importers templates \
  | tar -x -C "$stage/src/specctl"
tar -c --exclude=__pycache__ --exclude=.hypothesis tests config generated docs | tar -x -C "$stage"
cp -p testbed/mutmut_pure.py "$stage/mutmut_pure.py"
cat >"$stage/mutmut_child/sitecustomize.py" <<'EOF'
# Written by testbed/mutants.sh. On PYTHONPATH (mutmut_pure.py) of the processes a test starts:
# during mutmut's stats run they run the original code. Their calls could not be recorded there,
# and recording needs mutmut's config from a pyproject.toml in the working directory, which a
# child started in a tmp_path folder does not have.
import os

if os.environ.get("MUTANT_UNDER_TEST") == "stats":
    os.environ["MUTANT_UNDER_TEST"] = ""
EOF

# The project's pyproject (pytest settings, version) plus mutmut's settings.
{
  cat pyproject.toml
  cat <<EOF

# Added by testbed/mutants.sh for the mirror in .mutmut/ only.
[tool.mutmut]
source_paths = ["src/specctl/"]
only_mutate = [${only%, }]
also_copy = ["config/", "generated/", "docs/", "mutmut_pure.py", "mutmut_child/"]
use_git_change_detection = false
pytest_add_cli_args = [
  "-p", "mutmut_pure", "-m", "not docker", "-p", "no:cacheprovider",
  "--hypothesis-seed=0", "--snapshot-warn-unused",
]
# Every pure test: the tests of Docker are left out by mutmut_pure.py and -m "not docker", and
# test_layers.py, which reads cli/, compiler/, ... as text (there is no such folder in mutants/).
pytest_add_cli_args_test_selection = [${selection%, }]
EOF
} >"$stage/pyproject.toml"

cd "$stage"
# Processes a test starts import the mutated modules (every mutant of a file is in it): let them
# keep the compiled bytecode in the mirror rather than compile it again each time.
unset PYTHONDONTWRITEBYTECODE
if [ $# -eq 0 ]; then set -- run; fi
if [ "$1" = run ]; then
  shift
  set -- run --max-children "${MUTMUT_CHILDREN:-1}" "$@"
fi
exec "$mutmut" "$@"
