#!/usr/bin/env bash
# Runs the frontend fuzzer for a bounded time on a scratch copy of the seed
# corpus. Exits non-zero if the fuzzer finds a crash, leak, timeout or OOM; the
# reproducer is kept in BUILD_DIR/fuzz-artifacts/.
#   usage: tests/fuzz/run-fuzz.sh BUILD_DIR [SECONDS]     (default 60 s)
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 BUILD_DIR [SECONDS]" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
seconds=${2:-60}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

fuzzer="$build_dir/tests/fuzz/heed_frontend_fuzzer"
if [[ ! -x "$fuzzer" ]]; then
  fuzzer=$(find "$build_dir" -type f -name heed_frontend_fuzzer -perm -u+x | head -n 1)
fi
if [[ -z "$fuzzer" || ! -x "$fuzzer" ]]; then
  echo "error: heed_frontend_fuzzer not found under $build_dir (configure with -DHEED_BUILD_FUZZER=ON and build it)" >&2
  exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/heed-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -r "$here/corpus" "$work/corpus"
artifacts="$build_dir/fuzz-artifacts"
mkdir -p "$artifacts"

set +e
"$fuzzer" "$work/corpus" \
  -dict="$here/heed.dict" \
  -max_total_time="$seconds" \
  -rss_limit_mb=2048 \
  -timeout=5 \
  -max_len=4096 \
  -print_final_stats=1 \
  -artifact_prefix="$artifacts/" \
  2>&1 | tee "$work/fuzz.log" | grep --line-buffered -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)'
status=${PIPESTATUS[0]}
set -e

if [[ $status -ne 0 ]]; then
  echo "FUZZER FAILED (exit $status); reproducers in $artifacts:" >&2
  ls -l "$artifacts" >&2 || true
  exit 1
fi
echo "fuzzing for ${seconds}s found nothing ($(ls "$work/corpus" | wc -l) corpus entries)"
