// The bias gradient's column sums, shared by the two ops that produce one: linear_backward (db
// of a layer that keeps its bias) and batchnorm_act_backward (the bias folded into BatchNorm).
#pragma once
#include <cstdint>

namespace xent::cpu {

// Columns [o0, o1) of db = the column sums of dy [rows][out], each in double in row order,
// rounded once. The order is the column's alone, so any split of the columns over threads
// gives the same bits.
void column_sums(int64_t rows, int out, int o0, int o1, const float* dy, float* db);

}  // namespace xent::cpu
