/* src/onnx/ops_sequence.c - ONNX kernels: sequences and optionals.
 *
 * A sequence value is kind OX_KIND_SEQUENCE with `n_items` owned items
 * (each a calloc'd tensor value); an empty optional is OX_KIND_NONE, and an
 * optional holding something is that something. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "onnx/control_util.h"

static int need_seq(const ox_node *n, const ox_val *v, int k, ckpt_error *err)
{
    if (!v || v->kind != OX_KIND_SEQUENCE)
        return ox_fail(err, CKPT_E_ARG, n, "input %d must be a sequence", k);
    return 0;
}

static int need_tensor(const ox_node *n, const ox_val *v, int k, ckpt_error *err)
{
    if (!v || v->kind != OX_KIND_TENSOR)
        return ox_fail(err, CKPT_E_ARG, n, "input %d must be a tensor", k);
    return 0;
}

/* A scalar (or one-element) integer position, normalised into [0, count]
 * (`count` included when `end_ok`). */
static int read_pos(const ox_node *n, const ox_val *v, int64_t count, bool end_ok, int64_t *pos,
                    ckpt_error *err)
{
    if (v->kind != OX_KIND_TENSOR || v->numel != 1 ||
        (v->dtype != OX_INT64 && v->dtype != OX_INT32))
        return ox_fail(err, CKPT_E_ARG, n, "position must be one int32/int64 value");
    int64_t p;
    CX_TRY64(ox_read_ints(n, v, &p, 1, err));
    int64_t hi = end_ok ? count : count - 1;
    if (p < -count || p > hi)
        return ox_fail(err, CKPT_E_SHAPE, n, "position %lld outside [%lld, %lld]", (long long)p,
                       (long long)-count, (long long)hi);
    *pos = p < 0 ? p + count : p;
    return 0;
}

/* out = deep copy of the sequence `in` (out may be in: then nothing to do). */
static int seq_copy_into(const ox_node *n, ox_val *out, const ox_val *in, ckpt_error *err)
{
    (void)n;
    if (out == in)
        return 0;
    return ox_val_copy(out, in, err);
}

static int k_seq_empty(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                       ckpt_error *err)
{
    (void)r, (void)in, (void)err;
    int dt = (int)ox_attr_int(n, "dtype", OX_FLOAT);
    if (!ox_dtype_size(dt))
        return ox_fail(err, CKPT_E_FORMAT, n, "dtype %d", dt);
    if (out[0])
        cx_seq_reset(out[0], dt);
    return 0;
}

static int k_seq_construct(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                           ckpt_error *err)
{
    (void)r;
    if (n->n_in < 1)
        return ox_fail(err, CKPT_E_ARG, n, "needs at least one input");
    for (int k = 0; k < n->n_in; k++) {
        CKPT_TRY(need_tensor(n, in[k], k, err));
        if (in[k]->dtype != in[0]->dtype)
            return ox_fail(err, CKPT_E_ARG, n, "inputs of types %s and %s",
                           ox_dtype_name(in[0]->dtype), ox_dtype_name(in[k]->dtype));
    }
    if (!out[0])
        return 0;
    cx_seq_reset(out[0], in[0]->dtype);
    for (int k = 0; k < n->n_in; k++) {
        ox_val *it = cx_val_new(err);
        if (!it)
            return CKPT_E_NOMEM;
        int rc = ox_val_copy(it, in[k], err);
        if (rc == 0)
            rc = cx_seq_insert(out[0], it, out[0]->n_items, err);
        if (rc < 0) {
            cx_val_free(it);
            return rc;
        }
    }
    return 0;
}

static int k_seq_insert(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                        ckpt_error *err)
{
    (void)r;
    CKPT_TRY(need_seq(n, in[0], 0, err));
    CKPT_TRY(need_tensor(n, n->n_in > 1 ? in[1] : NULL, 1, err));
    const ox_val *s = in[0], *t = in[1];
    int sdt = s->dtype ? s->dtype : s->seq_dtype;
    if (s->n_items && sdt && t->dtype != sdt)
        return ox_fail(err, CKPT_E_ARG, n, "a %s tensor into a sequence of %s",
                       ox_dtype_name(t->dtype), ox_dtype_name(sdt));
    int64_t pos = s->n_items;
    if (n->n_in > 2 && in[2])
        CKPT_TRY(read_pos(n, in[2], s->n_items, true, &pos, err));
    if (!out[0])
        return 0;
    ox_val *it = cx_val_new(err);
    if (!it)
        return CKPT_E_NOMEM;
    int rc = ox_val_copy(it, t, err);
    if (rc == 0)
        rc = seq_copy_into(n, out[0], s, err);
    if (rc == 0) {
        if (!s->n_items) {
            out[0]->dtype = t->dtype;
            out[0]->seq_dtype = t->dtype;
        }
        rc = cx_seq_insert(out[0], it, pos, err);
    }
    if (rc < 0)
        cx_val_free(it);
    return rc;
}

static int k_seq_erase(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                       ckpt_error *err)
{
    (void)r;
    CKPT_TRY(need_seq(n, in[0], 0, err));
    const ox_val *s = in[0];
    if (!s->n_items)
        return ox_fail(err, CKPT_E_SHAPE, n, "erase from an empty sequence");
    int64_t pos = s->n_items - 1;
    if (n->n_in > 1 && in[1])
        CKPT_TRY(read_pos(n, in[1], s->n_items, false, &pos, err));
    if (!out[0])
        return 0;
    CKPT_TRY(seq_copy_into(n, out[0], s, err));
    ox_val *o = out[0];
    cx_val_free(o->items[pos]);
    memmove(o->items + pos, o->items + pos + 1,
            (size_t)(o->n_items - pos - 1) * sizeof *o->items);
    o->n_items--;
    return 0;
}

static int k_seq_at(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                    ckpt_error *err)
{
    (void)r;
    CKPT_TRY(need_seq(n, in[0], 0, err));
    if (n->n_in < 2 || !in[1])
        return ox_fail(err, CKPT_E_ARG, n, "needs a position");
    int64_t pos = 0;
    CKPT_TRY(read_pos(n, in[1], in[0]->n_items, false, &pos, err));
    if (!out[0])
        return 0;
    return ox_val_copy(out[0], in[0]->items[pos], err);
}

static int k_seq_length(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                        ckpt_error *err)
{
    CKPT_TRY(need_seq(n, in[0], 0, err));
    CKPT_TRY(ox_out(r, n, out[0], OX_INT64, 0, NULL, err));
    if (out[0])
        *(int64_t *)out[0]->data = in[0]->n_items;
    return 0;
}

static int k_concat_from_seq(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                             ckpt_error *err)
{
    CKPT_TRY(need_seq(n, in[0], 0, err));
    const ox_val *s = in[0];
    if (!s->n_items)
        return ox_fail(err, CKPT_E_SHAPE, n, "concatenation of an empty sequence");
    const ox_attr *aa = ox_attr_get(n, "axis");
    if (!aa)
        return ox_fail(err, CKPT_E_FORMAT, n, "the axis attribute is required");
    bool new_axis = ox_attr_int(n, "new_axis", 0) != 0;
    const ox_val *f = s->items[0];
    int rank = f->rank + (new_axis ? 1 : 0);
    if (rank > OX_MAX_RANK || rank < 1)
        return ox_fail(err, CKPT_E_SHAPE, n, "rank %d", rank);
    int axis;
    CKPT_TRY(ox_axis(n, aa->i, rank, false, &axis, err));
    int64_t dims[OX_MAX_RANK];
    int64_t total = 0;
    for (int64_t i = 0; i < s->n_items; i++) {
        const ox_val *x = s->items[i];
        if (x->kind != OX_KIND_TENSOR || x->dtype != f->dtype || x->rank != f->rank)
            return ox_fail(err, CKPT_E_SHAPE, n, "item %lld differs in type or rank",
                           (long long)i);
        for (int d = 0; d < f->rank; d++)
            if (d != axis && x->dims[d] != f->dims[d] && !new_axis)
                return ox_fail(err, CKPT_E_SHAPE, n, "item %lld differs in dim %d", (long long)i,
                               d);
            else if (new_axis && x->dims[d] != f->dims[d])
                return ox_fail(err, CKPT_E_SHAPE, n, "item %lld differs in dim %d", (long long)i,
                               d);
        total += new_axis ? 1 : x->dims[axis];
    }
    for (int d = 0, j = 0; d < rank; d++) {
        if (new_axis)
            dims[d] = d == axis ? total : f->dims[j++];
        else
            dims[d] = d == axis ? total : f->dims[d];
    }
    CKPT_TRY(ox_out(r, n, out[0], f->dtype, rank, dims, err));
    ox_val *o = out[0];
    if (!o)
        return 0;
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++)
        outer *= dims[d];
    for (int d = axis + 1; d < rank; d++)
        inner *= dims[d];
    size_t es = ox_dtype_size(f->dtype);
    int64_t off = 0;
    for (int64_t i = 0; i < s->n_items; i++) {
        const ox_val *x = s->items[i];
        int64_t a = new_axis ? 1 : x->dims[axis];
        for (int64_t q = 0; q < outer; q++) {
            char *d = (char *)o->data + (size_t)((q * total + off) * inner) * es;
            const char *src = (const char *)x->data + (size_t)(q * a * inner) * es;
            CKPT_TRY(cx_copy_elems(d, src, f->dtype, a * inner, err));
        }
        off += a;
    }
    return 0;
}

static int k_split_to_seq(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                          ckpt_error *err)
{
    (void)r;
    CKPT_TRY(need_tensor(n, in[0], 0, err));
    const ox_val *x = in[0];
    if (x->rank < 1)
        return ox_fail(err, CKPT_E_SHAPE, n, "a scalar cannot be split");
    int axis;
    CKPT_TRY(ox_axis(n, ox_attr_int(n, "axis", 0), x->rank, false, &axis, err));
    bool keep = ox_attr_int(n, "keepdims", 1) != 0;
    int64_t dim = x->dims[axis];
    const ox_val *sp = n->n_in > 1 ? in[1] : NULL;
    int64_t nparts = 0;
    int64_t *sizes = NULL;
    int rc = 0;
    if (sp && sp->kind == OX_KIND_TENSOR) {
        if (sp->rank == 0) {
            int64_t c;
            CX_TRY64(ox_read_ints(n, sp, &c, 1, err));
            if (c <= 0)
                return ox_fail(err, CKPT_E_SHAPE, n, "split size %lld", (long long)c);
            nparts = dim ? (dim + c - 1) / c : 0;
            sizes = calloc((size_t)nparts + 1, sizeof *sizes);
            if (!sizes)
                return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            for (int64_t i = 0; i < nparts; i++)
                sizes[i] = i == nparts - 1 ? dim - c * i : c;
        } else {
            nparts = sp->numel;
            sizes = calloc((size_t)nparts + 1, sizeof *sizes);
            if (!sizes)
                return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            if ((rc = (int)ox_read_ints(n, sp, sizes, nparts, err)) < 0)
                goto done;
            rc = 0;
            int64_t sum = 0;
            for (int64_t i = 0; i < nparts; i++) {
                if (sizes[i] < 0) {
                    rc = ox_fail(err, CKPT_E_SHAPE, n, "negative split");
                    goto done;
                }
                sum += sizes[i];
            }
            if (sum != dim) {
                rc = ox_fail(err, CKPT_E_SHAPE, n, "splits sum to %lld, the axis is %lld",
                             (long long)sum, (long long)dim);
                goto done;
            }
        }
        keep = true; /* keepdims only applies without a split input */
    } else {
        nparts = dim;
        sizes = calloc((size_t)nparts + 1, sizeof *sizes);
        if (!sizes)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        for (int64_t i = 0; i < nparts; i++)
            sizes[i] = 1;
    }
    if (!out[0])
        goto done;
    cx_seq_reset(out[0], x->dtype);
    for (int64_t i = 0, off = 0; i < nparts && rc == 0; off += sizes[i], i++) {
        ox_val *it = cx_val_new(err);
        if (!it) {
            rc = CKPT_E_NOMEM;
            break;
        }
        rc = keep ? cx_range(n, x, axis, off, sizes[i], it, err)
                  : cx_take(n, x, axis, off, it, err);
        if (rc == 0)
            rc = cx_seq_insert(out[0], it, out[0]->n_items, err);
        if (rc < 0)
            cx_val_free(it);
    }
done:
    free(sizes);
    return rc;
}

/* SequenceMap: the body runs once per item of input 0; other sequence inputs
 * give their item i, tensor inputs are passed whole; each body output is
 * collected into an output sequence. */
static int k_seq_map(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                     ckpt_error *err)
{
    CKPT_TRY(need_seq(n, in[0], 0, err));
    const ox_graph *body = ox_attr_graph(n, "body");
    if (!body)
        return ox_fail(err, CKPT_E_FORMAT, n, "no body attribute");
    if (body->n_inputs != n->n_in || body->n_outputs < n->n_out)
        return ox_fail(err, CKPT_E_FORMAT, n, "the body takes %d inputs and gives %d outputs",
                       body->n_inputs, body->n_outputs);
    int64_t len = in[0]->n_items;
    for (int k = 1; k < n->n_in; k++) {
        if (!in[k])
            return ox_fail(err, CKPT_E_ARG, n, "input %d is missing", k);
        if (in[k]->kind == OX_KIND_SEQUENCE && in[k]->n_items != len)
            return ox_fail(err, CKPT_E_SHAPE, n, "sequences of %lld and %lld items",
                           (long long)len, (long long)in[k]->n_items);
    }
    int nin = n->n_in, nout = n->n_out;
    ox_val **bin = calloc((size_t)nin, sizeof *bin);
    ox_val **bout = cx_vals_new(nout, err);
    if (!bin || (nout && !bout)) {
        free(bin);
        cx_vals_free(bout, nout);
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    for (int k = 0; k < nout; k++)
        if (out[k]) {
            const ox_type *t = &body->values[body->outputs[k]].type;
            cx_seq_reset(out[k], t->known ? t->dtype : 0);
        }
    int rc = 0;
    for (int64_t i = 0; i < len && rc == 0; i++) {
        for (int k = 0; k < nin; k++)
            bin[k] = in[k]->kind == OX_KIND_SEQUENCE ? in[k]->items[i] : in[k];
        rc = ox_run_subgraph(r, body, bin, nin, bout, nout, err);
        if (rc < 0) {
            ckpt__error_prefix_key(err, n->name);
            break;
        }
        for (int k = 0; k < nout && rc == 0; k++) {
            if (!out[k])
                continue;
            ox_val *it = cx_val_new(err);
            if (!it) {
                rc = CKPT_E_NOMEM;
                break;
            }
            cx_val_move(it, bout[k]);
            rc = cx_seq_insert(out[k], it, out[k]->n_items, err);
            if (rc < 0)
                cx_val_free(it);
        }
    }
    free(bin);
    cx_vals_free(bout, nout);
    return rc;
}

/* ------------------------------------------------------------ optionals */

static int k_optional(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                      ckpt_error *err)
{
    (void)r;
    if (!out[0])
        return 0;
    const ox_val *x = n->n_in > 0 ? in[0] : NULL;
    if (x)
        return ox_val_copy(out[0], x, err);
    ox_val_clear(out[0]);
    out[0]->kind = OX_KIND_NONE;
    return 0;
}

static int k_opt_has(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                     ckpt_error *err)
{
    const ox_val *x = n->n_in > 0 ? in[0] : NULL;
    CKPT_TRY(ox_out(r, n, out[0], OX_BOOL, 0, NULL, err));
    if (out[0])
        *(uint8_t *)out[0]->data = x && x->kind != OX_KIND_NONE;
    return 0;
}

static int k_opt_get(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                     ckpt_error *err)
{
    (void)r;
    const ox_val *x = n->n_in > 0 ? in[0] : NULL;
    if (!x || x->kind == OX_KIND_NONE)
        return ox_fail(err, CKPT_E_ARG, n, "the optional input is empty");
    if (!out[0])
        return 0;
    if (x->kind == OX_KIND_TENSOR && x->dtype != OX_STRING)
        return ox_alias(r, n, out[0], x, x->rank, x->dims, err);
    return ox_val_copy(out[0], x, err);
}

const ox_op ox_ops_sequence[] = {
    {"SequenceEmpty", "", 11, 0, k_seq_empty, NULL},
    {"SequenceConstruct", "", 11, 0, k_seq_construct, NULL},
    {"SequenceInsert", "", 11, 0, k_seq_insert, NULL},
    {"SequenceErase", "", 11, 0, k_seq_erase, NULL},
    {"SequenceAt", "", 11, 0, k_seq_at, NULL},
    {"SequenceLength", "", 11, 0, k_seq_length, NULL},
    {"ConcatFromSequence", "", 11, 0, k_concat_from_seq, NULL},
    {"SplitToSequence", "", 11, 0, k_split_to_seq, NULL},
    {"SequenceMap", "", 17, 0, k_seq_map, NULL},
    {"Optional", "", 15, 0, k_optional, NULL},
    {"OptionalHasElement", "", 15, 0, k_opt_has, NULL},
    {"OptionalGetElement", "", 15, 0, k_opt_get, NULL},
    {0},
};
