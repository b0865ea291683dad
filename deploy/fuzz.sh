#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a bounded number of inputs.
# (Counts rather than durations: time-based -fuzztime can fail spuriously
# with "context deadline exceeded" on Go 1.26, go.dev/issue/75804.)
set -euo pipefail
count="${FUZZCOUNT:-20000x}"
cd "$(dirname "$0")/.."
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r file; do
	pkg="./$(dirname "${file#./}")"
	for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | cut -d' ' -f2); do
		echo "fuzz $pkg $target ($count)"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$count" "$pkg"
	done
done
