// heed-split-stages gives an encoder-decoder model @encode and @decode entry points.
// RUN: heed-opt %s -heed-split-stages | FileCheck %s

func.func @forward(%src: tensor<2x5xf32> {heed.name = "src"}, %tgt: tensor<2x5xf32> {heed.name = "tgt"})
    -> (tensor<2x5xf32> {heed.name = "memory"}, tensor<2x5xf32> {heed.name = "logits"}) {
  %mem = heed.tanh %src : (tensor<2x5xf32>) -> tensor<2x5xf32>
  %y = heed.add %tgt, %mem : (tensor<2x5xf32>, tensor<2x5xf32>) -> tensor<2x5xf32>
  %z = heed.exp %y : (tensor<2x5xf32>) -> tensor<2x5xf32>
  return %mem, %z : tensor<2x5xf32>, tensor<2x5xf32>
}

// CHECK-LABEL: func.func @forward
// CHECK-LABEL: func.func @encode(%arg0: tensor<2x5xf32> {heed.name = "src"}) -> (tensor<2x5xf32> {heed.name = "memory"})
// CHECK-NEXT: %[[M:.*]] = heed.tanh %arg0
// CHECK-NEXT: return %[[M]]
// CHECK-LABEL: func.func @decode(%arg0: tensor<2x5xf32> {heed.name = "memory"}, %arg1: tensor<2x5xf32> {heed.name = "tgt"}) -> (tensor<2x5xf32> {heed.name = "logits"})
// CHECK-NOT: heed.tanh
// CHECK: heed.add %arg1, %arg0
// CHECK: heed.exp
