#!/usr/bin/env bash
# Builds the API request fuzzer (api_request_fuzz.cc) with clang++ and libFuzzer, AddressSanitizer
# and UndefinedBehaviorSanitizer, then runs it over the seed corpus for a fixed number of inputs
# (at most 55 seconds of fuzzing). Exits non-zero on any crash or sanitizer report.
#
# usage: tests/fuzz_api/run_fuzz.sh [WORK_DIR] [RUNS]
#   WORK_DIR  where the binary and the growing corpus live (default: $TMPDIR/ember-fuzz-api)
#   RUNS      inputs to try (default: 300000)
# CLANGXX picks the compiler (default: clang++).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${1:-${TMPDIR:-/tmp}/ember-fuzz-api}
runs=${2:-300000}
cxx=${CLANGXX:-clang++}

if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "run_fuzz.sh: FAIL: '$cxx' not found; libFuzzer needs clang (Debian: apt-get install clang)" >&2
  exit 1
fi

sources=(
  tests/fuzz_api/api_request_fuzz.cc
  vmm/controller/action.cc api/json_fields.cc api/body_parsers.cc api/request_parser.cc api/response.cc
  config/vm_config.cc
)
flags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=all -I"$root")

mkdir -p "$work/obj" "$work/corpus"
bin=$work/api_request_fuzz

# Rebuild the objects whose source, or any header of api/ and vmm/config/, is newer; two at a time.
newest_header=$(find "$root/api" "$root/config" "$root/base" -name '*.h' -printf '%T@\n' | sort -n | tail -1)
objects=()
pids=()
for src in "${sources[@]}"; do
  obj=$work/obj/$(echo "$src" | tr / _).o
  objects+=("$obj")
  if [ -f "$obj" ] && [ "$obj" -nt "$root/$src" ] &&
     [ "$(stat -c %Y "$obj")" -ge "${newest_header%.*}" ]; then
    continue
  fi
  echo "run_fuzz.sh: compiling $src"
  "$cxx" "${flags[@]}" -c "$root/$src" -o "$obj" &
  pids+=($!)
  if [ "${#pids[@]}" -ge 2 ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
for pid in "${pids[@]}"; do wait "$pid"; done
"$cxx" "${flags[@]}" "${objects[@]}" -o "$bin"

# New inputs go to the first corpus folder (the work copy); the seeds stay as they are. A
# crashing input is saved in WORK_DIR: add it to tests/fuzz_api/corpus/ once fixed.
echo "run_fuzz.sh: running $runs inputs"
if ! "$bin" -runs="$runs" -max_total_time=55 -max_len=4096 -timeout=5 -rss_limit_mb=2048 \
    -artifact_prefix="$work/" -dict="$here/api.dict" -print_final_stats=1 "$work/corpus" "$here/corpus"; then
  echo "run_fuzz.sh: FAIL: the crashing input is in $work (crash-*, leak-*, timeout-*)" >&2
  exit 1
fi
echo "run_fuzz.sh: PASS"
