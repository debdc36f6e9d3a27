#!/usr/bin/env bash
# Fuzzing campaign: runs each cargo-fuzz target for SECONDS, one after the
# other (the machine has two cores; one target at a time keeps the other
# free), and prints how many inputs each one executed.
#
#   fuzz/run.sh SECONDS [TARGET...]     (all targets when none is named)
#
# Corpora live in fuzz/corpus/TARGET (kept between runs, seeded from the
# repository's fixture documents), crashes in fuzz/artifacts/TARGET, logs
# in fuzz/logs/TARGET.log, and every run adds a line to fuzz/logs/runs.tsv
# (date, target, seconds, executions). Exits non-zero when a target finds
# a crash, a hang (over 25 s on one input: on a loaded shared machine a
# 10 s limit once caught an input that runs in under a millisecond) or an
# out-of-memory input.
#
# FUZZ_TOOLCHAIN (default nightly) and FUZZ_SANITIZER (default none: the
# crate forbids unsafe code; use address to check its dependencies too)
# are passed to cargo fuzz.
set -euo pipefail
cd "$(dirname "$0")"

seconds=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
if (($# == 0)); then
  set -- xml_reader json_reader evaluate layer admin
fi
toolchain=${FUZZ_TOOLCHAIN:-nightly}
sanitizer=${FUZZ_SANITIZER:-none}

# Seeds: every fixture document of the repository. The structured targets
# read them as raw bytes for `arbitrary`: varied starting points.
fixtures=(../tests/fixtures/*.xml ../tests/fixtures/*.json
  ../examples/bucket-server/tests/fixtures/*.xml ../examples/bucket-server/tests/fixtures/*.json)
for target in "$@"; do
  mkdir -p "corpus/${target}"
  for file in "${fixtures[@]}"; do
    case "${target}:${file}" in
      xml_reader:*.json | json_reader:*.xml) continue ;;
    esac
    cp -n "${file}" "corpus/${target}/seed-$(basename "${file}")"
  done
done
mkdir -p logs

cargo "+${toolchain}" fuzz build -s "${sanitizer}"

status=0
for target in "$@"; do
  printf '\n==> %s for %s s\n' "${target}" "${seconds}"
  if ! cargo "+${toolchain}" fuzz run -s "${sanitizer}" "${target}" "corpus/${target}" -- \
      -max_total_time="${seconds}" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
      >"logs/${target}.log" 2>&1; then
    echo "${target}: FAILED (see fuzz/logs/${target}.log and fuzz/artifacts/${target}/)"
    tail -n 40 "logs/${target}.log"
    status=1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "logs/${target}.log" | tail -n 1)
  printf '%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "${target}" "${seconds}" "${runs:-0}" >>logs/runs.tsv
  echo "${target}: ${runs:-0} executions in ${seconds} s"
done
exit "${status}"
