/* src/onnx/control_util.c - slices and owned value lists for the control-flow,
 * sequence and misc op families. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "onnx/control_util.h"

int cx_copy_elems(void *dst, const void *src, int dtype, int64_t n, ckpt_error *err)
{
    if (n <= 0)
        return 0;
    if (dtype == OX_STRING) {
        char **d = dst;
        char *const *s = src;
        for (int64_t i = 0; i < n; i++) {
            free(d[i]);
            d[i] = strdup(s[i] ? s[i] : "");
            if (!d[i])
                return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory copying strings");
        }
        return 0;
    }
    memcpy(dst, src, (size_t)n * ox_dtype_size(dtype));
    return 0;
}

/* outer = prod(dims[:axis]), inner = prod(dims[axis+1:]) */
static void split_dims(const ox_val *v, int axis, int64_t *outer, int64_t *inner)
{
    int64_t o = 1, in = 1;
    for (int i = 0; i < axis; i++)
        o *= v->dims[i];
    for (int i = axis + 1; i < v->rank; i++)
        in *= v->dims[i];
    *outer = o;
    *inner = in;
}

int cx_range(const ox_node *n, const ox_val *src, int axis, int64_t start, int64_t len,
             ox_val *dst, ckpt_error *err)
{
    if (src->kind != OX_KIND_TENSOR || axis < 0 || axis >= src->rank || start < 0 || len < 0 ||
        start + len > src->dims[axis])
        return ox_fail(err, CKPT_E_SHAPE, n, "slice [%lld, +%lld) of axis %d out of range",
                       (long long)start, (long long)len, axis);
    int64_t dims[OX_MAX_RANK];
    for (int i = 0; i < src->rank; i++)
        dims[i] = src->dims[i];
    dims[axis] = len;
    CKPT_TRY(ox_val_reshape_alloc(dst, src->dtype, src->rank, dims, err));
    int64_t outer, inner;
    split_dims(src, axis, &outer, &inner);
    size_t es = ox_dtype_size(src->dtype);
    int64_t a = src->dims[axis];
    for (int64_t o = 0; o < outer; o++) {
        const char *s = (const char *)src->data + (size_t)((o * a + start) * inner) * es;
        char *d = (char *)dst->data + (size_t)(o * len * inner) * es;
        CKPT_TRY(cx_copy_elems(d, s, src->dtype, len * inner, err));
    }
    return 0;
}

int cx_take(const ox_node *n, const ox_val *src, int axis, int64_t idx, ox_val *dst,
            ckpt_error *err)
{
    if (src->kind != OX_KIND_TENSOR || axis < 0 || axis >= src->rank || idx < 0 ||
        idx >= src->dims[axis])
        return ox_fail(err, CKPT_E_SHAPE, n, "index %lld of axis %d out of range", (long long)idx,
                       axis);
    int64_t dims[OX_MAX_RANK];
    int r = 0;
    for (int i = 0; i < src->rank; i++)
        if (i != axis)
            dims[r++] = src->dims[i];
    CKPT_TRY(ox_val_reshape_alloc(dst, src->dtype, r, dims, err));
    int64_t outer, inner;
    split_dims(src, axis, &outer, &inner);
    size_t es = ox_dtype_size(src->dtype);
    int64_t a = src->dims[axis];
    for (int64_t o = 0; o < outer; o++) {
        const char *s = (const char *)src->data + (size_t)((o * a + idx) * inner) * es;
        char *d = (char *)dst->data + (size_t)(o * inner) * es;
        CKPT_TRY(cx_copy_elems(d, s, src->dtype, inner, err));
    }
    return 0;
}

int cx_put(const ox_node *n, ox_val *dst, int axis, int64_t idx, const ox_val *src,
           ckpt_error *err)
{
    if (src->kind != OX_KIND_TENSOR || src->rank + 1 != dst->rank || src->dtype != dst->dtype ||
        axis < 0 || axis >= dst->rank || idx < 0 || idx >= dst->dims[axis])
        return ox_fail(err, CKPT_E_SHAPE, n, "a slice of rank %d does not fit rank %d at %d",
                       src->rank, dst->rank, axis);
    for (int i = 0, j = 0; i < dst->rank; i++)
        if (i != axis && dst->dims[i] != src->dims[j++])
            return ox_fail(err, CKPT_E_SHAPE, n, "iteration outputs differ in shape");
    int64_t outer, inner;
    split_dims(dst, axis, &outer, &inner);
    size_t es = ox_dtype_size(dst->dtype);
    int64_t a = dst->dims[axis];
    for (int64_t o = 0; o < outer; o++) {
        char *d = (char *)dst->data + (size_t)((o * a + idx) * inner) * es;
        const char *s = (const char *)src->data + (size_t)(o * inner) * es;
        CKPT_TRY(cx_copy_elems(d, s, src->dtype, inner, err));
    }
    return 0;
}

ox_val *cx_val_new(ckpt_error *err)
{
    ox_val *v = calloc(1, sizeof *v);
    if (!v)
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    return v;
}

void cx_val_free(ox_val *v)
{
    if (!v)
        return;
    ox_val_clear(v);
    free(v);
}

ox_val **cx_vals_new(int64_t n, ckpt_error *err)
{
    if (n <= 0)
        return NULL;
    ox_val **a = calloc((size_t)n, sizeof *a);
    if (!a) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    for (int64_t i = 0; i < n; i++) {
        a[i] = cx_val_new(err);
        if (!a[i]) {
            cx_vals_free(a, i);
            return NULL;
        }
    }
    return a;
}

void cx_vals_free(ox_val **v, int64_t n)
{
    if (!v)
        return;
    for (int64_t i = 0; i < n; i++)
        cx_val_free(v[i]);
    free(v);
}

void cx_seq_reset(ox_val *out, int dtype)
{
    ox_val_clear(out);
    out->kind = OX_KIND_SEQUENCE;
    out->dtype = dtype;
    out->seq_dtype = dtype;
}

int cx_seq_insert(ox_val *seq, ox_val *item, int64_t pos, ckpt_error *err)
{
    if (pos < 0 || pos > seq->n_items)
        return CKPT_FAIL(err, CKPT_E_SHAPE, "sequence position %lld out of range",
                         (long long)pos);
    ox_val **ni = realloc(seq->items, (size_t)(seq->n_items + 1) * sizeof *ni);
    if (!ni)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    seq->items = ni;
    memmove(ni + pos + 1, ni + pos, (size_t)(seq->n_items - pos) * sizeof *ni);
    ni[pos] = item;
    seq->n_items++;
    if (!seq->dtype && item->kind == OX_KIND_TENSOR) {
        seq->dtype = item->dtype;
        seq->seq_dtype = item->dtype;
    }
    return 0;
}

void cx_val_move(ox_val *dst, ox_val *src)
{
    if (dst == src)
        return;
    ox_val_clear(dst);
    *dst = *src;
    memset(src, 0, sizeof *src);
}

int cx_scalar_i64(ox_val *v, int dtype, int64_t x, ckpt_error *err)
{
    CKPT_TRY(ox_val_reshape_alloc(v, dtype, 0, NULL, err));
    if (dtype == OX_BOOL)
        *(uint8_t *)v->data = x != 0;
    else
        ox_set_f64(v, 0, (double)x);
    if (dtype == OX_INT64)
        *(int64_t *)v->data = x;
    return 0;
}
