#!/usr/bin/env bash
# Runs heed's libFuzzer targets for a bounded time each, on scratch copies of
# their seed corpora: heed_frontend_fuzzer (model files; corpus/, heed.dict) and
# heed_data_fuzzer (checkpoints, .npy, TSV data, vocabularies, text, --buckets;
# data-corpus/). Exits non-zero if a fuzzer finds a crash, leak, timeout or OOM;
# the reproducer is kept in BUILD_DIR/fuzz-artifacts/.
#   usage: tests/fuzz/run-fuzz.sh BUILD_DIR [SECONDS] [FUZZER...]   (default 60 s each, both)
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 BUILD_DIR [SECONDS] [FUZZER...]" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
seconds=${2:-60}
shift $(( $# >= 2 ? 2 : 1 ))
fuzzers=("$@")
[[ ${#fuzzers[@]} -gt 0 ]] || fuzzers=(heed_frontend_fuzzer heed_data_fuzzer)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
artifacts="$build_dir/fuzz-artifacts"
mkdir -p "$artifacts"
work=$(mktemp -d "${TMPDIR:-/tmp}/heed-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

for name in "${fuzzers[@]}"; do
  case "$name" in
    heed_frontend_fuzzer) corpus=corpus; extra=(-dict="$here/heed.dict") ;;
    heed_data_fuzzer) corpus=data-corpus; extra=() ;;
    *) echo "error: unknown fuzzer '$name' (heed_frontend_fuzzer, heed_data_fuzzer)" >&2; exit 2 ;;
  esac
  fuzzer="$build_dir/tests/fuzz/$name"
  if [[ ! -x "$fuzzer" ]]; then
    echo "error: $name not found under $build_dir (configure with -DHEED_BUILD_FUZZER=ON and build it)" >&2
    exit 2
  fi
  cp -r "$here/$corpus" "$work/$name"
  set +e
  "$fuzzer" "$work/$name" "${extra[@]}" \
    -max_total_time="$seconds" \
    -rss_limit_mb=2048 \
    -timeout=5 \
    -max_len=4096 \
    -print_final_stats=1 \
    -artifact_prefix="$artifacts/$name-" \
    2>&1 | tee "$work/$name.log" | grep --line-buffered -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)'
  status=${PIPESTATUS[0]}
  set -e
  if [[ $status -ne 0 ]]; then
    echo "FUZZER $name FAILED (exit $status); reproducers in $artifacts:" >&2
    ls -l "$artifacts" >&2 || true
    exit 1
  fi
  echo "$name: fuzzing for ${seconds}s found nothing ($(ls "$work/$name" | wc -l) corpus entries)"
done
