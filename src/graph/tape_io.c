/* src/graph/tape_io.c - tensors of a loaded document onto the tape
 * (ckpt_tape_from_tensor; see ckpt/autograd.h). */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "graph/graph_internal.h"

ckpt_var *ckpt_tape_from_tensor(ckpt_tape *t, const ckpt_obj *tensor, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_tensor_info ti;
    if (!t || !tensor || ckpt_tensor_get_info(tensor, &ti) < 0) {
        CKPT_FAIL(err, CKPT_E_ARG, "ckpt_tape_from_tensor: tape is NULL or object is no tensor");
        return NULL;
    }
    bool is_int = ti.dtype == CKPT_I64 || ti.dtype == CKPT_I32 || ti.dtype == CKPT_I16 ||
                  ti.dtype == CKPT_I8 || ti.dtype == CKPT_U8;
    bool is_float = ti.dtype == CKPT_F32 || ti.dtype == CKPT_F16 || ti.dtype == CKPT_BF16 ||
                    ti.dtype == CKPT_F64;
    if (!is_int && !is_float) {
        CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "ckpt_tape_from_tensor: %s tensors are not supported",
                  ckpt_dtype_name(ti.dtype));
        return NULL;
    }
    if (!ckpt_tensor_data(tensor) && ti.numel > 0) {
        CKPT_FAIL(err, CKPT_E_ARG, "ckpt_tape_from_tensor: the tensor's data is not loaded");
        return NULL;
    }
    ckpt_var *v = ckpt__var_new(t, is_int ? CKPT_I64 : CKPT_F32, ti.ndim, ti.shape, err);
    if (!v)
        return NULL;
    if (ti.numel == 0)
        return v;
    /* a contiguous copy in the tensor's own dtype, then widen */
    void *tmp = ckpt__tape_alloc(t, (size_t)ti.nbytes, err);
    if (!tmp || ckpt_tensor_copy_into(tensor, tmp, (size_t)ti.nbytes, err) < 0)
        return NULL;
    size_t n = (size_t)ti.numel;
    if (is_float) {
        if (ckpt_convert_elements(v->data, CKPT_F32, tmp, ti.dtype, n) < 0) {
            CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "ckpt_tape_from_tensor: cannot convert %s",
                      ckpt_dtype_name(ti.dtype));
            return NULL;
        }
        return v;
    }
    for (size_t i = 0; i < n; i++) {
        switch (ti.dtype) {
        case CKPT_I64: memcpy(&v->idata[i], (const char *)tmp + 8 * i, 8); break;
        case CKPT_I32: {
            int32_t x;
            memcpy(&x, (const char *)tmp + 4 * i, 4);
            v->idata[i] = x;
            break;
        }
        case CKPT_I16: {
            int16_t x;
            memcpy(&x, (const char *)tmp + 2 * i, 2);
            v->idata[i] = x;
            break;
        }
        case CKPT_I8: v->idata[i] = ((const int8_t *)tmp)[i]; break;
        default: v->idata[i] = ((const uint8_t *)tmp)[i]; break;
        }
    }
    return v;
}
