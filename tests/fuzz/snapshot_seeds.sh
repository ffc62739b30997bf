#!/bin/sh
# Seeds for the snapshot fuzzer (tests/fuzz/fuzz_snapshot.c): a state
# file made by the fake VM's devices' own save ops, once checked as it
# is and once resealed.  Usage: snapshot_seeds.sh BUILD_DIR (after
# `make O=BUILD_DIR fuzz-build`).  Writes tests/fuzz/snapshot/corpus/seed-*.
set -e
here=$(dirname "$0")
mkdir -p "$here/snapshot/corpus"
WISP_SNAPSHOT_SEEDS=$(cd "$here/snapshot/corpus" && pwd) "${1:?BUILD_DIR}/fuzz/snapshot" -runs=1 2>&1 |
	grep '^fuzz_snapshot:'
