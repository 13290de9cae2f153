#!/usr/bin/env bash
# make's set-up steps: say what is starting, run it, say how long it took (or that it failed).
#   scripts/step.sh "what this does" command args...
set -uo pipefail
what=$1
shift
started=$(date +%s)
echo "==> ${what} ..."
"$@"
status=$?
elapsed=$(($(date +%s) - started))
if [ "$status" -eq 0 ]; then
    echo "==> ${what}: done in ${elapsed} s"
else
    echo "==> ${what}: FAILED after ${elapsed} s (exit ${status})" >&2
fi
exit "$status"
