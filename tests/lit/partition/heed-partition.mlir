// heed-partition: which ops become library calls (and what their calls absorb:
// transposes as strides, bias/activation/residual adds as oneDNN post-ops),
// which fuse into kernels, and which kernels are row-split.
// RUN: heed-opt %s -heed-partition='row-chunks=1' | FileCheck %s
// RUN: heed-opt %s -heed-partition='row-chunks=1 epilogues=false' | FileCheck %s --check-prefix=NOEPI
// RUN: heed-opt %s -heed-partition='row-chunks=1 residual-epilogues=false' | FileCheck %s --check-prefix=NORES
// RUN: env HEED_MATMUL_EPILOGUES=0 heed-opt %s -heed-partition='row-chunks=1' | FileCheck %s --check-prefix=NOEPI
// RUN: heed-opt %s -heed-partition='row-split-min-elements=1' | FileCheck %s --check-prefix=SPLIT
// RUN: heed-opt %s -heed-partition | FileCheck %s --check-prefix=SMALL
// RUN: heed-opt %s -canonicalize -heed-partition='row-chunks=1' | FileCheck %s --check-prefix=CANON

// Library routing: ops whose record says Library (layer norm, dropout, ...) and
// a last-axis softmax are library calls; a softmax over another axis and
// elementwise ops fuse. A dropout with p = 0 folds away (canonicalize).
// CHECK-LABEL: func.func @routing
// CHECK-SAME: heed.fused_kernels = 1 : i64, heed.library_calls = 4 : i64
// CHECK: heed.layer_norm {{.*}}heed.library = "layer_norm"
// CHECK: heed.softmax {{.*}}axis = -1 : i64, heed.library = "softmax"
// CHECK: heed.softmax {{.*}}axis = 0 : i64, heed.kernel = "routing_k0"
// CHECK: heed.exp {{.*}}heed.kernel = "routing_k0"
// CHECK: heed.dropout {{.*}}heed.library = "dropout", p = 1.0
// CHECK: heed.dropout {{.*}}heed.library = "dropout", p = 0.0
// CANON-LABEL: func.func @routing
// CANON-SAME: heed.library_calls = 3 : i64
// CANON: heed.dropout
// CANON-NOT: heed.dropout
// CANON: return
func.func @routing(%x: tensor<4x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  %0 = heed.layer_norm %x, %g, %b : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %1 = heed.softmax %0 {axis = -1 : i64} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %2 = heed.softmax %1 {axis = 0 : i64} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %3 = heed.exp %2 : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %4 = heed.dropout %3 {p = 1.000000e-01 : f32, seed = 1 : i64} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %5 = heed.dropout %4 {p = 0.000000e+00 : f32, seed = 2 : i64} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %5 : tensor<4x8xf32>
}

// A transpose of the last two dims that only feeds matmuls is read as strides;
// one that also feeds an elementwise op is materialized in a kernel.
// CHECK-LABEL: func.func @strides
// CHECK: %[[T:.*]] = heed.transpose %arg1 [1, 0] {heed.absorbed = "strides"}
// CHECK: heed.matmul %arg0, %[[T]] {heed.library = "matmul(transpose_rhs)"}
// CHECK: %[[U:.*]] = heed.transpose %arg0 [1, 0] {heed.kernel = "strides_k0"}
// CHECK: heed.matmul %[[U]], %arg0 {heed.library = "matmul"}
func.func @strides(%a: tensor<4x4xf32>, %w: tensor<6x4xf32>) -> (tensor<4x6xf32>, tensor<4x4xf32>, tensor<4x4xf32>) {
  %t = heed.transpose %w [1, 0] : (tensor<6x4xf32>) -> tensor<4x6xf32>
  %0 = heed.matmul %a, %t : (tensor<4x4xf32>, tensor<4x6xf32>) -> tensor<4x6xf32>
  %u = heed.transpose %a [1, 0] : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %1 = heed.matmul %u, %a : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %2 = heed.exp %u : (tensor<4x4xf32>) -> tensor<4x4xf32>
  return %0, %1, %2 : tensor<4x6xf32>, tensor<4x4xf32>, tensor<4x4xf32>
}

// A feed-forward block with its residual: the first matmul absorbs bias and
// relu, the second its bias and the residual add (a sum post-op). Without
// epilogues every add is in a kernel; without residual epilogues only the
// residual add is.
// CHECK-LABEL: func.func @ffn
// CHECK: heed.matmul {{.*}}heed.library = "matmul + bias + relu"
// CHECK-NEXT: heed.add {{.*}}heed.absorbed = "epilogue"
// CHECK-NEXT: heed.relu {{.*}}heed.absorbed = "epilogue"
// CHECK-NEXT: heed.matmul {{.*}}heed.library = "matmul + bias + residual"
// CHECK-NEXT: heed.add {{.*}}heed.absorbed = "epilogue"
// CHECK-NEXT: heed.add %arg0, {{.*}}heed.absorbed = "epilogue"
// NOEPI-LABEL: func.func @ffn
// NOEPI: heed.matmul {{.*}}heed.library = "matmul"
// NOEPI-NEXT: heed.add {{.*}}heed.kernel = "ffn_k0"
// NOEPI-NEXT: heed.relu {{.*}}heed.kernel = "ffn_k0"
// NOEPI-NEXT: heed.matmul {{.*}}heed.library = "matmul"
// NOEPI-NEXT: heed.add {{.*}}heed.kernel = "ffn_k1"
// NOEPI-NEXT: heed.add {{.*}}heed.kernel = "ffn_k1"
// NORES-LABEL: func.func @ffn
// NORES: heed.library = "matmul + bias + relu"
// NORES: heed.matmul {{.*}}heed.library = "matmul + bias"
// NORES-NEXT: heed.add {{.*}}heed.absorbed = "epilogue"
// NORES-NEXT: heed.add %arg0, {{.*}}heed.kernel = "ffn_k0"
func.func @ffn(%x: tensor<4x8xf32>, %w1: tensor<8x16xf32>, %b1: tensor<16xf32>, %w2: tensor<16x8xf32>, %b2: tensor<8xf32>) -> tensor<4x8xf32> {
  %0 = heed.matmul %x, %w1 : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %1 = heed.add %0, %b1 : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %2 = heed.relu %1 : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %3 = heed.matmul %2, %w2 : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %4 = heed.add %3, %b2 : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %5 = heed.add %x, %4 : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %5 : tensor<4x8xf32>
}

// What an epilogue must not absorb: a gelu whose input the backward also reads
// (only the bias folds), a product read twice (nothing folds), and an
// add whose other operand is computed after the matmul (dropout stands between:
// that add is the dropout's, which runs after the matmul).
// CHECK-LABEL: func.func @limits
// CHECK: heed.matmul {{.*}}heed.library = "matmul + bias"
// CHECK-NEXT: heed.add {{.*}}heed.absorbed = "epilogue"
// CHECK-NEXT: heed.gelu {{.*}}heed.kernel
// CHECK: heed.matmul {{.*}}heed.library = "matmul"
// CHECK-NEXT: heed.add {{.*}}heed.kernel
// CHECK: heed.matmul {{.*}}heed.library = "matmul"
// CHECK-NEXT: heed.dropout {{.*}}heed.library = "dropout + residual"
// CHECK-NEXT: heed.add {{.*}}heed.absorbed = "epilogue"
// NORES-LABEL: func.func @limits
// NORES: heed.dropout {{.*}}heed.library = "dropout"
// NORES-NEXT: heed.add {{.*}}heed.kernel
func.func @limits(%x: tensor<4x8xf32>, %w: tensor<8x8xf32>, %b: tensor<8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %0 = heed.matmul %x, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %1 = heed.add %0, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %2 = heed.gelu %1 : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %3 = heed.matmul %x, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %4 = heed.add %3, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %5 = heed.matmul %x, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %6 = heed.dropout %x {p = 1.000000e-01 : f32, seed = 1 : i64} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %7 = heed.add %5, %6 : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %1, %2, %3, %4, %7 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}

// A gradient summed over three uses (dx = dq wq^T + dk wk^T + dv wv^T): each
// later product accumulates into the sum so far, even when the adds come after
// all three products.
// CHECK-LABEL: func.func @gradient_sum
// CHECK: heed.matmul {{.*}}heed.library = "matmul(transpose_rhs)"
// CHECK: heed.matmul {{.*}}heed.library = "matmul(transpose_rhs) + residual"
// CHECK: heed.matmul {{.*}}heed.library = "matmul(transpose_rhs) + residual"
// CHECK: heed.add {{.*}}heed.absorbed = "epilogue"
// CHECK-NEXT: heed.add {{.*}}heed.absorbed = "epilogue"
// CHECK-NOT: heed.kernel
// CHECK: return
func.func @gradient_sum(%dq: tensor<4x8xf32>, %dk: tensor<4x8xf32>, %dv: tensor<4x8xf32>, %wq: tensor<8x8xf32>, %wk: tensor<8x8xf32>, %wv: tensor<8x8xf32>) -> tensor<4x8xf32> {
  %tq = heed.transpose %wq [1, 0] : (tensor<8x8xf32>) -> tensor<8x8xf32>
  %0 = heed.matmul %dq, %tq : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %tk = heed.transpose %wk [1, 0] : (tensor<8x8xf32>) -> tensor<8x8xf32>
  %1 = heed.matmul %dk, %tk : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %tv = heed.transpose %wv [1, 0] : (tensor<8x8xf32>) -> tensor<8x8xf32>
  %2 = heed.matmul %dv, %tv : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %3 = heed.add %0, %1 : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %4 = heed.add %3, %2 : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %4 : tensor<4x8xf32>
}

// Row splits: a row-wise kernel is compiled for half its rows (its argument
// types show 2 of the 4 rows); a bias-gradient sum over the rows becomes a
// per-chunk partial output (read whole: its type keeps every dim); a kernel
// that reduces across the rows stays whole. Small kernels split only with
// row-split-min-elements=1 (the default wants 32768 elements written or read).
// SPLIT-LABEL: func.func @row_split_k0(%arg0: tensor<2x8xf32>, %arg1: tensor<8xf32>) -> (tensor<2x8xf32>, tensor<8xf32>)
// SPLIT-SAME: heed.partial_outputs = array<i1: false, true>, heed.row_chunks = 2 : i64, heed.row_split = array<i1: true, false, true, false>
// SPLIT-LABEL: func.func @across_rows_k0(%arg0: tensor<4x8xf32>) -> tensor<8xf32>
// SPLIT-NOT: heed.row_chunks
// SPLIT: return
// SMALL-LABEL: func.func @row_split_k0(%arg0: tensor<4x8xf32>, %arg1: tensor<8xf32>)
// SMALL-NOT: heed.row_chunks
// SMALL: return
func.func @row_split(%x: tensor<4x8xf32>, %b: tensor<8xf32>) -> (tensor<4x8xf32>, tensor<8xf32>) {
  %0 = heed.add %x, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %1 = heed.tanh %0 : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %2 = heed.sum_to %1 : (tensor<4x8xf32>) -> tensor<8xf32>
  return %1, %2 : tensor<4x8xf32>, tensor<8xf32>
}
func.func @across_rows(%x: tensor<4x8xf32>) -> tensor<8xf32> {
  %0 = heed.exp %x : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %1 = heed.sum %0 {axis = 0 : i64} : (tensor<4x8xf32>) -> tensor<8xf32>
  return %1 : tensor<8xf32>
}

// A lone bias gradient writes only [D] but reads a whole activation: the size
// that decides the split is the larger of the two, so it is split by default.
// SMALL-LABEL: func.func @bias_grad_k0(%arg0: tensor<128x128xf32>) -> tensor<128xf32>
// SMALL-SAME: heed.partial_outputs = array<i1: true>, heed.row_chunks = 2 : i64
func.func @bias_grad(%dy: tensor<256x128xf32>) -> tensor<128xf32> {
  %0 = heed.sum_to %dy : (tensor<256x128xf32>) -> tensor<128xf32>
  return %0 : tensor<128xf32>
}
