// heed-to-linalg: each op by the template its record declares. Elementwise ops
// are one linalg.generic whose maps encode the broadcast and whose body is the
// record's scalar body; reductions are generics with a reduction iterator;
// layout ops are linalg.transpose and tensor reshapes. Library ops have no
// such lowering: the pass names them.
// RUN: heed-opt %s -split-input-file -verify-diagnostics -heed-to-linalg | FileCheck %s
// RUN: heed-opt %s -split-input-file --pass-pipeline='builtin.module(heed-partition{row-chunks=1},builtin.module(func.func(heed-to-linalg)))' | FileCheck %s --check-prefix=KERNELS

// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @bias_tanh
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK: arith.addf
// CHECK: linalg.generic
// CHECK: math.tanh
// CHECK-NOT: heed.
// CHECK: return
func.func @bias_tanh(%x: tensor<4x8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  %0 = heed.add %x, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %1 = heed.tanh %0 : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %1 : tensor<4x8xf32>
}

// CHECK-LABEL: func.func @reduce_and_layout
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: linalg.transpose
// CHECK: tensor.collapse_shape
// CHECK-NOT: heed.
// CHECK: return
func.func @reduce_and_layout(%x: tensor<4x8xf32>, %y: tensor<2x3x4xf32>) -> (tensor<4xf32>, tensor<3x2x4xf32>, tensor<6x4xf32>) {
  %0 = heed.sum %x {axis = 1 : i64} : (tensor<4x8xf32>) -> tensor<4xf32>
  %1 = heed.transpose %y [1, 0, 2] : (tensor<2x3x4xf32>) -> tensor<3x2x4xf32>
  %2 = heed.reshape %y : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
  return %0, %1, %2 : tensor<4xf32>, tensor<3x2x4xf32>, tensor<6x4xf32>
}

// -----

// A library op in a function heed-to-linalg is asked to lower; after
// heed-partition only its fused kernel (the relu) is lowered.
// KERNELS: heed.matmul
// KERNELS: module @kernels
// KERNELS: func.func @mm_k0
// KERNELS-NOT: heed.
// KERNELS: arith.cmpf
func.func @mm(%a: tensor<4x8xf32>, %b: tensor<8x8xf32>) -> tensor<4x8xf32> {
  // expected-error@+1 {{'heed.matmul' has no lowering to linalg}}
  %0 = heed.matmul %a, %b : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %1 = heed.exp %0 : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %2 = heed.relu %1 : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %2 : tensor<4x8xf32>
}
