// The verifiers apply the same shape rules to hand-written IR.
// RUN: heed-opt %s -split-input-file -verify-diagnostics

func.func @matmul_inner(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) -> tensor<2x5xf32> {
  // expected-error@+1 {{'heed.matmul' op matmul: inner dimensions differ (3 vs 4): [2, 3] but [4, 5]}}
  %0 = heed.matmul %a, %b : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

func.func @add_result(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> tensor<3x3xf32> {
  // expected-error@+1 {{result type tensor<3x3xf32> does not match the inferred shape [2, 3]}}
  %0 = heed.add %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<3x3xf32>
  return %0 : tensor<3x3xf32>
}

// -----

func.func @reshape_count(%a: tensor<2x3xf32>) -> tensor<7xf32> {
  // expected-error@+1 {{reshape: element counts differ: [2, 3] (6 elements) but the target [7] has 7}}
  %0 = heed.reshape %a : (tensor<2x3xf32>) -> tensor<7xf32>
  return %0 : tensor<7xf32>
}

// -----

func.func @attention_heads(%x: tensor<2x3x8xf32>, %w: tensor<8x8xf32>, %b: tensor<8xf32>) -> tensor<2x3x8xf32> {
  // expected-error@+1 {{attention: 8 (8) is not divisible by heads (3)}}
  %0 = heed.attention %x, %x, %w, %b, %w, %b, %w, %b, %w, %b {heads = 3 : i64}
     : (tensor<2x3x8xf32>, tensor<2x3x8xf32>, tensor<8x8xf32>, tensor<8xf32>, tensor<8x8xf32>, tensor<8xf32>, tensor<8x8xf32>, tensor<8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
  return %0 : tensor<2x3x8xf32>
}
