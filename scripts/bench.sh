#!/usr/bin/env bash
# Runs the process benchmarks and prints each target's ratio to the floor
# measured in the same run (a bare go-plugin hello-world). Each benchmark
# runs COUNT times and its fastest run counts, so that a busy moment on the
# machine does not skew one side of a ratio. The bundle benchmark measures
# memory, not time, and each of its runs copies 256 MiB, so it runs once,
# BUNDLE_BENCHTIME times. The files benchmarks move 2 GiB a run (or
# BENCH_FILES_MIB MiB), alternated with their floor in each run, so they
# too run once, FILES_BENCHTIME times.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(go test -run '^$' -bench . -skip '^(BenchmarkSubmitBundle|BenchmarkFiles.*)$' -benchtime "${BENCHTIME:-10x}" -count "${COUNT:-5}" ./bench/ | tee /dev/stderr)
out+=$'\n'$(go test -run '^$' -bench '^BenchmarkSubmitBundle$' -benchtime "${BUNDLE_BENCHTIME:-3x}" -count 1 ./bench/ | tee /dev/stderr)
out+=$'\n'$(go test -run '^$' -bench '^BenchmarkFiles' -benchtime "${FILES_BENCHTIME:-2x}" -count 1 -timeout 60m ./bench/ | tee /dev/stderr)
awk '
  /^Benchmark/ {
    name=$1; sub(/-[0-9]+$/, "", name)
    if (!(name in ns) || $3 + 0 < ns[name] + 0) ns[name]=$3
    for (i = 5; i < NF; i += 2) {
      if (!((name, $(i+1)) in metric) || $i + 0 > metric[name, $(i+1)] + 0) metric[name, $(i+1)] = $i
      if (!((name, $(i+1)) in best) || $i + 0 < best[name, $(i+1)] + 0) best[name, $(i+1)] = $i
    }
  }
  END {
    floor = ns["BenchmarkHelloPlugin"]
    if (floor == "") { print "no floor measured"; exit 1 }
    printf "\nfloor (hello-world plugin call): %.2f ms\n", floor/1e6
    printf "job status local:ID:             %.2f ms  ratio %.2fx  (goal <= 1.30x)\n", ns["BenchmarkJobStatus"]/1e6, ns["BenchmarkJobStatus"]/floor
    if (("BenchmarkJobStatusVsFloor", "status/floor") in metric)
      printf "  the same, alternated with the floor in one loop: %.2fx (best of the runs)\n", best["BenchmarkJobStatusVsFloor", "status/floor"]
    printf "plugins list, 7 installed:       %.2f ms  ratio %.2fx to job status  (goal <= 1.50x)\n", ns["BenchmarkPluginsList"]/1e6, ns["BenchmarkPluginsList"]/ns["BenchmarkJobStatus"]
    if (ns["BenchmarkBatchSubmit"] != "") {
      ideal = 1000 / 32 * 20e6
      printf "batch submit, 1000 jobs at --parallel 32, 20 ms a call: %.0f ms, ideal %.0f ms\n", ns["BenchmarkBatchSubmit"]/1e6, ideal/1e6
      printf "  ideal/measured, whole command:  %.2f  (goal >= 0.80)\n", metric["BenchmarkBatchSubmit", "ideal/measured"]
      printf "  ideal/measured, submit phase:   %.2f\n", metric["BenchmarkBatchSubmit", "ideal/submit"]
      if (ns["BenchmarkBatchFloor"] != "")
        printf "  net of a one-job batch (%.0f ms, the fixed cost, measured in this run): %.2f\n", ns["BenchmarkBatchFloor"]/1e6, ideal/(ns["BenchmarkBatchSubmit"]-ns["BenchmarkBatchFloor"])
      printf "  plugin processes per batch:     %d  (goal 1)\n", metric["BenchmarkBatchSubmit", "plugins"]
    }
    if (("BenchmarkSubmitBundle", "plugin-peak-MiB") in metric) {
      printf "job submit, %.0f MiB work dir (%.0f MiB of data, the rest holes):\n", metric["BenchmarkSubmitBundle", "workdir-MiB"], metric["BenchmarkSubmitBundle", "data-MiB"]
      printf "  peak RSS: plugin %.0f MiB, host %.0f MiB; the job'"'"'s copy takes %.0f MiB of disk\n", metric["BenchmarkSubmitBundle", "plugin-peak-MiB"], metric["BenchmarkSubmitBundle", "host-peak-MiB"], metric["BenchmarkSubmitBundle", "copy-disk-MiB"]
    }
    if (ns["BenchmarkJobListStates"] != "") {
      s = "BenchmarkJobListStates"
      printf "job list, 1000 running jobs of one platform, 20 ms a call:\n"
      printf "  through the listing, 100 a page: %4d platform calls, %5.0f ms  (goal: calls <= 1000/100 + 1)\n", metric[s, "calls/paged"], best[s, "ms/paged"]
      printf "  per job, 16 at a time:           %4d platform calls, %5.0f ms\n", metric[s, "calls/per-job"], best[s, "ms/per-job"]
      printf "  speed-up: %.2fx for the whole command (goal >= 10x); %.2fx net of the %.0f ms it takes with calls that take no time\n", metric[s, "speedup"], metric[s, "speedup/net"], best[s, "ms/floor"]
    }
    for (d = 0; d < 2; d++) {
      dir = d ? "Download" : "Upload"
      for (t = 0; t < 2; t++) {
        s = "BenchmarkFiles" dir "/" (t ? "sagemaker" : "local")
        if (!((s, "stream/measured") in metric)) continue
        if (!header++) printf "files, %.0f MiB, as a ratio to a bare go-plugin gRPC stream of the same bytes, file to file:\n", metric[s, "MiB"]
        printf "  %-8s %-9s %6.0f ms, stream %6.0f ms: %.2f  (goal >= 0.70); peak RSS plugin %3.0f MiB, host %3.0f MiB  (goal <= 64 each)\n", tolower(dir), (t ? "sagemaker" : "local"), best[s, "ms/measured"], best[s, "ms/stream"], metric[s, "stream/measured"], metric[s, "plugin-peak-MiB"], metric[s, "host-peak-MiB"]
      }
    }
  }' <<<"$out"
