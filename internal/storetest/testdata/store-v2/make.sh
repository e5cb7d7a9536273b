#!/usr/bin/env bash
# Remakes rows.json: every row of a store made by seams at schema version 2
# from the files of ../associated, by the seams binary given (built from
# commit 22ccb44, the last at version 2):
#
#   git worktree add /tmp/seams-v2 22ccb44 && (cd /tmp/seams-v2 && go build -o /tmp/seams-v2.bin ./cmd/seams)
#   storetest/testdata/store-v2/make.sh /tmp/seams-v2.bin
set -euo pipefail
seams=$1
here=$(cd "$(dirname "$0")" && pwd)
set=$here/../associated
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$seams" load --data "$dir" compounds "$set/compounds.csv"
"$seams" load --data "$dir" indicators "$set/indicators.csv" --org partner-a --shared
"$seams" load --data "$dir" shared "$set/shared.txt"
"$seams" load --data "$dir" reports "$set/reports.xml" --org hotline
"$seams" xref --store "$dir" >/dev/null
"$seams" review --data "$dir" --finding 1 --mark confirmed --comment "checked against the partner's list"
"$seams" token create --data "$dir" --org hotline --role viewer --user reader >/dev/null 2>&1
cd "$here/../../.."
SEAMS_DUMP_STORE=$dir SEAMS_DUMP_NOTE="made by storetest/testdata/store-v2/make.sh with seams at commit 22ccb44 (schema version 2)" \
	go test ./storetest -run '^TestDumpStoreV2$' -count=1
