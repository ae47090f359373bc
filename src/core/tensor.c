/* src/core/tensor.c - tensor views over storages: building, checking, copying. */
#include <string.h>

#include "checked.h"
#include "err.h"
#include "obj.h"

bool ckpt__numel(int ndim, const int64_t *shape, int64_t *out)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || ckpt_mul_i64(n, shape[i], &n))
            return false;
    }
    *out = n;
    return true;
}

ckpt_obj *ckpt__tensor_new(ckpt_doc *doc, ckpt_storage *s, int dtype, int ndim,
                           const int64_t *shape, const int64_t *stride, int64_t offset)
{
    ckpt_obj *o = ckpt__node(doc, CKPT_T_TENSOR);
    if (!o)
        return NULL;
    ckpt__tensor *t = ckpt__arena_calloc(&doc->arena, sizeof(*t));
    if (!t)
        return NULL;
    if (ndim > 0) {
        t->shape = ckpt__arena_alloc(&doc->arena, (size_t)ndim * sizeof(int64_t));
        t->stride = ckpt__arena_alloc(&doc->arena, (size_t)ndim * sizeof(int64_t));
        if (!t->shape || !t->stride)
            return NULL;
        memcpy(t->shape, shape, (size_t)ndim * sizeof(int64_t));
        if (stride) {
            memcpy(t->stride, stride, (size_t)ndim * sizeof(int64_t));
        } else {
            /* torch's contiguous strides; for a shape with a 0 the product can
             * overflow although numel is 0: saturate (the view is empty). */
            int64_t st = 1;
            for (int i = ndim - 1; i >= 0; i--) {
                t->stride[i] = st;
                if (ckpt_mul_i64(st, shape[i] > 1 ? shape[i] : 1, &st))
                    st = INT64_MAX;
            }
        }
    }
    t->dtype = dtype;
    t->ndim = ndim;
    t->offset = offset;
    t->storage = s;
    o->u.t = t;
    return o;
}

int ckpt__tensor_check_bounds(const ckpt__tensor *t, ckpt_error *err)
{
    size_t isz = ckpt_dtype_size(t->dtype);
    if (isz == 0)
        return CKPT_FAIL(err, CKPT_E_FORMAT, "tensor dtype %d has no element size", t->dtype);
    if (t->offset < 0)
        return CKPT_FAIL(err, CKPT_E_FORMAT, "negative storage offset %lld",
                         (long long)t->offset);
    int64_t numel;
    if (!ckpt__numel(t->ndim, t->shape, &numel))
        return CKPT_FAIL(err, CKPT_E_FORMAT, "tensor shape is negative or overflows");
    int64_t nbytes_i;
    if (ckpt_mul_i64(numel, (int64_t)isz, &nbytes_i))
        return CKPT_FAIL(err, CKPT_E_FORMAT, "tensor byte size overflows");
    if (!t->storage)
        return 0; /* meta tensor: nothing to check against */
    if (numel == 0)
        return 0; /* an empty view may point anywhere, as torch allows */
    /* highest element index touched: offset + sum((size-1)*stride) */
    int64_t hi = t->offset;
    for (int i = 0; i < t->ndim; i++) {
        if (t->stride[i] < 0)
            return CKPT_FAIL(err, CKPT_E_FORMAT, "negative stride %lld in dim %d",
                             (long long)t->stride[i], i);
        int64_t span;
        if (ckpt_mul_i64(t->shape[i] - 1, t->stride[i], &span) || ckpt_add_i64(hi, span, &hi))
            return CKPT_FAIL(err, CKPT_E_FORMAT, "tensor extent overflows");
    }
    int64_t end_bytes;
    if (ckpt_add_i64(hi, 1, &hi) || ckpt_mul_i64(hi, (int64_t)isz, &end_bytes))
        return CKPT_FAIL(err, CKPT_E_FORMAT, "tensor extent overflows");
    if ((uint64_t)end_bytes > t->storage->nbytes)
        return CKPT_FAIL(err, CKPT_E_SHAPE,
                         "tensor needs %lld bytes of its storage but the storage holds %llu",
                         (long long)end_bytes, (unsigned long long)t->storage->nbytes);
    return 0;
}

ckpt_obj *ckpt_tensor_new(ckpt_doc *doc, ckpt_storage *storage, int dtype, int ndim,
                          const int64_t *shape, const int64_t *stride, int64_t storage_offset,
                          ckpt_error *err)
{
    if (!doc || !storage || ndim < 0 || ndim > 64 || (ndim > 0 && !shape) ||
        ckpt_dtype_size(dtype) == 0) {
        CKPT_FAIL(err, CKPT_E_ARG, "bad tensor arguments");
        return NULL;
    }
    if (!storage->untyped && storage->dtype != dtype) {
        CKPT_FAIL(err, CKPT_E_ARG, "tensor dtype %s differs from storage dtype %s",
                  ckpt_dtype_name(dtype), ckpt_dtype_name(storage->dtype));
        return NULL;
    }
    int64_t numel;
    if (!ckpt__numel(ndim, shape, &numel)) {
        CKPT_FAIL(err, CKPT_E_SHAPE, "negative or overflowing shape");
        return NULL;
    }
    ckpt_obj *o = ckpt__tensor_new(doc, storage, dtype, ndim, shape, stride, storage_offset);
    if (!o) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    if (ckpt__tensor_check_bounds(o->u.t, err) < 0)
        return NULL;
    return o;
}

ckpt_obj *ckpt_tensor_new_copy(ckpt_doc *doc, int dtype, int ndim, const int64_t *shape,
                               const void *data, ckpt_error *err)
{
    int64_t numel;
    size_t isz = ckpt_dtype_size(dtype);
    if (!doc || ndim < 0 || (ndim > 0 && !shape) || isz == 0 ||
        !ckpt__numel(ndim, shape, &numel)) {
        CKPT_FAIL(err, CKPT_E_ARG, "bad tensor arguments");
        return NULL;
    }
    uint64_t nbytes;
    if (ckpt_mul_u64((uint64_t)numel, isz, &nbytes)) {
        CKPT_FAIL(err, CKPT_E_ARG, "tensor too large");
        return NULL;
    }
    ckpt_storage *s = ckpt_storage_new(doc, dtype, nbytes, err);
    if (!s)
        return NULL;
    if (data && nbytes)
        memcpy(s->data, data, (size_t)nbytes);
    return ckpt_tensor_new(doc, s, dtype, ndim, shape, NULL, 0, err);
}

int ckpt_tensor_set_requires_grad(ckpt_obj *t, bool on, ckpt_error *err)
{
    if (!t || t->type != CKPT_T_TENSOR)
        return CKPT_FAIL(err, CKPT_E_ARG, "ckpt_tensor_set_requires_grad: not a tensor");
    t->u.t->requires_grad = on;
    return 0;
}

int ckpt_tensor_set_parameter(ckpt_obj *t, bool is_param, bool requires_grad, ckpt_error *err)
{
    if (!t || t->type != CKPT_T_TENSOR)
        return CKPT_FAIL(err, CKPT_E_ARG, "ckpt_tensor_set_parameter: not a tensor");
    t->u.t->is_param = is_param;
    t->u.t->param_requires_grad = requires_grad;
    return 0;
}

static bool is_contiguous(const ckpt__tensor *t)
{
    /* an empty tensor is contiguous (as torch says); checking that first keeps
     * the running product below numel, so it cannot overflow */
    for (int i = 0; i < t->ndim; i++)
        if (t->shape[i] == 0)
            return true;
    int64_t expect = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] == 1)
            continue;
        if (t->stride[i] != expect)
            return false;
        if (ckpt_mul_i64(expect, t->shape[i], &expect))
            return false;
    }
    return true;
}

int ckpt_tensor_get_info(const ckpt_obj *o, ckpt_tensor_info *out)
{
    if (!o || o->type != CKPT_T_TENSOR || !out)
        return CKPT_E_ARG;
    const ckpt__tensor *t = o->u.t;
    memset(out, 0, sizeof(*out));
    out->dtype = t->dtype;
    out->ndim = t->ndim;
    out->shape = t->shape;
    out->stride = t->stride;
    out->storage_offset = t->offset;
    int64_t numel = 0;
    ckpt__numel(t->ndim, t->shape, &numel);
    out->numel = numel;
    out->nbytes = (uint64_t)numel * ckpt_dtype_size(t->dtype);
    out->requires_grad = t->is_param ? t->param_requires_grad : t->requires_grad;
    out->is_parameter = t->is_param;
    out->contiguous = is_contiguous(t);
    out->quantized = t->qparams != NULL;
    out->storage = t->storage;
    out->device = t->storage && t->storage->location ? t->storage->location : "meta";
    return 0;
}

const void *ckpt_tensor_data(const ckpt_obj *o)
{
    if (!o || o->type != CKPT_T_TENSOR)
        return NULL;
    const ckpt__tensor *t = o->u.t;
    if (!t->storage || !t->storage->data)
        return NULL;
    /* An empty view may carry any offset (torch allows it); never form a
     * pointer outside the storage for it. */
    uint64_t off;
    if (t->offset < 0 || ckpt_mul_u64((uint64_t)t->offset, ckpt_dtype_size(t->dtype), &off) ||
        off > t->storage->nbytes)
        return t->storage->data;
    return t->storage->data + (size_t)off;
}

/* Copy a strided view dimension by dimension; innermost contiguous runs by memcpy. */
static void copy_strided(uint8_t **dst, const uint8_t *src, const ckpt__tensor *t, int dim,
                         size_t isz)
{
    if (dim == t->ndim) {
        memcpy(*dst, src, isz);
        *dst += isz;
        return;
    }
    if (dim == t->ndim - 1 && t->stride[dim] == 1) {
        size_t n = (size_t)t->shape[dim] * isz;
        memcpy(*dst, src, n);
        *dst += n;
        return;
    }
    for (int64_t i = 0; i < t->shape[dim]; i++)
        copy_strided(dst, src + (size_t)(i * t->stride[dim]) * isz, t, dim + 1, isz);
}

int ckpt_tensor_copy_into(const ckpt_obj *o, void *dst, size_t dst_size, ckpt_error *err)
{
    ckpt_tensor_info info;
    if (ckpt_tensor_get_info(o, &info) < 0)
        return CKPT_FAIL(err, CKPT_E_ARG, "not a tensor");
    if (!dst && info.nbytes)
        return CKPT_FAIL(err, CKPT_E_ARG, "no destination for %llu bytes",
                         (unsigned long long)info.nbytes);
    if (dst_size < info.nbytes)
        return CKPT_FAIL(err, CKPT_E_ARG, "destination holds %zu bytes, tensor needs %llu",
                         dst_size, (unsigned long long)info.nbytes);
    if (info.numel == 0)
        return 0;
    const uint8_t *src = ckpt_tensor_data(o);
    if (!src)
        return CKPT_FAIL(err, CKPT_E_ARG, "tensor data is not loaded");
    uint8_t *d = dst;
    if (info.contiguous) {
        memcpy(d, src, (size_t)info.nbytes);
        return 0;
    }
    copy_strided(&d, src, o->u.t, 0, ckpt_dtype_size(info.dtype));
    return 0;
}
