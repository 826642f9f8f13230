// heed-decompose rewrites every layer op into primitives; attention becomes the
// fused heed.sdpa, or with fuse-attention=false (HEED_FUSE_ATTENTION=0) the
// spelled-out scores, masks and softmax.
// RUN: heed-opt %s -heed-decompose | FileCheck %s --check-prefixes=CHECK,FUSED
// RUN: heed-opt %s '-heed-decompose=fuse-attention=false' | FileCheck %s --check-prefixes=CHECK,SPELLED
// RUN: env HEED_FUSE_ATTENTION=0 heed-opt %s -heed-decompose | FileCheck %s --check-prefixes=CHECK,SPELLED
// RUN: heed-opt %s '-heed-decompose=fuse-attention=false' -canonicalize -cse | FileCheck %s --check-prefix=CLEAN

// CHECK-LABEL: func.func @embed
// CHECK: %[[G:.*]] = heed.gather %arg1, %arg0 : (tensor<4x10xf32>, tensor<2x3xi32>) -> tensor<2x3x10xf32>
// CHECK-NOT: heed.embedding
// CHECK: return %[[G]]
func.func @embed(%ids: tensor<2x3xi32>, %table: tensor<4x10xf32>) -> tensor<2x3x10xf32> {
  %0 = heed.embedding %ids, %table : (tensor<2x3xi32>, tensor<4x10xf32>) -> tensor<2x3x10xf32>
  return %0 : tensor<2x3x10xf32>
}

// CHECK-LABEL: func.func @positions
// CHECK: %[[S:.*]] = heed.sinusoidal : tensor<6x8xf32>
// CHECK: return %[[S]], %arg0
func.func @positions(%learned: tensor<6x8xf32>) -> (tensor<6x8xf32>, tensor<6x8xf32>) {
  %0 = heed.positional_encoding {kind = "sinusoidal"} : () -> tensor<6x8xf32>
  %1 = heed.positional_encoding %learned {kind = "learned"} : (tensor<6x8xf32>) -> tensor<6x8xf32>
  return %0, %1 : tensor<6x8xf32>, tensor<6x8xf32>
}

// CHECK-LABEL: func.func @linear
// CHECK: %[[M:.*]] = heed.matmul %arg0, %arg1 : (tensor<2x3x4xf32>, tensor<4x5xf32>) -> tensor<2x3x5xf32>
// CHECK: %[[A:.*]] = heed.add %[[M]], %arg2 : (tensor<2x3x5xf32>, tensor<5xf32>) -> tensor<2x3x5xf32>
// CHECK: %[[M2:.*]] = heed.matmul %arg0, %arg1
// CHECK-NOT: heed.add
// CHECK: return %[[A]], %[[M2]]
func.func @linear(%x: tensor<2x3x4xf32>, %w: tensor<4x5xf32>, %b: tensor<5xf32>) -> (tensor<2x3x5xf32>, tensor<2x3x5xf32>) {
  %0 = heed.linear %x, %w, %b : (tensor<2x3x4xf32>, tensor<4x5xf32>, tensor<5xf32>) -> tensor<2x3x5xf32>
  %1 = heed.linear %x, %w : (tensor<2x3x4xf32>, tensor<4x5xf32>) -> tensor<2x3x5xf32>
  return %0, %1 : tensor<2x3x5xf32>, tensor<2x3x5xf32>
}

// CHECK-LABEL: func.func @ffn
// CHECK: heed.matmul %arg0, %arg1 : (tensor<2x3x4xf32>, tensor<4x16xf32>) -> tensor<2x3x16xf32>
// CHECK: heed.add
// CHECK: heed.gelu
// CHECK: heed.matmul {{.*}} : (tensor<2x3x16xf32>, tensor<16x4xf32>) -> tensor<2x3x4xf32>
// CHECK: heed.add
func.func @ffn(%x: tensor<2x3x4xf32>, %w1: tensor<4x16xf32>, %b1: tensor<16xf32>, %w2: tensor<16x4xf32>, %b2: tensor<4xf32>) -> tensor<2x3x4xf32> {
  %0 = heed.feed_forward %x, %w1, %b1, %w2, %b2 {act = "gelu"} : (tensor<2x3x4xf32>, tensor<4x16xf32>, tensor<16xf32>, tensor<16x4xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// Cross-attention, 2 heads of 4, causal and with a key-padding mask. Fused,
// the heads are split and merged by reshapes only: sdpa reads the token-major
// [B, T, heads, dh] projections; spelled out, they are transposed.
// CHECK-LABEL: func.func @attention
// CHECK: %[[Q:.*]] = heed.matmul %arg0, %arg2 : (tensor<2x3x8xf32>, tensor<8x8xf32>) -> tensor<2x3x8xf32>
// CHECK: %[[QB:.*]] = heed.add %[[Q]], %arg3
// CHECK: %[[QR:.*]] = heed.reshape %[[QB]] : (tensor<2x3x8xf32>) -> tensor<2x3x2x4xf32>
// CHECK: heed.matmul %arg1, %arg4 : (tensor<2x5x8xf32>, tensor<8x8xf32>) -> tensor<2x5x8xf32>
// CHECK: %[[KR:.*]] = heed.reshape %{{.*}} : (tensor<2x5x8xf32>) -> tensor<2x5x2x4xf32>
// CHECK: %[[VR:.*]] = heed.reshape %{{.*}} : (tensor<2x5x8xf32>) -> tensor<2x5x2x4xf32>
// FUSED-NOT: heed.transpose
// FUSED: %[[O:.*]], %{{.*}} = heed.sdpa %[[QR]], %[[KR]], %[[VR]] key_padding %arg10 {causal = true, scale = 5.000000e-01 : f32, token_major = true} : (tensor<2x3x2x4xf32>, tensor<2x5x2x4xf32>, tensor<2x5x2x4xf32>, tensor<2x5xi1>) -> (tensor<2x3x2x4xf32>, tensor<2x2x3xf32>)
// FUSED-NOT: heed.softmax
// FUSED-NOT: heed.transpose
// FUSED: %[[OR:.*]] = heed.reshape %[[O]] : (tensor<2x3x2x4xf32>) -> tensor<2x3x8xf32>
// SPELLED: %[[QH:.*]] = heed.transpose %[[QR]] [0, 2, 1, 3] : (tensor<2x3x2x4xf32>) -> tensor<2x2x3x4xf32>
// SPELLED: %[[KH:.*]] = heed.transpose %[[KR]] [0, 2, 1, 3] : (tensor<2x5x2x4xf32>) -> tensor<2x2x5x4xf32>
// SPELLED: %[[VH:.*]] = heed.transpose %[[VR]] [0, 2, 1, 3] : (tensor<2x5x2x4xf32>) -> tensor<2x2x5x4xf32>
// SPELLED: %[[KT:.*]] = heed.transpose %[[KH]] [0, 1, 3, 2] : (tensor<2x2x5x4xf32>) -> tensor<2x2x4x5xf32>
// SPELLED: %[[S:.*]] = heed.matmul %[[QH]], %[[KT]] : (tensor<2x2x3x4xf32>, tensor<2x2x4x5xf32>) -> tensor<2x2x3x5xf32>
// SPELLED: %[[SCALE:.*]] = heed.constant dense<5.000000e-01> : tensor<f32>
// SPELLED: %[[SS:.*]] = heed.mul %[[S]], %[[SCALE]]
// The causal mask is bottom-right aligned: query i sees keys j <= i + Tk - Tq.
// SPELLED: %[[CAUSAL:.*]] = heed.constant dense<{{\[\[}}false, false, false, true, true], [false, false, false, false, true], [false, false, false, false, false]]> : tensor<3x5xi1>
// SPELLED: %[[NEG:.*]] = heed.constant dense<-1.000000e+09> : tensor<f32>
// SPELLED: %[[SC:.*]] = heed.where %[[CAUSAL]], %[[NEG]], %[[SS]] : (tensor<3x5xi1>, tensor<f32>, tensor<2x2x3x5xf32>) -> tensor<2x2x3x5xf32>
// SPELLED: %[[PAD:.*]] = heed.reshape %arg10 : (tensor<2x5xi1>) -> tensor<2x1x1x5xi1>
// SPELLED: %[[SP:.*]] = heed.where %[[PAD]], %{{.*}}, %[[SC]]
// SPELLED: %[[W:.*]] = heed.softmax %[[SP]] {axis = -1 : i64}
// SPELLED: %[[OH:.*]] = heed.matmul %[[W]], %[[VH]] : (tensor<2x2x3x5xf32>, tensor<2x2x5x4xf32>) -> tensor<2x2x3x4xf32>
// SPELLED: %[[OT:.*]] = heed.transpose %[[OH]] [0, 2, 1, 3]
// SPELLED: %[[OR:.*]] = heed.reshape %[[OT]] : (tensor<2x3x2x4xf32>) -> tensor<2x3x8xf32>
// CHECK: heed.matmul %[[OR]], %arg8
// CHECK-NOT: heed.attention
// CLEAN-LABEL: func.func @attention
// CLEAN-COUNT-1: heed.constant dense<-1.000000e+09>
func.func @attention(%q: tensor<2x3x8xf32>, %kv: tensor<2x5x8xf32>,
                     %wq: tensor<8x8xf32>, %bq: tensor<8xf32>, %wk: tensor<8x8xf32>, %bk: tensor<8xf32>,
                     %wv: tensor<8x8xf32>, %bv: tensor<8xf32>, %wo: tensor<8x8xf32>, %bo: tensor<8xf32>,
                     %pad: tensor<2x5xi1>) -> tensor<2x3x8xf32> {
  %0 = heed.attention %q, %kv, %wq, %bq, %wk, %bk, %wv, %bv, %wo, %bo key_padding %pad {heads = 2 : i64, causal = true}
     : (tensor<2x3x8xf32>, tensor<2x5x8xf32>, tensor<8x8xf32>, tensor<8xf32>, tensor<8x8xf32>, tensor<8xf32>, tensor<8x8xf32>, tensor<8xf32>, tensor<8x8xf32>, tensor<8xf32>, tensor<2x5xi1>) -> tensor<2x3x8xf32>
  return %0 : tensor<2x3x8xf32>
}
