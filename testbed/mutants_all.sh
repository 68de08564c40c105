#!/usr/bin/env bash
# `make mutants`: mutation testing of every module of compiler/ and schemas/, group by group
# (testbed/mutants.groups), each group in its own mirror .mutmut-<group>/ through
# testbed/mutants.sh, then one report over all of them (testbed/mutants_report.py).
#
#   bash testbed/mutants_all.sh            # every group, then the report
#   bash testbed/mutants_all.sh diff load  # these groups only, then the report
#   MUTMUT_FRESH=1 bash testbed/mutants_all.sh   # forget earlier results first
#
# Results stay in the mirrors: a second run tests again only the functions changed since (and
# everything, when a group's tests or settings changed). Workers: MUTMUT_CHILDREN, or one per core.
set -euo pipefail
cd "$(dirname "$0")/.."
groups=testbed/mutants.groups
export MUTMUT_CHILDREN=${MUTMUT_CHILDREN:-$(nproc)}

# Every module in exactly one group.
listed=$(grep -v '^#' "$groups" | cut -d'|' -f2 | tr ' ' '\n' | grep . | sort)
present=$(find compiler schemas -name '*.py' -not -path '*/__pycache__/*' | sort)
if [ "$(sort -u <<<"$listed")" != "$present" ] || [ -n "$(uniq -d <<<"$listed")" ]; then
  echo "mutants: every module of compiler/ and schemas/ must be in exactly one group of $groups:" >&2
  diff <(uniq <<<"$listed") <(echo "$present") >&2 || true
  exit 1
fi

wanted=("$@")
stages=()
while IFS='|' read -r name modules tests; do
  read -r name <<<"$name"  # trimmed
  case $name in "" | \#*) continue ;; esac
  stages+=(".mutmut-$name")
  if [ ${#wanted[@]} -gt 0 ] && [[ ! " ${wanted[*]} " =~ " $name " ]]; then continue; fi
  if [ -n "${MUTMUT_FRESH:-}" ]; then rm -rf ".mutmut-$name"; fi
  echo "== $name: $(echo "$modules" | wc -w) modules, $(echo "$tests" | wc -w) test files" >&2
  start=$SECONDS
  MUTMUT_STAGE=".mutmut-$name" MUTMUT_ONLY="$(echo $modules)" \
    MUTMUT_TESTS="$(echo $tests)" bash testbed/mutants.sh run >"/tmp/mutants-$name.log" 2>&1 \
    || { echo "mutants: group $name failed; see /tmp/mutants-$name.log" >&2; exit 1; }
  echo "   done in $((SECONDS - start)) s" >&2
done <"$groups"

exec .venv/bin/python testbed/mutants_report.py "${stages[@]}"
