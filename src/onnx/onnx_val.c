/* src/onnx/onnx_val.c - run-time values, element types, attributes and the
 * small helpers every kernel uses. */
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/core.h"
#include "core/err.h"
#include "onnx/onnx_internal.h"

/* ------------------------------------------------------------ element types */

static const struct {
    const char *name;
    size_t size;
    int ckpt;
} dtypes[OX_DTYPE_MAX + 1] = {
    [OX_UNDEFINED] = {"undefined", 0, CKPT_DTYPE_UNKNOWN},
    [OX_FLOAT] = {"float32", 4, CKPT_F32},
    [OX_UINT8] = {"uint8", 1, CKPT_U8},
    [OX_INT8] = {"int8", 1, CKPT_I8},
    [OX_UINT16] = {"uint16", 2, CKPT_U16},
    [OX_INT16] = {"int16", 2, CKPT_I16},
    [OX_INT32] = {"int32", 4, CKPT_I32},
    [OX_INT64] = {"int64", 8, CKPT_I64},
    [OX_STRING] = {"string", sizeof(char *), CKPT_DTYPE_UNKNOWN},
    [OX_BOOL] = {"bool", 1, CKPT_BOOL},
    [OX_FLOAT16] = {"float16", 2, CKPT_F16},
    [OX_DOUBLE] = {"float64", 8, CKPT_F64},
    [OX_UINT32] = {"uint32", 4, CKPT_U32},
    [OX_UINT64] = {"uint64", 8, CKPT_U64},
    [OX_COMPLEX64] = {"complex64", 8, CKPT_C64},
    [OX_COMPLEX128] = {"complex128", 16, CKPT_C128},
    [OX_BFLOAT16] = {"bfloat16", 2, CKPT_BF16},
};

size_t ox_dtype_size(int dt)
{
    return dt > 0 && dt <= OX_DTYPE_MAX ? dtypes[dt].size : 0;
}

const char *ox_dtype_name(int dt)
{
    return dt >= 0 && dt <= OX_DTYPE_MAX ? dtypes[dt].name : "unknown";
}

int ox_dtype_to_ckpt(int dt)
{
    return dt > 0 && dt <= OX_DTYPE_MAX ? dtypes[dt].ckpt : CKPT_DTYPE_UNKNOWN;
}

int ox_dtype_from_ckpt(int c)
{
    for (int i = 1; i <= OX_DTYPE_MAX; i++)
        if (dtypes[i].ckpt == c && c != CKPT_DTYPE_UNKNOWN)
            return i;
    return 0;
}

/* ------------------------------------------------------------ half types */

float ox_half_to_float(uint16_t h)
{
    float f;
    ckpt_convert_elements(&f, CKPT_F32, &h, CKPT_F16, 1);
    return f;
}

uint16_t ox_float_to_half(float f)
{
    uint16_t h;
    ckpt_convert_elements(&h, CKPT_F16, &f, CKPT_F32, 1);
    return h;
}

float ox_bf16_to_float(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t ox_float_to_bf16(float f)
{
    uint16_t h;
    ckpt_convert_elements(&h, CKPT_BF16, &f, CKPT_F32, 1);
    return h;
}

/* ------------------------------------------------------------ values */

int64_t ox_numel(int rank, const int64_t *dims)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0)
            return -1;
        if (dims[i] && n > INT64_MAX / dims[i])
            return -1;
        n *= dims[i];
    }
    return n;
}

size_t ox_val_nbytes(const ox_val *v)
{
    if (v->kind != OX_KIND_TENSOR || v->numel <= 0)
        return 0;
    return (size_t)v->numel * ox_dtype_size(v->dtype);
}

static void free_strings(ox_val *v)
{
    if (v->dtype == OX_STRING && v->buf && v->data == v->buf) {
        char **s = v->buf;
        size_t n = v->cap / sizeof(char *);
        for (size_t i = 0; i < n; i++) {
            free(s[i]);
            s[i] = NULL;
        }
    }
}

static void free_items(ox_val *v)
{
    for (int64_t i = 0; i < v->n_items; i++) {
        ox_val_clear(v->items[i]);
        free(v->items[i]);
    }
    free(v->items);
    v->items = NULL;
    v->n_items = 0;
}

void ox_val_clear(ox_val *v)
{
    if (!v)
        return;
    free_strings(v);
    free(v->buf);
    free_items(v);
    memset(v, 0, sizeof *v);
}

static atomic_ullong buffer_allocs;

uint64_t ox_buffer_allocs(void)
{
    return (uint64_t)atomic_load(&buffer_allocs);
}

int ox_val_reshape_alloc(ox_val *v, int dtype, int rank, const int64_t *dims, ckpt_error *err)
{
    if (rank < 0 || rank > OX_MAX_RANK)
        return CKPT_FAIL(err, CKPT_E_LIMIT, "rank %d (at most %d)", rank, OX_MAX_RANK);
    size_t es = ox_dtype_size(dtype);
    if (!es)
        return CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "element type %d", dtype);
    int64_t n = ox_numel(rank, dims);
    if (n < 0 || (uint64_t)n > (SIZE_MAX / 2) / es)
        return CKPT_FAIL(err, CKPT_E_LIMIT, "tensor size overflows");
    size_t bytes = (size_t)n * es;
    if (v->kind == OX_KIND_SEQUENCE)
        free_items(v);
    /* strings of a previous run are freed before the buffer is reused */
    if (v->dtype == OX_STRING || dtype == OX_STRING)
        free_strings(v);
    if (bytes > v->cap || !v->buf) {
        size_t want = bytes ? bytes : 1;
        void *nb = dtype == OX_STRING ? calloc(1, want) : malloc(want);
        if (!nb)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory for a %zu-byte tensor", bytes);
        atomic_fetch_add(&buffer_allocs, 1);
        if (v->dtype == OX_STRING)
            free_strings(v);
        free(v->buf);
        v->buf = nb;
        v->cap = want;
    } else if (dtype == OX_STRING) {
        memset(v->buf, 0, v->cap);
    }
    v->kind = OX_KIND_TENSOR;
    v->dtype = dtype;
    v->rank = rank;
    for (int i = 0; i < rank; i++)
        v->dims[i] = dims[i];
    v->numel = n;
    v->data = v->buf;
    return 0;
}

int ox_val_copy(ox_val *dst, const ox_val *src, ckpt_error *err)
{
    if (dst == src)
        return 0;
    if (src->kind == OX_KIND_NONE) {
        ox_val_clear(dst);
        dst->kind = OX_KIND_NONE;
        dst->dtype = src->dtype;
        return 0;
    }
    if (src->kind == OX_KIND_SEQUENCE) {
        ox_val_clear(dst);
        dst->kind = OX_KIND_SEQUENCE;
        dst->seq_dtype = src->seq_dtype;
        dst->dtype = src->dtype;
        if (src->n_items) {
            dst->items = calloc((size_t)src->n_items, sizeof *dst->items);
            if (!dst->items)
                return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory copying a sequence");
        }
        for (int64_t i = 0; i < src->n_items; i++) {
            dst->items[i] = calloc(1, sizeof(ox_val));
            if (!dst->items[i])
                return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory copying a sequence");
            dst->n_items = i + 1;
            CKPT_TRY(ox_val_copy(dst->items[i], src->items[i], err));
        }
        return 0;
    }
    CKPT_TRY(ox_val_reshape_alloc(dst, src->dtype, src->rank, src->dims, err));
    if (src->dtype == OX_STRING) {
        char **d = dst->data;
        char *const *s = src->data;
        for (int64_t i = 0; i < src->numel; i++) {
            d[i] = strdup(s[i] ? s[i] : "");
            if (!d[i])
                return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory copying strings");
        }
    } else if (src->numel) {
        memcpy(dst->data, src->data, ox_val_nbytes(src));
    }
    return 0;
}

/* ------------------------------------------------------------ attributes */

const ox_attr *ox_attr_get(const ox_node *n, const char *name)
{
    for (int i = 0; i < n->n_attrs; i++)
        if (!strcmp(n->attrs[i].name, name))
            return &n->attrs[i];
    return NULL;
}

int64_t ox_attr_int(const ox_node *n, const char *name, int64_t dflt)
{
    const ox_attr *a = ox_attr_get(n, name);
    return a && a->type == OX_ATTR_INT ? a->i : dflt;
}

float ox_attr_float(const ox_node *n, const char *name, float dflt)
{
    const ox_attr *a = ox_attr_get(n, name);
    if (!a)
        return dflt;
    if (a->type == OX_ATTR_FLOAT)
        return a->f;
    if (a->type == OX_ATTR_INT)
        return (float)a->i;
    return dflt;
}

const char *ox_attr_str(const ox_node *n, const char *name, const char *dflt)
{
    const ox_attr *a = ox_attr_get(n, name);
    return a && a->type == OX_ATTR_STRING && a->s ? a->s : dflt;
}

const int64_t *ox_attr_ints(const ox_node *n, const char *name, size_t *count)
{
    const ox_attr *a = ox_attr_get(n, name);
    if (!a || a->type != OX_ATTR_INTS) {
        *count = 0;
        return NULL;
    }
    *count = a->n;
    return a->ints;
}

const float *ox_attr_floats(const ox_node *n, const char *name, size_t *count)
{
    const ox_attr *a = ox_attr_get(n, name);
    if (!a || a->type != OX_ATTR_FLOATS) {
        *count = 0;
        return NULL;
    }
    *count = a->n;
    return a->floats;
}

const ox_val *ox_attr_tensor(const ox_node *n, const char *name)
{
    const ox_attr *a = ox_attr_get(n, name);
    return a && a->type == OX_ATTR_TENSOR ? a->t : NULL;
}

ox_graph *ox_attr_graph(const ox_node *n, const char *name)
{
    const ox_attr *a = ox_attr_get(n, name);
    return a && a->type == OX_ATTR_GRAPH ? a->g : NULL;
}

/* ------------------------------------------------------------ kernel helpers */

int ox_fail(ckpt_error *err, int code, const ox_node *n, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return CKPT_FAIL(err, code, "node '%s' (%s): %s", n ? n->name : "?", n ? n->op_type : "?",
                     msg);
}

int64_t ox_read_ints(const ox_node *n, const ox_val *v, int64_t *dst, int64_t max,
                     ckpt_error *err)
{
    if (!v || v->kind != OX_KIND_TENSOR)
        return ox_fail(err, CKPT_E_ARG, n, "expected an integer tensor");
    if (v->numel > max)
        return ox_fail(err, CKPT_E_LIMIT, n, "%lld values (at most %lld)", (long long)v->numel,
                       (long long)max);
    for (int64_t i = 0; i < v->numel; i++) {
        switch (v->dtype) {
        case OX_INT64: memcpy(&dst[i], (const int64_t *)v->data + i, 8); break;
        case OX_INT32: dst[i] = ((const int32_t *)v->data)[i]; break;
        case OX_INT16: dst[i] = ((const int16_t *)v->data)[i]; break;
        case OX_INT8: dst[i] = ((const int8_t *)v->data)[i]; break;
        case OX_UINT8: dst[i] = ((const uint8_t *)v->data)[i]; break;
        case OX_UINT16: dst[i] = ((const uint16_t *)v->data)[i]; break;
        case OX_UINT32: dst[i] = ((const uint32_t *)v->data)[i]; break;
        case OX_UINT64: dst[i] = (int64_t)((const uint64_t *)v->data)[i]; break;
        default:
            return ox_fail(err, CKPT_E_ARG, n, "expected an integer tensor, got %s",
                           ox_dtype_name(v->dtype));
        }
    }
    return v->numel;
}

double ox_get_f64(const ox_val *v, int64_t i)
{
    const void *d = v->data;
    switch (v->dtype) {
    case OX_FLOAT: return (double)((const float *)d)[i];
    case OX_DOUBLE: return ((const double *)d)[i];
    case OX_FLOAT16: return (double)ox_half_to_float(((const uint16_t *)d)[i]);
    case OX_BFLOAT16: return (double)ox_bf16_to_float(((const uint16_t *)d)[i]);
    case OX_INT8: return ((const int8_t *)d)[i];
    case OX_UINT8: return ((const uint8_t *)d)[i];
    case OX_INT16: return ((const int16_t *)d)[i];
    case OX_UINT16: return ((const uint16_t *)d)[i];
    case OX_INT32: return ((const int32_t *)d)[i];
    case OX_UINT32: return ((const uint32_t *)d)[i];
    case OX_INT64: return (double)((const int64_t *)d)[i];
    case OX_UINT64: return (double)((const uint64_t *)d)[i];
    case OX_BOOL: return ((const uint8_t *)d)[i] ? 1.0 : 0.0;
    default: return 0.0;
    }
}

void ox_set_f64(ox_val *v, int64_t i, double x)
{
    void *d = v->data;
    switch (v->dtype) {
    case OX_FLOAT: ((float *)d)[i] = (float)x; break;
    case OX_DOUBLE: ((double *)d)[i] = x; break;
    case OX_FLOAT16: ((uint16_t *)d)[i] = ox_float_to_half((float)x); break;
    case OX_BFLOAT16: ((uint16_t *)d)[i] = ox_float_to_bf16((float)x); break;
    case OX_INT8: ((int8_t *)d)[i] = (int8_t)x; break;
    case OX_UINT8: ((uint8_t *)d)[i] = (uint8_t)x; break;
    case OX_INT16: ((int16_t *)d)[i] = (int16_t)x; break;
    case OX_UINT16: ((uint16_t *)d)[i] = (uint16_t)x; break;
    case OX_INT32: ((int32_t *)d)[i] = (int32_t)x; break;
    case OX_UINT32: ((uint32_t *)d)[i] = (uint32_t)x; break;
    case OX_INT64: ((int64_t *)d)[i] = (int64_t)x; break;
    case OX_UINT64: ((uint64_t *)d)[i] = (uint64_t)x; break;
    case OX_BOOL: ((uint8_t *)d)[i] = x != 0.0; break;
    default: break;
    }
}

int ox_broadcast_shape(const ox_node *n, int ra, const int64_t *da, int rb, const int64_t *db,
                       int *rank, int64_t *dims, ckpt_error *err)
{
    int r = ra > rb ? ra : rb;
    for (int i = 0; i < r; i++) {
        int64_t a = i < r - ra ? 1 : da[i - (r - ra)];
        int64_t b = i < r - rb ? 1 : db[i - (r - rb)];
        if (a != b && a != 1 && b != 1)
            return ox_fail(err, CKPT_E_SHAPE, n, "shapes do not broadcast (dim %d: %lld vs %lld)",
                           i, (long long)a, (long long)b);
        dims[i] = a == 1 ? b : a;
    }
    *rank = r;
    return 0;
}

void ox_strides(int rank, const int64_t *dims, int64_t *strides)
{
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        strides[i] = s;
        s *= dims[i];
    }
}

int ox_axis(const ox_node *n, int64_t axis, int rank, bool extra, int *out, ckpt_error *err)
{
    int64_t hi = extra ? rank + 1 : rank;
    if (axis < -hi || axis >= hi)
        return ox_fail(err, CKPT_E_ARG, n, "axis %lld out of range for rank %d", (long long)axis,
                       rank);
    *out = (int)(axis < 0 ? axis + hi : axis);
    return 0;
}

/* ------------------------------------------------------------ public inspection */

static void vi_fill(const ox_value *v, ckpt_onnx_value_info *out)
{
    memset(out, 0, sizeof *out);
    out->name = v->name;
    out->kind = v->type.kind == OX_KIND_SEQUENCE ? CKPT_ONNX_SEQUENCE
                : v->type.kind == OX_KIND_NONE   ? CKPT_ONNX_OPTIONAL
                                                 : CKPT_ONNX_TENSOR;
    out->elem_type = v->type.dtype;
    out->dtype = ox_dtype_to_ckpt(v->type.dtype);
    out->ndim = v->type.rank;
    out->shape = v->type.dims;
    out->dim_params = (const char *const *)v->type.dim_params;
}

int ckpt_onnx_get_info(const ckpt_onnx_model *m, ckpt_onnx_info *out)
{
    if (!m || !out)
        return CKPT_E_ARG;
    memset(out, 0, sizeof *out);
    out->ir_version = m->ir_version;
    out->model_version = m->model_version;
    out->producer_name = m->producer_name;
    out->producer_version = m->producer_version;
    out->domain = m->domain;
    out->n_opsets = (size_t)m->n_opsets;
    out->n_inputs = (size_t)m->graph->n_inputs;
    out->n_outputs = (size_t)m->graph->n_outputs;
    out->n_initializers = (size_t)m->graph->n_initializers;
    out->n_nodes = (size_t)m->graph->n_nodes;
    return 0;
}

int ckpt_onnx_get_opset(const ckpt_onnx_model *m, size_t i, const char **domain, int64_t *version)
{
    if (!m || i >= (size_t)m->n_opsets)
        return CKPT_E_ARG;
    if (domain)
        *domain = m->opsets[i].domain;
    if (version)
        *version = m->opsets[i].version;
    return 0;
}

int ckpt_onnx_get_input(const ckpt_onnx_model *m, size_t i, ckpt_onnx_value_info *out)
{
    if (!m || !out || i >= (size_t)m->graph->n_inputs)
        return CKPT_E_ARG;
    vi_fill(&m->graph->values[m->graph->inputs[i]], out);
    return 0;
}

int ckpt_onnx_get_output(const ckpt_onnx_model *m, size_t i, ckpt_onnx_value_info *out)
{
    if (!m || !out || i >= (size_t)m->graph->n_outputs)
        return CKPT_E_ARG;
    vi_fill(&m->graph->values[m->graph->outputs[i]], out);
    return 0;
}

int ckpt_onnx_get_initializer(const ckpt_onnx_model *m, size_t i, ckpt_onnx_tensor *out)
{
    if (!m || !out || i >= (size_t)m->graph->n_initializers)
        return CKPT_E_ARG;
    const ox_value *v = &m->graph->values[m->graph->initializers[i]];
    memset(out, 0, sizeof *out);
    out->name = v->name;
    out->elem_type = v->init.dtype;
    out->dtype = ox_dtype_to_ckpt(v->init.dtype);
    out->ndim = v->init.rank;
    for (int k = 0; k < v->init.rank && k < CKPT_ONNX_MAX_RANK; k++)
        out->shape[k] = v->init.dims[k];
    out->data = v->init.data;
    out->nbytes = ox_val_nbytes(&v->init);
    return 0;
}

int ckpt_onnx_get_node(const ckpt_onnx_model *m, size_t i, const char **op_type,
                       const char **domain, const char **name)
{
    if (!m || i >= (size_t)m->graph->n_nodes)
        return CKPT_E_ARG;
    const ox_node *n = &m->graph->nodes[i];
    if (op_type)
        *op_type = n->op_type;
    if (domain)
        *domain = n->domain;
    if (name)
        *name = n->name[0] == '#' ? "" : n->name;
    return 0;
}

void ox_attr_free(ox_attr *a, bool own_graphs)
{
    free(a->name);
    free(a->ref_attr_name);
    free(a->s);
    free(a->floats);
    free(a->ints);
    if (a->strings)
        for (size_t i = 0; i < a->n; i++)
            free(a->strings[i]);
    free(a->strings);
    free(a->string_lens);
    if (a->t) {
        ox_val_clear(a->t);
        free(a->t);
    }
    if (a->tensors)
        for (size_t i = 0; i < a->n; i++)
            ox_val_clear(&a->tensors[i]);
    free(a->tensors);
    if (own_graphs) {
        if (a->g)
            ox_graph_free(a->g);
        for (size_t i = 0; a->graphs && i < a->n; i++)
            if (a->graphs[i])
                ox_graph_free(a->graphs[i]);
    }
    free(a->graphs);
    memset(a, 0, sizeof *a);
}
