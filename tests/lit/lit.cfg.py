# lit configuration for heed's IR and CLI tests.
import os
import lit.formats

config.name = "heed"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".heed", ".test"]
config.test_source_root = os.path.dirname(__file__)

site = lit_config.params.get("heed_site_config")
if site:
    lit_config.load_config(config, site)
else:
    lit_config.fatal("run through ctest (it passes heed_site_config)")

config.test_exec_root = os.path.join(os.path.dirname(site), "out")
config.environment["PATH"] = os.pathsep.join(
    [config.heed_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", "/usr/bin:/bin")])
# A compile that takes more than 2 s prints its stages on stderr (compiler/CompileProgress.h);
# on a loaded machine that would add lines to tests that check stderr line by line, so
# tests run with it off and compile_progress.test turns it on.
config.environment["HEED_COMPILE_PROGRESS"] = "0"
config.substitutions.append(("%examples", os.path.join(config.heed_source_dir, "examples")))
config.substitutions.append(("%heed", os.path.join(config.heed_tools_dir, "heed")))
# AddressSanitizer reserves terabytes of address space: tests that cap it (prlimit --as)
# say "UNSUPPORTED: asan".
if getattr(config, "heed_sanitize", False):
    config.available_features.add("asan")
# bf16 precision runs only on CPUs with AVX512_BF16 (docs/PRECISION.md): "REQUIRES: avx512_bf16".
try:
    if any(l.startswith("flags") and " avx512_bf16" in l for l in open("/proc/cpuinfo")):
        config.available_features.add("avx512_bf16")
except OSError:
    pass
# Model files that are inputs of other tests, not tests themselves.
config.excludes = ["Inputs"]
