//===- native_kernels.cpp - reference vs native kernel timings ------------===//
//
// heed_bench_native [--quick] [--cpu-time] [--filter=SUBSTRING]: times the reference kernels (single-threaded
// oracles) against the native ones at 1 and 2 threads (or the OpenMP default),
// plus the loop / oneDNN variants where both exist. Prints milliseconds per
// call (best of several trials) and GFLOP/s or GB/s. Run on an idle machine,
// with OMP_WAIT_POLICY left at its default (active) for the best numbers. On a
// shared machine, --cpu-time (with OMP_WAIT_POLICY=passive) counts CPU seconds
// instead: at 1 thread close to the wall time of an idle machine.
//
//===----------------------------------------------------------------------===//

#include "runtime/Random.h"
#include "runtime/kernels/Reference.h"
#include "runtime/native/Native.h"
#include "runtime/native/Variants.h"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <ctime>
#include <cmath>
#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

using namespace heed::rt;
namespace nat = heed::rt::native;

namespace {

double gMinSeconds = 0.25;
std::string gFilter;  // only kernels whose name contains this

std::vector<float> rnd(int64_t n, uint64_t seed, float lo = -1.f, float hi = 1.f) {
  std::vector<float> v((size_t)n);
  for (int64_t i = 0; i < n; ++i) v[i] = lo + (hi - lo) * uniform01(seed, 1, (uint64_t)i);
  return v;
}

std::vector<int32_t> rndIds(int64_t n, int64_t V, uint64_t seed) {
  std::vector<int32_t> v((size_t)n);
  for (int64_t i = 0; i < n; ++i)
    v[i] = (int32_t)std::min<int64_t>(V - 1, (int64_t)(uniform01(seed, 2, (uint64_t)i) * V));
  return v;
}

/// Seconds per call: warm up once, then best of 5 trials, each repeating f for
/// about gMinSeconds / 5.
/// Seconds now: wall clock, or with --cpu-time the process's CPU time (all
/// threads' together), which a machine shared with other work inflates less.
bool gCpuTime = false;
double now() {
  if (gCpuTime) {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double timeIt(const std::function<void()> &f) {
  f();
  double t0 = now();
  f();
  double one = now() - t0;
  const int reps = std::max(1, (int)(gMinSeconds / 5 / std::max(one, 1e-9)));
  double best = 1e30;
  for (int trial = 0; trial < 5; ++trial) {
    double s = now();
    for (int r = 0; r < reps; ++r) f();
    best = std::min(best, (now() - s) / reps);
  }
  return best;
}

struct Row {
  std::string kernel, impl;
  int threads;  // 0: reference (single-threaded)
  double seconds;
  double work;  // flops or bytes
  bool flops;
};
std::vector<Row> rows;

void report(const Row &r) {
  rows.push_back(r);
  const double rate = r.work / r.seconds / 1e9;
  fmt::print("{:<44} {:<8} {:>3} {:>10.3f} ms {:>9.2f} {}\n", r.kernel, r.impl,
             r.threads ? std::to_string(r.threads) : std::string("-"), r.seconds * 1e3, rate,
             r.flops ? "GFLOP/s" : "GB/s");
  std::fflush(stdout);
}

/// Times the reference once and each native implementation at each thread count.
void bench(const std::string &kernel, double work, bool flops, const std::function<void()> &refFn,
           const std::vector<std::pair<std::string, std::function<void()>>> &impls,
           const std::vector<int> &threads) {
  if (kernel.find(gFilter) == std::string::npos) return;
  if (refFn) report({kernel, "ref", 0, timeIt(refFn), work, flops});
  for (int t : threads) {
    nat::setThreads(t);
    for (auto &[name, f] : impls) report({kernel, name, t, timeIt(f), work, flops});
  }
  nat::setThreads(0);
}

void benchMatmul(const std::string &name, int64_t batch, int64_t M, int64_t N, int64_t K,
                 bool transB, bool bias, nat::Act act, const std::vector<int> &threads,
                 bool withRef = true) {
  auto a = rnd(batch * M * K, 1), b = rnd(batch * K * N, 2), bs = rnd(N, 3);
  std::vector<float> c((size_t)(batch * M * N));
  Tensor ta = Tensor::fromF32({batch, M, K}, a);
  Tensor tb = Tensor::fromF32({batch, transB ? N : K, transB ? K : N}, b);
  std::function<void()> refFn;
  if (withRef)
    refFn = [&] {
      Tensor bb = transB ? ref::transpose(tb, {0, 2, 1}) : tb;
      Tensor r = ref::matmul(ta, bb);
      if (bias) r = ref::binary(ref::BinaryKind::Add, r, Tensor::fromF32({N}, bs));
      if (act == nat::Act::Gelu) r = ref::unary(ref::UnaryKind::Gelu, r);
      if (act == nat::Act::Relu) r = ref::unary(ref::UnaryKind::Relu, r);
    };
  bench(name, 2.0 * batch * M * N * K, true, refFn,
        {{"native", [&] {
            nat::matmul(a.data(), b.data(), c.data(), batch, M, N, K, false, transB,
                        bias ? bs.data() : nullptr, act, false, M * K, K * N);
          }}},
        threads);
}

}  // namespace

int main(int argc, char **argv) {
  bool quick = false;
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--quick") quick = true;
    else if (std::string(argv[i]) == "--cpu-time") gCpuTime = true;
    else if (std::string(argv[i]).rfind("--filter=", 0) == 0) gFilter = argv[i] + 9;
  if (quick) gMinSeconds = 0.05;
  const int maxThreads = omp_get_max_threads();
  std::vector<int> threads = {1};
  if (maxThreads > 1) threads.push_back(std::min(2, maxThreads));
  fmt::print("heed_bench_native: OpenMP max threads {}, OMP_WAIT_POLICY={}\n", maxThreads,
             getenv("OMP_WAIT_POLICY") ? getenv("OMP_WAIT_POLICY") : "(default)");
  fmt::print("{:<44} {:<8} {:>3} {:>13} {:>17}\n", "kernel", "impl", "thr", "time", "rate");

  // --- matmul --------------------------------------------------------------
  benchMatmul("matmul 256^3", 1, 256, 256, 256, false, false, nat::Act::None, threads);
  benchMatmul("matmul 1024^3", 1, 1024, 1024, 1024, false, false, nat::Act::None, threads);
  benchMatmul("matmul [2048,128]@[128,512]", 1, 2048, 512, 128, false, false, nat::Act::None,
              threads);
  benchMatmul("matmul [2048,128]@[128,512] +bias gelu", 1, 2048, 512, 128, false, true,
              nat::Act::Gelu, threads);
  benchMatmul("attn [64,128,32]@[64,32,128]", 64, 128, 128, 32, false, false, nat::Act::None,
              threads);
  benchMatmul("attn [64,128,32]@[64,128,32]^T", 64, 128, 128, 32, true, false, nat::Act::None,
              threads);
  benchMatmul("attn [64,128,128]@[64,128,32]", 64, 128, 32, 128, false, false, nat::Act::None,
              threads);

  // --- layer norm [2048, 128] ------------------------------------------------
  {
    const int64_t R = 2048, D = 128;
    const float eps = 1e-5f;
    auto x = rnd(R * D, 4, -2.f, 3.f), g = rnd(D, 5), b = rnd(D, 6), dy = rnd(R * D, 7);
    std::vector<float> y(R * D), dx(R * D), dg(D), db(D), mean(R), rstd(R), var(R);
    Tensor tx = Tensor::fromF32({R, D}, x), tg = Tensor::fromF32({D}, g),
           tb = Tensor::fromF32({D}, b), tdy = Tensor::fromF32({R, D}, dy);
    const double bytesF = 2.0 * R * D * 4, bytesB = 3.0 * R * D * 4;
    bench("layernorm fwd [2048,128]", bytesF, false, [&] { ref::layerNorm(tx, tg, tb, eps); },
          {{"public", [&] {
              nat::layerNormForward(x.data(), g.data(), b.data(), y.data(), mean.data(),
                                    rstd.data(), R, D, eps);
            }},
           {"loops", [&] {
              nat::variant::layerNormForwardLoops(x.data(), g.data(), b.data(), y.data(),
                                                  mean.data(), rstd.data(), R, D, eps);
            }},
           {"onednn", [&] {
              nat::variant::layerNormForwardDnnl(x.data(), g.data(), b.data(), y.data(),
                                                 mean.data(), var.data(), R, D, eps);
            }}},
          threads);
    nat::variant::layerNormForwardLoops(x.data(), g.data(), b.data(), y.data(), mean.data(),
                                        rstd.data(), R, D, eps);
    nat::variant::layerNormForwardDnnl(x.data(), g.data(), b.data(), y.data(), mean.data(),
                                       var.data(), R, D, eps);
    std::vector<float> mean2(R);
    nat::variant::layerNormForwardLoops(x.data(), g.data(), b.data(), y.data(), mean2.data(),
                                        rstd.data(), R, D, eps);
    bench("layernorm bwd [2048,128]", bytesB, false,
          [&] { ref::layerNormGrad(tx, tg, tdy, eps); },
          {{"public", [&] {
              nat::layerNormBackward(x.data(), g.data(), mean2.data(), rstd.data(), dy.data(),
                                     dx.data(), dg.data(), db.data(), R, D, eps);
            }},
           {"loops", [&] {
              nat::variant::layerNormBackwardLoops(x.data(), g.data(), mean2.data(), rstd.data(),
                                                   dy.data(), dx.data(), dg.data(), db.data(), R,
                                                   D, eps);
            }},
           {"onednn", [&] {
              nat::variant::layerNormBackwardDnnl(x.data(), g.data(), mean.data(), var.data(),
                                                  dy.data(), dx.data(), dg.data(), db.data(), R,
                                                  D, eps);
            }}},
          threads);
  }

  // --- layer norm as the compiled step calls it: g2p's [64*24, 128], no saved statistics
  {
    const int64_t R = 64 * 24, D = 128;
    const float eps = 1e-5f;
    auto x = rnd(R * D, 4, -2.f, 3.f), g = rnd(D, 5), b = rnd(D, 6), dy = rnd(R * D, 7);
    std::vector<float> y(R * D), dx(R * D), dg(D), db(D);
    bench("layernorm fwd [1536,128] no stats", 2.0 * R * D * 4, false, nullptr,
          {{"public", [&] {
              nat::layerNormForward(x.data(), g.data(), b.data(), y.data(), nullptr, nullptr, R,
                                    D, eps);
            }}},
          threads);
    bench("layernorm bwd [1536,128] no stats", 3.0 * R * D * 4, false, nullptr,
          {{"public", [&] {
              nat::layerNormBackward(x.data(), g.data(), nullptr, nullptr, dy.data(), dx.data(),
                                     dg.data(), db.data(), R, D, eps);
            }}},
          threads);
  }

  // --- softmax [16*4*128, 128] -------------------------------------------------
  {
    const int64_t R = 16 * 4 * 128, N = 128;
    auto x = rnd(R * N, 8, -5.f, 5.f), dy = rnd(R * N, 9);
    std::vector<float> y(R * N), dx(R * N);
    Tensor tx = Tensor::fromF32({R, N}, x);
    bench("softmax fwd [8192,128]", 2.0 * R * N * 4, false, [&] { ref::softmax(tx, -1); },
          {{"public", [&] { nat::softmaxForward(x.data(), y.data(), R, N); }},
           {"loops", [&] { nat::variant::softmaxForwardLoops(x.data(), y.data(), R, N, false); }},
           {"onednn", [&] { nat::variant::softmaxForwardDnnl(x.data(), y.data(), R, N, false); }}},
          threads);
    nat::softmaxForward(x.data(), y.data(), R, N);
    bench("softmax bwd [8192,128]", 3.0 * R * N * 4, false, nullptr,
          {{"loops",
            [&] { nat::variant::softmaxBackwardLoops(y.data(), dy.data(), dx.data(), R, N, false); }},
           {"onednn",
            [&] { nat::variant::softmaxBackwardDnnl(y.data(), dy.data(), dx.data(), R, N, false); }}},
          threads);
  }

  // --- cross entropy [2048, 256], and small's [8*256, 4096] --------------------
  for (const int64_t V : {256, 4096}) {
    const int64_t R = 2048;
    auto x = rnd(R * V, 10, -4.f, 4.f);
    auto t = rndIds(R, V, 11);
    std::vector<float> g(R * V);
    Tensor tx = Tensor::fromF32({R, V}, x), tt = Tensor::fromI32({R}, t);
    Tensor one = Tensor::scalarF32(1.f);
    bench(fmt::format("cross entropy fwd+bwd [{},{}] s=0.1", R, V), 2.0 * R * V * 4, false,
          [&] {
            ref::crossEntropy(tx, tt, 0.1f, -1);
            ref::crossEntropyGrad(tx, tt, one, 0.1f, -1);
          },
          {{"loops", [&] {
              nat::variant::crossEntropyForwardLoops(x.data(), t.data(), R, V, 0.1f, -1);
              nat::variant::crossEntropyBackwardLoops(x.data(), t.data(), 1.f, g.data(), R, V,
                                                      0.1f, -1);
            }},
           {"onednn", [&] {
              nat::variant::crossEntropyForwardDnnl(x.data(), t.data(), R, V, 0.1f, -1);
              nat::variant::crossEntropyBackwardDnnl(x.data(), t.data(), 1.f, g.data(), R, V,
                                                     0.1f, -1);
            }}},
          threads);
  }

  // --- gelu, dropout, embeddings, adam ---------------------------------------
  {
    const int64_t n = 2048 * 512;
    auto x = rnd(n, 12, -4.f, 4.f), dy = rnd(n, 13);
    std::vector<float> y(n), dx(n);
    Tensor tx = Tensor::fromF32({n}, x), tdy = Tensor::fromF32({n}, dy);
    bench("gelu fwd [2048*512]", 2.0 * n * 4, false,
          [&] { ref::unary(ref::UnaryKind::Gelu, tx); },
          {{"loops", [&] { nat::variant::geluForwardLoops(x.data(), y.data(), n); }},
           {"onednn", [&] { nat::variant::geluForwardDnnl(x.data(), y.data(), n); }}},
          threads);
    bench("gelu bwd [2048*512]", 3.0 * n * 4, false, [&] { ref::geluGrad(tx, tdy); },
          {{"loops", [&] { nat::variant::geluBackwardLoops(x.data(), dy.data(), dx.data(), n); }},
           {"onednn", [&] { nat::variant::geluBackwardDnnl(x.data(), dy.data(), dx.data(), n); }}},
          threads);
    bench("dropout p=0.1 [2048*512]", 2.0 * n * 4, false,
          [&] { ref::dropout(tx, 0.1f, 1, 2); },
          {{"native", [&] { nat::dropout(x.data(), y.data(), n, 0.1f, 1, 2); }}}, threads);
    // A g2p 8/8 bucket activation [128, 8, 128].
    const int64_t m = 128 * 8 * 128;
    Tensor tm = Tensor::fromF32({m}, std::vector<float>(x.begin(), x.begin() + m));
    bench("dropout p=0.1 [128*8*128]", 2.0 * m * 4, false, [&] { ref::dropout(tm, 0.1f, 1, 2); },
          {{"native", [&] { nat::dropout(x.data(), y.data(), m, 0.1f, 1, 2); }}}, threads);
  }
  {
    const int64_t n = 2048, V = 256, D = 128;
    auto table = rnd(V * D, 14), dy = rnd(n * D, 15);
    auto ids = rndIds(n, V, 16);
    std::vector<float> out(n * D), grad(V * D);
    Tensor tt = Tensor::fromF32({V, D}, table), ti = Tensor::fromI32({n}, ids),
           tdy = Tensor::fromF32({n, D}, dy);
    bench("gather [2048] from [256,128]", 2.0 * n * D * 4, false, [&] { ref::gather(tt, ti); },
          {{"native", [&] { nat::gather(table.data(), ids.data(), out.data(), n, V, D); }}},
          threads);
    bench("scatterAdd [2048,128] -> [256,128]", 1.0 * (n + V) * D * 4, false,
          [&] { ref::scatterAdd(tdy, ti, V); },
          {{"native", [&] { nat::scatterAdd(dy.data(), ids.data(), grad.data(), n, V, D); }}},
          threads);
  }
  {
    const int64_t n = 1 << 20;
    auto p = rnd(n, 17), m = rnd(n, 18), v = rnd(n, 19, 0.f, 1.f), g = rnd(n, 20);
    Tensor tp = Tensor::fromF32({n}, p), tm = Tensor::fromF32({n}, m), tv = Tensor::fromF32({n}, v),
           tg = Tensor::fromF32({n}, g);
    int64_t step = 1;
    bench("adam [1M]", 7.0 * n * 4, false,
          [&] { ref::adamUpdate(tp, tm, tv, tg, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, step); },
          {{"native", [&] {
              nat::adam(p.data(), m.data(), v.data(), g.data(), n, 1e-3f, 0.9f, 0.999f, 1e-8f,
                        0.01f, step);
            }}},
          threads);
    bench("sumSquares [1M]", 1.0 * n * 4, false, [&] { ref::globalNorm({&tg}); },
          {{"native", [&] { nat::sumSquares(g.data(), n); }}}, threads);
  }
  {
    // The optimizer step over g2p's parameters (translate.heed, d_model 128, d_ff 512,
    // 3 + 3 layers): the norm, then Adam, tensor by tensor or batched in one pass.
    std::vector<int64_t> sizes = {64 * 128, 64 * 128, 128 * 64, 64};
    auto attn = [&] {
      for (int i = 0; i < 4; ++i) sizes.insert(sizes.end(), {128 * 128, 128});
    };
    auto block = [&] {
      sizes.insert(sizes.end(), {128 * 512, 512, 512 * 128, 128, 128, 128, 128, 128});
    };
    for (int l = 0; l < 3; ++l) attn(), block();
    for (int l = 0; l < 3; ++l) attn(), attn(), block(), sizes.insert(sizes.end(), {128, 128});
    int64_t total = 0;
    for (int64_t n : sizes) total += n;
    std::vector<std::vector<float>> p, m, v, g;
    std::vector<AdamBuffers> bufs;
    std::vector<const float *> gp;
    for (size_t i = 0; i < sizes.size(); ++i) {
      p.push_back(rnd(sizes[i], 30 + i)), m.push_back(rnd(sizes[i], 31 + i, -.1f, .1f));
      v.push_back(rnd(sizes[i], 32 + i, 0.f, .01f)), g.push_back(rnd(sizes[i], 33 + i));
    }
    for (size_t i = 0; i < sizes.size(); ++i) {
      bufs.push_back({p[i].data(), m[i].data(), v[i].data(), g[i].data(), sizes[i]});
      gp.push_back(g[i].data());
    }
    bench(fmt::format("optimizer step g2p ({} tensors, {} floats)", sizes.size(), total),
          8.0 * total * 4, false, nullptr,
          {{"each", [&] {
              double sq = 0;
              for (size_t i = 0; i < sizes.size(); ++i) sq += nat::sumSquares(gp[i], sizes[i]);
              for (auto &b : bufs)
                nat::adam(b.param, b.m, b.v, b.grad, b.n, 1e-4f, 0.9f, 0.98f, 1e-9f, 0.f, 3);
            }},
           {"batched", [&] {
              nat::sumSquaresAll(gp.data(), sizes.data(), (int64_t)sizes.size());
              nat::adamAll(bufs.data(), (int64_t)bufs.size(), 1.f, 0.f, 1e-4f, 0.9f, 0.98f,
                           1e-9f, 0.f, 3);
            }}},
          threads);
  }
  // Fused attention (float32 and, where the CPU has avx512_bf16, bf16): tiny's shape, and g2p's (T = 24: short rows, little work per
  // (batch, head)) causal and with key padding (a quarter of each row padded).
  struct AttnCase {
    int64_t B, H, T, dh;
    bool causal, padding;
  };
  // The small LM's shape (bench/compare.sh: seq 256, 8 heads) too.
  for (const AttnCase &ac : {AttnCase{16, 4, 128, 32, true, false}, AttnCase{16, 4, 128, 32, false, false},
                             AttnCase{8, 8, 256, 32, true, false},
                             AttnCase{64, 4, 24, 32, true, false}, AttnCase{64, 4, 24, 32, false, true}}) {
    // GFLOP/s count the nominal dense products (as the step's matmul FLOPs do):
    // 4 B H T T dh forward, 8 backward.
    nat::AttentionShape sh;
    sh.B = ac.B, sh.H = ac.H, sh.Tq = ac.T, sh.Tk = ac.T, sh.dh = ac.dh, sh.causal = ac.causal;
    sh.scale = 1.0f / std::sqrt((float)ac.dh);
    const int64_t nq = sh.B * sh.H * sh.Tq * sh.dh, nl = sh.B * sh.H * sh.Tq;
    auto q = rnd(nq, 21), k = rnd(nq, 22), v = rnd(nq, 23), dout = rnd(nq, 24);
    std::vector<float> o(nq), lse(nl), dq(nq), dk(nq), dv(nq);
    std::vector<uint8_t> pad((size_t)(sh.B * sh.Tk), 0);
    for (int64_t b = 0; b < sh.B; ++b)
      for (int64_t j = sh.Tk - (b % 4) * sh.Tk / 8; j < sh.Tk; ++j) pad[b * sh.Tk + j] = 1;
    const uint8_t *kp = ac.padding ? pad.data() : nullptr;
    const double dense = (double)sh.B * sh.H * sh.Tq * sh.Tk * sh.dh;
    const std::string tag = fmt::format("[{},{},{},{},{}]{}{}", sh.B, sh.H, sh.Tq, sh.Tk, sh.dh,
                                        ac.causal ? " causal" : "", ac.padding ? " padding" : "");
    std::vector<std::pair<std::string, std::function<void()>>> fwd, bwd;
    for (bool avx : {true, false}) {
      if (avx && !nat::variant::attentionHasAvx512()) continue;
      const std::string isa = avx ? "avx512" : "baseline";
      fwd.push_back({isa, [&, avx] {
                       nat::variant::attentionForward(avx, sh, q.data(), k.data(), v.data(), kp,
                                                      o.data(), lse.data());
                     }});
      bwd.push_back({isa, [&, avx] {
                       nat::variant::attentionBackward(avx, sh, q.data(), k.data(), v.data(), kp,
                                                       o.data(), lse.data(), dout.data(), nullptr,
                                                       dq.data(), dk.data(), dv.data());
                     }});
    }
    if (nat::variant::attentionHasAvx512() && __builtin_cpu_supports("avx512bf16")) {
      nat::AttentionShape sb = sh;  // the products on bf16 operands (--precision bf16)
      sb.bf16 = true;
      fwd.push_back({"bf16", [&, sb] {
                       nat::variant::attentionForward(true, sb, q.data(), k.data(), v.data(), kp, o.data(),
                                                      lse.data());
                     }});
      bwd.push_back({"bf16", [&, sb] {
                       nat::variant::attentionBackward(true, sb, q.data(), k.data(), v.data(), kp, o.data(),
                                                       lse.data(), dout.data(), nullptr, dq.data(), dk.data(),
                                                       dv.data());
                     }});
    }
    nat::attentionForward(sh, q.data(), k.data(), v.data(), kp, o.data(), lse.data());
    bench("sdpa fwd " + tag, 4 * dense, true, nullptr, fwd, threads);
    bench("sdpa bwd " + tag, 8 * dense, true, nullptr, bwd, threads);
  }
  return 0;
}
