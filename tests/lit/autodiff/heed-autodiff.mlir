// heed-autodiff builds @train_step (forward, backward, optimizer step), @eval
// and @forward from a decomposed @forward.
// RUN: heed-opt %s -heed-autodiff | FileCheck %s

func.func @forward(%x: tensor<4x3xf32> {heed.name = "x"}, %t: tensor<4xi32> {heed.name = "t"})
    -> (tensor<4x2xf32> {heed.name = "logits"}, tensor<f32> {heed.loss, heed.name = "loss"}) {
  %w = heed.param "linear.w" {init = "zeros"} : tensor<3x2xf32>
  %b = heed.param "linear.b" {init = "zeros", frozen} : tensor<2xf32>
  %m = heed.matmul %x, %w : (tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<4x2xf32>
  %y = heed.add %m, %b : (tensor<4x2xf32>, tensor<2xf32>) -> tensor<4x2xf32>
  %d = heed.dropout %y {p = 1.000000e-01 : f32, seed = 1 : i64} : (tensor<4x2xf32>) -> tensor<4x2xf32>
  %l = heed.cross_entropy %d, %t : (tensor<4x2xf32>, tensor<4xi32>) -> tensor<f32>
  return %d, %l : tensor<4x2xf32>, tensor<f32>
}

// Forward keeps the outputs only, without dropout and without the unused target input.
// CHECK-LABEL: func.func @forward(%arg0: tensor<4x3xf32> {heed.name = "x"}) -> (tensor<4x2xf32> {heed.name = "logits"})
// CHECK-NOT: heed.dropout
// CHECK-NOT: heed.cross_entropy
// CHECK: return

// The training step: dloss = 1, the loss's own rule, dropout with the same seed,
// add's gradient summed back to the bias shape, matmul's weight gradient x^T @ g.
// The frozen bias gets no gradient.
// CHECK-LABEL: func.func @train_step(%arg0: tensor<4x3xf32> {heed.name = "x"}, %arg1: tensor<4xi32> {heed.name = "t"}) -> (tensor<f32> {heed.loss, heed.name = "loss"})
// CHECK: %[[W:.*]] = heed.param "linear.w"
// CHECK: %[[M:.*]] = heed.matmul %arg0, %[[W]]
// CHECK: %[[D:.*]] = heed.dropout %{{.*}} {p = 1.000000e-01 : f32, seed = 1 : i64}
// CHECK: %[[L:.*]] = heed.cross_entropy %[[D]], %arg1
// CHECK: %[[ONE:.*]] = heed.constant dense<1.000000e+00> : tensor<f32>
// CHECK: %[[DL:.*]] = heed.cross_entropy_grad %[[D]], %arg1, %[[ONE]]
// CHECK: %[[DY:.*]] = heed.dropout %[[DL]] {p = 1.000000e-01 : f32, seed = 1 : i64}
// CHECK: %[[XT:.*]] = heed.transpose %arg0 [1, 0] : (tensor<4x3xf32>) -> tensor<3x4xf32>
// CHECK: %[[DW:.*]] = heed.matmul %[[XT]], %[[DY]] : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
// CHECK: heed.optimizer_step %[[DW]] : tensor<3x2xf32> {names = ["linear.w"]}
// CHECK: return %[[L]]

// Eval: the loss without dropout.
// CHECK-LABEL: func.func @eval
// CHECK-NOT: heed.dropout
// CHECK: heed.cross_entropy
