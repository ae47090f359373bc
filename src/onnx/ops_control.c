/* src/onnx/ops_control.c - ONNX kernels: control flow (If, Loop, Scan).
 *
 * Bodies run through ox_run_subgraph, which copies the values handed to the
 * body into its input slots and copies the body's outputs out: the kernels
 * here keep the loop-carried values in values of their own (current and
 * next, swapped after each iteration), so a body output that is one of its
 * inputs, or a value aliasing one, is never read after it is overwritten. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "onnx/control_util.h"

static int read_bool(const ox_node *n, const ox_val *v, const char *what, bool *out,
                     ckpt_error *err)
{
    if (!v || v->kind != OX_KIND_TENSOR || v->numel != 1)
        return ox_fail(err, CKPT_E_SHAPE, n, "%s must be a tensor of one element", what);
    *out = ox_get_f64(v, 0) != 0;
    if (v->dtype == OX_BOOL)
        *out = *(const uint8_t *)v->data != 0;
    return 0;
}

/* ------------------------------------------------------------ If */

static int k_if(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                ckpt_error *err)
{
    bool c = false;
    CKPT_TRY(read_bool(n, in[0], "the condition", &c, err));
    const ox_graph *g = ox_attr_graph(n, c ? "then_branch" : "else_branch");
    if (!g)
        return ox_fail(err, CKPT_E_FORMAT, n, "no %s attribute",
                       c ? "then_branch" : "else_branch");
    if (g->n_outputs < n->n_out)
        return ox_fail(err, CKPT_E_FORMAT, n, "the branch has %d outputs, the node %d",
                       g->n_outputs, n->n_out);
    int rc = ox_run_subgraph(r, g, NULL, 0, out, n->n_out, err);
    if (rc < 0)
        ckpt__error_prefix_key(err, n->name);
    return rc;
}

/* ------------------------------------------------------------ stacking */

/* Per-iteration outputs of one scan output, stacked at the end. */
typedef struct stack {
    ox_val **v;
    int64_t n, cap;
    size_t bytes;
} stack;

/* Append an iteration's output; the items together may not pass the
 * session's per-value cap (they become one output). */
static int stack_push(ox_run *r, const ox_node *n, stack *s, ox_val *src, ckpt_error *err)
{
    size_t cap = ox_run_max_bytes(r), nb = ox_val_nbytes(src);
    if (cap && (nb > cap || s->bytes > cap - nb))
        return ox_fail(err, CKPT_E_LIMIT, n,
                       "scan outputs of %lld iterations pass the %zu-byte value limit",
                       (long long)s->n + 1, cap);
    s->bytes += nb;
    if (s->n == s->cap) {
        int64_t nc = s->cap ? 2 * s->cap : 8;
        ox_val **nv = realloc(s->v, (size_t)nc * sizeof *nv);
        if (!nv)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        s->v = nv;
        s->cap = nc;
    }
    ox_val *v = cx_val_new(err);
    if (!v)
        return CKPT_E_NOMEM;
    cx_val_move(v, src);
    s->v[s->n++] = v;
    return 0;
}

static void stack_free(stack *s)
{
    cx_vals_free(s->v, s->n);
    s->v = NULL;
    s->n = s->cap = 0;
    s->bytes = 0;
}

/* The declared element type and dims of body output `vi` (for outputs of
 * zero iterations): unknown dims become 0. */
static void declared(const ox_graph *g, int vi, int *dtype, int *rank, int64_t *dims)
{
    const ox_type *t = &g->values[vi].type;
    *dtype = t->known && t->dtype ? t->dtype : OX_FLOAT;
    *rank = t->known && t->rank > 0 ? t->rank : 0;
    for (int i = 0; i < *rank; i++)
        dims[i] = t->dims[i] > 0 ? t->dims[i] : 0;
}

/* out = the items of `s` stacked along a new axis `axis` (reversed order when
 * `reverse`); `g`/`vi` give the type when there are no items. */
static int stack_out(ox_run *r, const ox_node *n, stack *s, int64_t axis_attr, bool reverse,
                     const ox_graph *g, int vi, ox_val *out, ckpt_error *err)
{
    if (!out)
        return 0;
    int dtype, rank;
    int64_t dims[OX_MAX_RANK] = {0};
    if (s->n) {
        const ox_val *f = s->v[0];
        if (f->kind != OX_KIND_TENSOR)
            return ox_fail(err, CKPT_E_UNSUPPORTED, n, "a scan output is not a tensor");
        dtype = f->dtype;
        rank = f->rank;
        memcpy(dims, f->dims, sizeof dims);
    } else {
        declared(g, vi, &dtype, &rank, dims);
    }
    if (rank + 1 > OX_MAX_RANK)
        return ox_fail(err, CKPT_E_LIMIT, n, "scan output rank %d", rank + 1);
    int axis;
    CKPT_TRY(ox_axis(n, axis_attr, rank + 1, false, &axis, err));
    int64_t od[OX_MAX_RANK];
    for (int i = 0, j = 0; i < rank + 1; i++)
        od[i] = i == axis ? s->n : dims[j++];
    CKPT_TRY(ox_out(r, n, out, dtype, rank + 1, od, err));
    for (int64_t t = 0; t < s->n; t++)
        CKPT_TRY(cx_put(n, out, axis, reverse ? s->n - 1 - t : t, s->v[t], err));
    return 0;
}

/* ------------------------------------------------------------ Loop */

static int k_loop(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                  ckpt_error *err)
{
    const ox_graph *body = ox_attr_graph(n, "body");
    if (!body)
        return ox_fail(err, CKPT_E_FORMAT, n, "no body attribute");
    int nv = n->n_in > 2 ? n->n_in - 2 : 0; /* loop-carried values */
    int nk = body->n_outputs - 1 - nv;      /* scan outputs */
    if (body->n_inputs != nv + 2 || nk < 0)
        return ox_fail(err, CKPT_E_FORMAT, n,
                       "the body takes %d inputs and gives %d outputs for %d carried values",
                       body->n_inputs, body->n_outputs, nv);
    if (n->n_out > nv + nk)
        return ox_fail(err, CKPT_E_FORMAT, n, "%d outputs, the body gives %d", n->n_out, nv + nk);
    int64_t trip = INT64_MAX;
    bool has_m = n->n_in > 0 && in[0] && in[0]->kind == OX_KIND_TENSOR && in[0]->numel > 0;
    bool has_c = n->n_in > 1 && in[1] && in[1]->kind == OX_KIND_TENSOR && in[1]->numel > 0;
    if (has_m) {
        if (in[0]->numel != 1)
            return ox_fail(err, CKPT_E_SHAPE, n, "M must have one element");
        CX_TRY64(ox_read_ints(n, in[0], &trip, 1, err));
    }
    bool cond = true;
    if (has_c)
        CKPT_TRY(read_bool(n, in[1], "cond", &cond, err));
    if (!has_m && !has_c)
        return ox_fail(err, CKPT_E_UNSUPPORTED, n,
                       "neither a trip count nor a condition: the loop would not end");

    int rc = 0;
    int nin = nv + 2, nout = 1 + nv + nk;
    ox_val **cur = cx_vals_new(nin, err);  /* [iter, cond, carried...] */
    ox_val **nxt = cx_vals_new(nout, err); /* [cond, carried..., scan...] */
    stack *st = calloc(nk ? (size_t)nk : 1, sizeof *st);
    if (!cur || !nxt || !st) {
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        goto done;
    }
    for (int j = 0; j < nv && rc == 0; j++) {
        const ox_val *v = in[2 + j];
        if (!v || v->kind == OX_KIND_NONE) {
            ox_val_clear(cur[2 + j]);
            cur[2 + j]->kind = OX_KIND_NONE;
            if (v)
                cur[2 + j]->dtype = v->dtype;
        } else {
            rc = ox_val_copy(cur[2 + j], v, err);
        }
    }
    for (int64_t i = 0; rc == 0 && i < trip && cond; i++) {
        if ((rc = cx_scalar_i64(cur[0], OX_INT64, i, err)) < 0 ||
            (rc = cx_scalar_i64(cur[1], OX_BOOL, cond, err)) < 0)
            break;
        rc = ox_run_subgraph(r, body, cur, nin, nxt, nout, err);
        if (rc < 0) {
            ckpt__error_prefix_key(err, n->name);
            break;
        }
        if (has_c && (rc = read_bool(n, nxt[0], "the body's condition output", &cond, err)) < 0)
            break;
        for (int j = 0; j < nv; j++) {
            /* swap: the next values become current, the old ones are reused */
            ox_val *t = cur[2 + j];
            cur[2 + j] = nxt[1 + j];
            nxt[1 + j] = t;
        }
        for (int k = 0; k < nk && rc == 0; k++)
            rc = stack_push(r, n, &st[k], nxt[1 + nv + k], err);
    }
    for (int j = 0; j < nv && j < n->n_out && rc == 0; j++)
        if (out[j])
            cx_val_move(out[j], cur[2 + j]);
    for (int k = 0; k < nk && nv + k < n->n_out && rc == 0; k++)
        rc = stack_out(r, n, &st[k], 0, false, body, body->outputs[1 + nv + k], out[nv + k], err);
done:
    cx_vals_free(cur, cur ? nin : 0);
    cx_vals_free(nxt, nxt ? nout : 0);
    if (st)
        for (int k = 0; k < nk; k++)
            stack_free(&st[k]);
    free(st);
    return rc;
}

/* ------------------------------------------------------------ Scan */

/* Attribute list `name` of `count` entries (default 0). */
static int attr_list(const ox_node *n, const char *name, int count, int64_t *dst, ckpt_error *err)
{
    size_t c = 0;
    const int64_t *a = ox_attr_ints(n, name, &c);
    for (int i = 0; i < count; i++)
        dst[i] = 0;
    if (!a)
        return 0;
    if (c != (size_t)count)
        return ox_fail(err, CKPT_E_FORMAT, n, "%s has %zu entries, %d expected", name, c, count);
    for (int i = 0; i < count; i++)
        dst[i] = a[i];
    return 0;
}

/* Scan-9 and later: state inputs, then scan inputs sliced along their axes. */
static int scan9(ox_run *r, const ox_node *n, const ox_graph *body, ox_val *const *in,
                 ox_val *const *out, ckpt_error *err)
{
    int m = (int)ox_attr_int(n, "num_scan_inputs", -1);
    int ns = n->n_in - m;
    int nk = body->n_outputs - ns;
    if (m < 1 || ns < 0 || nk < 0 || body->n_inputs != ns + m)
        return ox_fail(err, CKPT_E_FORMAT, n,
                       "num_scan_inputs %d does not fit %d inputs and a body of %d inputs, "
                       "%d outputs",
                       m, n->n_in, body->n_inputs, body->n_outputs);
    int64_t *ax = calloc((size_t)(2 * m + 2 * nk) + 1, sizeof *ax);
    if (!ax)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    int64_t *dir = ax + m, *oax = ax + 2 * m, *odir = ax + 2 * m + nk;
    int rc = 0;
    ox_val **cur = NULL, **nxt = NULL;
    stack *st = NULL;
    if ((rc = attr_list(n, "scan_input_axes", m, ax, err)) < 0 ||
        (rc = attr_list(n, "scan_input_directions", m, dir, err)) < 0 ||
        (rc = attr_list(n, "scan_output_axes", nk, oax, err)) < 0 ||
        (rc = attr_list(n, "scan_output_directions", nk, odir, err)) < 0)
        goto done;
    int64_t len = -1;
    for (int j = 0; j < m; j++) {
        const ox_val *x = in[ns + j];
        if (!x || x->kind != OX_KIND_TENSOR) {
            rc = ox_fail(err, CKPT_E_ARG, n, "scan input %d is not a tensor", j);
            goto done;
        }
        int a;
        if ((rc = ox_axis(n, ax[j], x->rank, false, &a, err)) < 0)
            goto done;
        ax[j] = a;
        if (len >= 0 && x->dims[a] != len) {
            rc = ox_fail(err, CKPT_E_SHAPE, n, "scan inputs of lengths %lld and %lld",
                         (long long)len, (long long)x->dims[a]);
            goto done;
        }
        len = x->dims[a];
    }
    int nin = ns + m, nout = ns + nk;
    cur = cx_vals_new(nin, err);
    nxt = cx_vals_new(nout, err);
    st = calloc(nk ? (size_t)nk : 1, sizeof *st);
    if (!cur || !nxt || !st) {
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        goto done;
    }
    for (int j = 0; j < ns && rc == 0; j++) {
        if (!in[j]) {
            rc = ox_fail(err, CKPT_E_ARG, n, "state input %d is missing", j);
            goto done;
        }
        rc = ox_val_copy(cur[j], in[j], err);
    }
    for (int64_t t = 0; t < len && rc == 0; t++) {
        for (int j = 0; j < m && rc == 0; j++)
            rc = cx_take(n, in[ns + j], (int)ax[j], dir[j] ? len - 1 - t : t, cur[ns + j], err);
        if (rc < 0)
            break;
        rc = ox_run_subgraph(r, body, cur, nin, nxt, nout, err);
        if (rc < 0) {
            ckpt__error_prefix_key(err, n->name);
            break;
        }
        for (int j = 0; j < ns; j++) {
            ox_val *tmp = cur[j];
            cur[j] = nxt[j];
            nxt[j] = tmp;
        }
        for (int k = 0; k < nk && rc == 0; k++)
            rc = stack_push(r, n, &st[k], nxt[ns + k], err);
    }
    for (int j = 0; j < ns && j < n->n_out && rc == 0; j++)
        if (out[j])
            cx_val_move(out[j], cur[j]);
    for (int k = 0; k < nk && ns + k < n->n_out && rc == 0; k++)
        rc = stack_out(r, n, &st[k], oax[k], odir[k] != 0, body, body->outputs[ns + k],
                       out[ns + k], err);
done:
    cx_vals_free(cur, cur ? ns + m : 0);
    cx_vals_free(nxt, nxt ? ns + nk : 0);
    if (st)
        for (int k = 0; k < nk; k++)
            stack_free(&st[k]);
    free(st);
    free(ax);
    return rc;
}

/* Scan-8: input 0 is sequence_lens (optional); every other input has a batch
 * axis 0; scan inputs are [batch, sequence, ...]; scan outputs are
 * [batch, max sequence, ...] (zero past a batch entry's length). */
static int scan8(ox_run *r, const ox_node *n, const ox_graph *body, ox_val *const *in,
                 ox_val *const *out, ckpt_error *err)
{
    int m = (int)ox_attr_int(n, "num_scan_inputs", -1);
    int ns = n->n_in - 1 - m;
    int nk = body->n_outputs - ns;
    if (m < 1 || ns < 0 || nk < 0 || body->n_inputs != ns + m)
        return ox_fail(err, CKPT_E_FORMAT, n,
                       "num_scan_inputs %d does not fit %d inputs and a body of %d inputs, "
                       "%d outputs",
                       m, n->n_in, body->n_inputs, body->n_outputs);
    int64_t *dir = calloc((size_t)(m + nk) + 1, sizeof *dir);
    if (!dir)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    int64_t *made = dir + m; /* scan output k has its buffer */
    int rc = attr_list(n, "directions", m, dir, err);
    int64_t batch = -1, maxlen = -1;
    for (int j = 0; j < ns + m && rc == 0; j++) {
        const ox_val *x = in[1 + j];
        if (!x || x->kind != OX_KIND_TENSOR || x->rank < (j < ns ? 1 : 2)) {
            rc = ox_fail(err, CKPT_E_ARG, n, "input %d must be a tensor with a batch axis",
                         1 + j);
            break;
        }
        if (batch >= 0 && x->dims[0] != batch)
            rc = ox_fail(err, CKPT_E_SHAPE, n, "batch sizes %lld and %lld", (long long)batch,
                         (long long)x->dims[0]);
        batch = x->dims[0];
        if (j >= ns) {
            if (maxlen >= 0 && x->dims[1] != maxlen)
                rc = ox_fail(err, CKPT_E_SHAPE, n, "sequence lengths %lld and %lld",
                             (long long)maxlen, (long long)x->dims[1]);
            maxlen = x->dims[1];
        }
    }
    int nin = ns + m, nout = ns + nk;
    ox_val **cur = NULL, **nxt = NULL, **bin = NULL;
    stack *st = NULL;
    int64_t *lens = NULL;
    if (rc < 0)
        goto done;
    cur = cx_vals_new(nin, err);
    nxt = cx_vals_new(nout, err);
    bin = cx_vals_new(m, err);
    lens = calloc((size_t)batch + 1, sizeof *lens);
    st = calloc(nk ? (size_t)nk : 1, sizeof *st);
    if (!cur || !nxt || !bin || !lens || !st) {
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        goto done;
    }
    for (int64_t b = 0; b < batch; b++)
        lens[b] = maxlen;
    if (in[0] && in[0]->kind == OX_KIND_TENSOR && in[0]->numel > 0) {
        if (in[0]->numel != batch) {
            rc = ox_fail(err, CKPT_E_SHAPE, n, "sequence_lens has %lld entries for batch %lld",
                         (long long)in[0]->numel, (long long)batch);
            goto done;
        }
        if ((rc = (int)ox_read_ints(n, in[0], lens, batch, err)) < 0)
            goto done;
        rc = 0;
        for (int64_t b = 0; b < batch; b++)
            if (lens[b] < 0 || lens[b] > maxlen) {
                rc = ox_fail(err, CKPT_E_SHAPE, n, "sequence length %lld of %lld",
                             (long long)lens[b], (long long)maxlen);
                goto done;
            }
    }
    for (int64_t b = 0; b < batch && rc == 0; b++) {
        for (int j = 0; j < ns && rc == 0; j++)
            rc = cx_take(n, in[1 + j], 0, b, cur[j], err);
        for (int j = 0; j < m && rc == 0; j++)
            rc = cx_take(n, in[1 + ns + j], 0, b, bin[j], err);
        for (int64_t t = 0; t < lens[b] && rc == 0; t++) {
            for (int j = 0; j < m && rc == 0; j++)
                rc = cx_take(n, bin[j], 0, dir[j] ? lens[b] - 1 - t : t, cur[ns + j], err);
            if (rc < 0)
                break;
            rc = ox_run_subgraph(r, body, cur, nin, nxt, nout, err);
            if (rc < 0) {
                ckpt__error_prefix_key(err, n->name);
                break;
            }
            for (int j = 0; j < ns; j++) {
                ox_val *tmp = cur[j];
                cur[j] = nxt[j];
                nxt[j] = tmp;
            }
            for (int k = 0; k < nk && rc == 0; k++) {
                ox_val *o = ns + k < n->n_out ? out[ns + k] : NULL;
                const ox_val *s = nxt[ns + k];
                if (!o)
                    continue;
                if (!made[k]) {
                    made[k] = 1;
                    int64_t od[OX_MAX_RANK];
                    if (s->kind != OX_KIND_TENSOR || s->rank + 2 > OX_MAX_RANK) {
                        rc = ox_fail(err, CKPT_E_SHAPE, n, "scan output %d", k);
                        break;
                    }
                    od[0] = batch;
                    od[1] = maxlen;
                    memcpy(od + 2, s->dims, (size_t)s->rank * sizeof *od);
                    if ((rc = ox_out(r, n, o, s->dtype, s->rank + 2, od, err)) < 0)
                        break;
                    if (s->dtype != OX_STRING && o->numel)
                        memset(o->data, 0, ox_val_nbytes(o));
                }
                if (o->rank != s->rank + 2 || o->dtype != s->dtype ||
                    o->numel != batch * maxlen * s->numel) {
                    rc = ox_fail(err, CKPT_E_SHAPE, n, "iteration outputs differ in shape");
                    break;
                }
                size_t es = ox_dtype_size(s->dtype);
                char *d = (char *)o->data + (size_t)((b * maxlen + t) * s->numel) * es;
                rc = cx_copy_elems(d, s->data, s->dtype, s->numel, err);
            }
        }
        /* final states: [batch, ...] */
        for (int j = 0; j < ns && j < n->n_out && rc == 0; j++) {
            ox_val *o = out[j];
            const ox_val *s = cur[j];
            if (!o)
                continue;
            if (b == 0) {
                int64_t od[OX_MAX_RANK];
                od[0] = batch;
                memcpy(od + 1, s->dims, (size_t)s->rank * sizeof *od);
                if ((rc = ox_out(r, n, o, s->dtype, s->rank + 1, od, err)) < 0)
                    break;
            }
            rc = cx_put(n, o, 0, b, s, err);
        }
    }
    /* scan outputs never produced (no step ran): empty of the declared type */
    for (int k = 0; k < nk && ns + k < n->n_out && rc == 0; k++) {
        ox_val *o = out[ns + k];
        if (!o || made[k])
            continue;
        int dtype, rank;
        int64_t dims[OX_MAX_RANK], od[OX_MAX_RANK];
        declared(body, body->outputs[ns + k], &dtype, &rank, dims);
        od[0] = batch < 0 ? 0 : batch;
        od[1] = maxlen < 0 ? 0 : maxlen;
        memcpy(od + 2, dims, (size_t)rank * sizeof *od);
        rc = ox_out(r, n, o, dtype, rank + 2, od, err);
        if (rc == 0 && dtype != OX_STRING && o->numel)
            memset(o->data, 0, ox_val_nbytes(o));
    }
done:
    cx_vals_free(cur, cur ? nin : 0);
    cx_vals_free(nxt, nxt ? nout : 0);
    cx_vals_free(bin, bin ? m : 0);
    if (st)
        for (int k = 0; k < nk; k++)
            stack_free(&st[k]);
    free(st);
    free(lens);
    free(dir);
    return rc;
}

static int k_scan(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                  ckpt_error *err)
{
    const ox_graph *body = ox_attr_graph(n, "body");
    if (!body)
        return ox_fail(err, CKPT_E_FORMAT, n, "no body attribute");
    return n->opset < 9 ? scan8(r, n, body, in, out, err) : scan9(r, n, body, in, out, err);
}

const ox_op ox_ops_control[] = {
    {"If", "", 1, 0, k_if, NULL},
    {"Loop", "", 1, 0, k_loop, NULL},
    {"Scan", "", 8, 0, k_scan, NULL},
    {0},
};
