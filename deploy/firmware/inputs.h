/*
 * The test inputs the harness runs, one int8 image per row, in the model's
 * input layout. The header is fixed; the generator (or a test) writes
 * inputs.c with the data, so images live in flash as const arrays.
 */
#ifndef TN_INPUTS_H
#define TN_INPUTS_H

#include <stdint.h>

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const int8_t tn_inputs[][TN_MODEL_INPUT_BYTES];
extern const int tn_num_inputs;

#ifdef __cplusplus
}
#endif

#endif /* TN_INPUTS_H */
