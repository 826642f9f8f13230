# Sanitizer settings for the AddressSanitizer + UBSan build (build-asan, HEED_SANITIZE=ON):
#   source tests/sanitizers/options.sh
# Every report stops the test that triggered it (halt_on_error), so a test passes only
# if it ran clean. Suppressions are in lsan.supp and ubsan.supp next to this file, each
# with the reason it is there.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:check_initialization_order=1:detect_odr_violation=1"
export LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$here/ubsan.supp"
# The suites' own settings (tools/test.sh): spinning OpenMP threads on a busy machine.
export OMP_WAIT_POLICY=passive
