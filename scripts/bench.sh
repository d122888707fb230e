#!/usr/bin/env bash
# Runs the process benchmarks and prints each target's ratio to the floor
# measured in the same run (a bare go-plugin hello-world).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(go test -run '^$' -bench . -benchtime "${BENCHTIME:-30x}" -count "${COUNT:-1}" ./bench/ | tee /dev/stderr)
awk '
  /^Benchmark/ { name=$1; sub(/-[0-9]+$/, "", name); ns[name]=$3 }
  END {
    floor = ns["BenchmarkHelloPlugin"]
    if (floor == "") { print "no floor measured"; exit 1 }
    printf "\nfloor (hello-world plugin call): %.2f ms\n", floor/1e6
    printf "job status local:ID:             %.2f ms  ratio %.2fx  (goal <= 1.30x)\n", ns["BenchmarkJobStatus"]/1e6, ns["BenchmarkJobStatus"]/floor
    printf "plugins list, 7 installed:       %.2f ms  ratio %.2fx to job status  (goal <= 1.50x)\n", ns["BenchmarkPluginsList"]/1e6, ns["BenchmarkPluginsList"]/ns["BenchmarkJobStatus"]
  }' <<<"$out"
