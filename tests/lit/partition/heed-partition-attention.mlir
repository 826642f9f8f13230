// Attention through heed-decompose then heed-partition: fused attention is one
// library call (sdpa); the projections are matmuls with bias epilogues, the
// output projection also absorbs the residual add; the head split and merge
// are reshapes (sdpa reads the projections token-major), so no transpose is
// left to copy. Spelled out (fuse-attention=false),
// k's transpose is read as strides by the score matmul and softmax runs on the
// library.
// RUN: heed-opt %s -heed-decompose -canonicalize -heed-partition='row-chunks=1' | FileCheck %s --check-prefix=FUSED
// RUN: heed-opt %s '-heed-decompose=fuse-attention=false' -canonicalize -heed-partition='row-chunks=1' | FileCheck %s --check-prefix=SPELLED

// FUSED-LABEL: func.func @self_attention
// FUSED-COUNT-3: heed.library = "matmul + bias"
// FUSED-NOT: heed.transpose
// FUSED: heed.sdpa {{.*}}heed.library = "sdpa"{{.*}}token_major = true
// FUSED-NOT: heed.transpose
// FUSED: heed.library = "matmul + bias + residual"
// FUSED-NOT: heed.softmax
// FUSED: return
// SPELLED-LABEL: func.func @self_attention
// SPELLED: heed.transpose {{.*}}[0, 1, 3, 2] {heed.absorbed = "strides"}
// SPELLED: heed.matmul {{.*}}heed.library = "matmul(transpose_rhs)"
// SPELLED: heed.softmax {{.*}}heed.library = "softmax"
// SPELLED-NOT: heed.sdpa
// SPELLED: return
func.func @self_attention(%x: tensor<2x6x8xf32>, %wq: tensor<8x8xf32>, %bq: tensor<8xf32>,
    %wk: tensor<8x8xf32>, %bk: tensor<8xf32>, %wv: tensor<8x8xf32>, %bv: tensor<8xf32>,
    %wo: tensor<8x8xf32>, %bo: tensor<8xf32>) -> tensor<2x6x8xf32> {
  %0 = heed.attention %x, %x, %wq, %bq, %wk, %bk, %wv, %bv, %wo, %bo {heads = 2 : i64, causal = true}
     : (tensor<2x6x8xf32>, tensor<2x6x8xf32>, tensor<8x8xf32>, tensor<8xf32>, tensor<8x8xf32>, tensor<8xf32>, tensor<8x8xf32>, tensor<8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> tensor<2x6x8xf32>
  %1 = heed.add %x, %0 : (tensor<2x6x8xf32>, tensor<2x6x8xf32>) -> tensor<2x6x8xf32>
  return %1 : tensor<2x6x8xf32>
}
