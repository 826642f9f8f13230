// heed-partition: the residual adds that dropout and layer_norm_grad absorb.
// `r + dropout(x)` (the residual connection after a sublayer) and `dx + r`
// (layer norm's input gradient summed with the residual path's) run in the
// native kernel's pass over its result, as the matmul's sum post-op does.
// RUN: heed-opt %s -heed-partition='row-chunks=1' | FileCheck %s
// RUN: heed-opt %s -heed-partition='row-chunks=1 residual-epilogues=false' | FileCheck %s --check-prefix=NORES
// RUN: heed-opt %s -heed-partition='row-chunks=1 epilogues=false' | FileCheck %s --check-prefix=NORES

// A post-attention sublayer: the dropout of the projection absorbs the
// residual add; no kernel is left between it and the layer norm.
// CHECK-LABEL: func.func @sublayer
// CHECK-SAME: heed.fused_kernels = 0 : i64, heed.library_calls = 3 : i64
// CHECK: heed.matmul {{.*}}heed.library = "matmul + bias"
// CHECK-NEXT: heed.add {{.*}}heed.absorbed = "epilogue"
// CHECK-NEXT: heed.dropout {{.*}}heed.library = "dropout + residual"
// CHECK-NEXT: heed.add %arg0, {{.*}}heed.absorbed = "epilogue"
// CHECK-NEXT: heed.layer_norm {{.*}}heed.library = "layer_norm"
// NORES-LABEL: func.func @sublayer
// NORES: heed.dropout {{.*}}heed.library = "dropout"
// NORES-NEXT: heed.add %arg0, {{.*}}heed.kernel = "sublayer_k{{[0-9]}}"
func.func @sublayer(%x: tensor<4x8xf32>, %w: tensor<8x8xf32>, %b: tensor<8xf32>, %g: tensor<8xf32>, %be: tensor<8xf32>) -> tensor<4x8xf32> {
  %0 = heed.matmul %x, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %1 = heed.add %0, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %2 = heed.dropout %1 {p = 1.000000e-01 : f32, seed = 1 : i64} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %3 = heed.add %x, %2 : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %4 = heed.layer_norm %3, %g, %be : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return %4 : tensor<4x8xf32>
}

// The backward of a pre-norm sublayer: layer norm's dx is summed with the
// gradient reaching x along the residual path, then goes back through dropout.
// The sum is layer_norm_grad's; dgamma and dbeta stay its other outputs.
// CHECK-LABEL: func.func @backward
// CHECK-SAME: heed.fused_kernels = 0 : i64
// CHECK: heed.layer_norm_grad {{.*}}heed.library = "layer_norm_grad + residual"
// CHECK-NEXT: heed.add %arg3, {{.*}}heed.absorbed = "epilogue"
// CHECK-NEXT: heed.dropout {{.*}}heed.library = "dropout"
// NORES-LABEL: func.func @backward
// NORES: heed.layer_norm_grad {{.*}}heed.library = "layer_norm_grad"
// NORES-NEXT: heed.add %arg3, {{.*}}heed.kernel = "backward_k0"
func.func @backward(%x: tensor<4x8xf32>, %g: tensor<8xf32>, %dy: tensor<4x8xf32>, %dres: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) {
  %dx, %dg, %db = heed.layer_norm_grad %x, %g, %dy {eps = 9.99999974E-6 : f32} : (tensor<4x8xf32>, tensor<8xf32>, tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>)
  %0 = heed.add %dres, %dx : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %1 = heed.dropout %0 {p = 1.000000e-01 : f32, seed = 1 : i64} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0, %1, %dg, %db : tensor<4x8xf32>, tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>
}

// What they must not absorb: an add when the result has another use, an add
// whose other operand is computed after the call, and a broadcasting add.
// CHECK-LABEL: func.func @limits
// CHECK: heed.dropout {{.*}}heed.library = "dropout"
// CHECK-NEXT: heed.add {{.*}}heed.kernel = "limits_k0"
// CHECK-NEXT: heed.dropout %arg1 {{.*}}heed.library = "dropout"
// CHECK-NEXT: heed.exp {{.*}}heed.kernel = "limits_k1"
// CHECK-NEXT: heed.add {{.*}}heed.kernel = "limits_k1"
// CHECK-NEXT: heed.dropout %arg0 {{.*}}heed.library = "dropout"
// CHECK-NEXT: heed.add {{.*}}heed.kernel = "limits_k2"
func.func @limits(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>, %b: tensor<8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %0 = heed.dropout %x {p = 1.000000e-01 : f32, seed = 1 : i64} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %1 = heed.add %0, %y : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %2 = heed.dropout %y {p = 1.000000e-01 : f32, seed = 2 : i64} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %3 = heed.exp %x : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %4 = heed.add %2, %3 : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %5 = heed.dropout %x {p = 1.000000e-01 : f32, seed = 3 : i64} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %6 = heed.add %5, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return %0, %1, %4, %6 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}
