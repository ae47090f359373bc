/* src/onnx/shape_move.c - ONNX kernels that move data without looking at
 * it: Transpose, Concat, Split, Slice, Expand, Tile, Pad, DepthToSpace,
 * SpaceToDepth, Trilu, ReverseSequence.  Every element type, moved by its
 * byte size (strings as pointers, then copied: shape_util.h). */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "onnx/onnx_internal.h"
#include "onnx/shape_util.h"

/* ------------------------------------------------------------ Transpose */

int oxs_transpose(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                  ckpt_error *err)
{
    CKPT_TRY(oxs_need_tensor(n, in, 0, err));
    const ox_val *x = in[0];
    int rank = x->rank;
    int perm[OX_MAX_RANK];
    size_t c;
    const int64_t *p = ox_attr_ints(n, "perm", &c);
    if (p) {
        if ((int)c != rank)
            return ox_fail(err, CKPT_E_ARG, n, "perm has %zu entries for rank %d", c, rank);
        bool seen[OX_MAX_RANK] = {false};
        for (int i = 0; i < rank; i++) {
            int a;
            CKPT_TRY(ox_axis(n, p[i], rank, false, &a, err));
            if (seen[a])
                return ox_fail(err, CKPT_E_ARG, n, "perm repeats axis %d", a);
            seen[a] = true;
            perm[i] = a;
        }
    } else {
        for (int i = 0; i < rank; i++)
            perm[i] = rank - 1 - i;
    }
    int64_t is[OX_MAX_RANK], od[OX_MAX_RANK], st[OX_MAX_RANK];
    ox_strides(rank, x->dims, is);
    for (int i = 0; i < rank; i++) {
        od[i] = x->dims[perm[i]];
        st[i] = is[perm[i]];
    }
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, rank, od, err));
    if (x->numel)
        oxs_strided_copy(out[0]->data, x->data, rank, od, st, ox_dtype_size(x->dtype));
    return oxs_own_strings(n, out[0], err);
}

/* ------------------------------------------------------------ Concat / Split */

int oxs_concat(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
               ckpt_error *err)
{
    const ox_val *x0 = NULL;
    for (int k = 0; k < n->n_in; k++)
        if (in[k]) {
            if (in[k]->kind != OX_KIND_TENSOR)
                return ox_fail(err, CKPT_E_ARG, n, "input %d is not a tensor", k);
            if (!x0)
                x0 = in[k];
        }
    if (!x0)
        return ox_fail(err, CKPT_E_ARG, n, "no inputs");
    const ox_attr *aa = ox_attr_get(n, "axis");
    if (!aa && n->opset >= 4)
        return ox_fail(err, CKPT_E_ARG, n, "the axis attribute is required");
    int axis;
    CKPT_TRY(ox_axis(n, aa ? aa->i : 1, x0->rank, false, &axis, err));
    int64_t od[OX_MAX_RANK];
    memcpy(od, x0->dims, sizeof od);
    od[axis] = 0;
    for (int k = 0; k < n->n_in; k++) {
        const ox_val *x = in[k];
        if (!x)
            continue;
        if (x->dtype != x0->dtype || x->rank != x0->rank)
            return ox_fail(err, CKPT_E_SHAPE, n, "input %d: type or rank differs from input 0",
                           k);
        for (int i = 0; i < x->rank; i++)
            if (i != axis && x->dims[i] != x0->dims[i])
                return ox_fail(err, CKPT_E_SHAPE, n, "input %d: dim %d is %lld, not %lld", k, i,
                               (long long)x->dims[i], (long long)x0->dims[i]);
        if (__builtin_add_overflow(od[axis], x->dims[axis], &od[axis]))
            return ox_fail(err, CKPT_E_LIMIT, n, "the concatenated axis overflows");
    }
    CKPT_TRY(ox_out(r, n, out[0], x0->dtype, x0->rank, od, err));
    size_t es = ox_dtype_size(x0->dtype);
    int64_t outer = oxs_prod(od, 0, axis), tail = oxs_prod(od, axis + 1, x0->rank);
    unsigned char *d = out[0]->data;
    for (int64_t o = 0; o < outer; o++)
        for (int k = 0; k < n->n_in; k++) {
            if (!in[k])
                continue;
            size_t bytes = (size_t)(in[k]->dims[axis] * tail) * es;
            if (bytes) {
                memcpy(d, (const unsigned char *)in[k]->data + (size_t)o * bytes, bytes);
                d += bytes;
            }
        }
    return oxs_own_strings(n, out[0], err);
}

int oxs_split(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out, ckpt_error *err)
{
    CKPT_TRY(oxs_need_tensor(n, in, 0, err));
    const ox_val *x = in[0];
    int axis;
    CKPT_TRY(ox_axis(n, ox_attr_int(n, "axis", 0), x->rank, false, &axis, err));
    int no = n->n_out;
    if (no < 1)
        return ox_fail(err, CKPT_E_ARG, n, "no outputs");
    int64_t *sp = ox_scratch(r, (size_t)no * sizeof *sp, err);
    if (!sp)
        return CKPT_E_NOMEM;
    int64_t dim = x->dims[axis];
    bool given = false;
    if (n->opset < 13 && ox_attr_get(n, "split")) {
        size_t c;
        const int64_t *s = ox_attr_ints(n, "split", &c);
        if ((int)c != no)
            return ox_fail(err, CKPT_E_ARG, n, "split has %zu entries for %d outputs", c, no);
        memcpy(sp, s, c * sizeof *sp);
        given = true;
    } else if (n->n_in > 1 && in[1]) {
        if (in[1]->numel != no)
            return ox_fail(err, CKPT_E_ARG, n, "split has %lld entries for %d outputs",
                           (long long)in[1]->numel, no);
        int64_t c = ox_read_ints(n, in[1], sp, no, err);
        if (c < 0)
            return (int)c;
        given = true;
    }
    if (given) {
        int64_t sum = 0;
        for (int i = 0; i < no; i++) {
            if (sp[i] < 0)
                return ox_fail(err, CKPT_E_ARG, n, "split[%d] = %lld", i, (long long)sp[i]);
            sum += sp[i];
        }
        if (sum != dim)
            return ox_fail(err, CKPT_E_SHAPE, n, "split sums to %lld, axis has %lld",
                           (long long)sum, (long long)dim);
    } else {
        int64_t chunk;
        if (dim % no == 0)
            chunk = dim / no;
        else if (n->opset >= 18)
            chunk = (dim + no - 1) / no;
        else
            return ox_fail(err, CKPT_E_SHAPE, n, "axis of %lld does not split into %d",
                           (long long)dim, no);
        int64_t left = dim;
        for (int i = 0; i < no; i++) {
            sp[i] = left < chunk ? left : chunk;
            left -= sp[i];
        }
    }
    size_t es = ox_dtype_size(x->dtype);
    int64_t outer = oxs_prod(x->dims, 0, axis), tail = oxs_prod(x->dims, axis + 1, x->rank);
    size_t row = (size_t)(dim * tail) * es;
    int64_t pos = 0;
    for (int i = 0; i < no; i++) {
        int64_t len = sp[i];
        if (out[i]) {
            int64_t od[OX_MAX_RANK];
            memcpy(od, x->dims, sizeof od);
            od[axis] = len;
            CKPT_TRY(ox_out(r, n, out[i], x->dtype, x->rank, od, err));
            size_t bytes = (size_t)(len * tail) * es;
            unsigned char *d = out[i]->data;
            if (bytes)
                for (int64_t o = 0; o < outer; o++)
                    memcpy(d + (size_t)o * bytes,
                           (const unsigned char *)x->data + (size_t)o * row +
                               (size_t)(pos * tail) * es,
                           bytes);
            CKPT_TRY(oxs_own_strings(n, out[i], err));
        }
        pos += len;
    }
    return 0;
}

/* ------------------------------------------------------------ Slice */

int oxs_slice(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out, ckpt_error *err)
{
    CKPT_TRY(oxs_need_tensor(n, in, 0, err));
    const ox_val *x = in[0];
    int rank = x->rank;
    int64_t st[OX_MAX_RANK], en[OX_MAX_RANK], ax[OX_MAX_RANK], sp[OX_MAX_RANK];
    int64_t m, ma = -1, ms = -1;
    if (n->opset < 10) {
        size_t cs, ce, ca;
        const int64_t *s = ox_attr_ints(n, "starts", &cs);
        const int64_t *e = ox_attr_ints(n, "ends", &ce);
        const int64_t *a = ox_attr_ints(n, "axes", &ca);
        if (!s || !e || cs != ce || cs > OX_MAX_RANK || (a && ca != cs))
            return ox_fail(err, CKPT_E_ARG, n, "starts/ends/axes attributes disagree");
        m = (int64_t)cs;
        memcpy(st, s, cs * sizeof *st);
        memcpy(en, e, cs * sizeof *en);
        if (a) {
            memcpy(ax, a, ca * sizeof *ax);
            ma = m;
        }
    } else {
        CKPT_TRY(oxs_need_tensor(n, in, 1, err));
        CKPT_TRY(oxs_need_tensor(n, in, 2, err));
        m = ox_read_ints(n, in[1], st, OX_MAX_RANK, err);
        if (m < 0)
            return (int)m;
        int64_t me = ox_read_ints(n, in[2], en, OX_MAX_RANK, err);
        if (me < 0)
            return (int)me;
        if (me != m)
            return ox_fail(err, CKPT_E_ARG, n, "%lld starts, %lld ends", (long long)m,
                           (long long)me);
        if (n->n_in > 3 && in[3]) {
            ma = ox_read_ints(n, in[3], ax, OX_MAX_RANK, err);
            if (ma < 0)
                return (int)ma;
        }
        if (n->n_in > 4 && in[4]) {
            ms = ox_read_ints(n, in[4], sp, OX_MAX_RANK, err);
            if (ms < 0)
                return (int)ms;
        }
        if ((ma >= 0 && ma != m) || (ms >= 0 && ms != m))
            return ox_fail(err, CKPT_E_ARG, n, "starts, ends, axes and steps differ in length");
    }
    int64_t b[OX_MAX_RANK], step[OX_MAX_RANK], cnt[OX_MAX_RANK];
    bool seen[OX_MAX_RANK] = {false};
    for (int i = 0; i < rank; i++) {
        b[i] = 0;
        step[i] = 1;
        cnt[i] = x->dims[i];
    }
    for (int64_t j = 0; j < m; j++) {
        int a;
        CKPT_TRY(ox_axis(n, ma >= 0 ? ax[j] : j, rank, false, &a, err));
        if (seen[a])
            return ox_fail(err, CKPT_E_ARG, n, "axis %d repeated", a);
        seen[a] = true;
        int64_t s = ms >= 0 ? sp[j] : 1, dim = x->dims[a], lo = st[j], hi = en[j];
        if (s == 0)
            return ox_fail(err, CKPT_E_ARG, n, "step 0 on axis %d", a);
        if (lo < 0)
            lo += dim;
        if (hi < 0)
            hi += dim;
        int64_t c;
        if (s > 0) {
            lo = lo < 0 ? 0 : lo > dim ? dim : lo;
            hi = hi < 0 ? 0 : hi > dim ? dim : hi;
            c = hi > lo ? (hi - lo - 1) / s + 1 : 0;
        } else {
            lo = lo < 0 ? 0 : lo > dim - 1 ? dim - 1 : lo;
            hi = hi < -1 ? -1 : hi > dim - 1 ? dim - 1 : hi;
            int64_t as = s == INT64_MIN ? INT64_MAX : -s;
            c = lo > hi ? (lo - hi - 1) / as + 1 : 0;
        }
        b[a] = c ? lo : 0;
        step[a] = s;
        cnt[a] = c;
    }
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, rank, cnt, err));
    if (out[0]->numel) {
        int64_t is[OX_MAX_RANK], ss[OX_MAX_RANK], off = 0;
        ox_strides(rank, x->dims, is);
        for (int i = 0; i < rank; i++) {
            off += b[i] * is[i];
            ss[i] = step[i] * is[i];
        }
        size_t es = ox_dtype_size(x->dtype);
        oxs_strided_copy(out[0]->data, (const unsigned char *)x->data + (size_t)off * es, rank,
                         cnt, ss, es);
    }
    return oxs_own_strings(n, out[0], err);
}

/* ------------------------------------------------------------ Expand / Tile */

int oxs_expand(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
               ckpt_error *err)
{
    CKPT_TRY(oxs_need_tensor(n, in, 0, err));
    CKPT_TRY(oxs_need_tensor(n, in, 1, err));
    const ox_val *x = in[0];
    int64_t shape[OX_MAX_RANK];
    if (in[1]->rank > 1)
        return ox_fail(err, CKPT_E_SHAPE, n, "the shape input has rank %d", in[1]->rank);
    int64_t sr = ox_read_ints(n, in[1], shape, OX_MAX_RANK, err);
    if (sr < 0)
        return (int)sr;
    int rank;
    int64_t od[OX_MAX_RANK];
    CKPT_TRY(ox_broadcast_shape(n, x->rank, x->dims, (int)sr, shape, &rank, od, err));
    int64_t is[OX_MAX_RANK], ss[OX_MAX_RANK];
    ox_strides(x->rank, x->dims, is);
    for (int i = 0; i < rank; i++) {
        int ia = i - (rank - x->rank);
        ss[i] = ia < 0 || x->dims[ia] != od[i] ? 0 : is[ia];
    }
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, rank, od, err));
    if (out[0]->numel)
        oxs_strided_copy(out[0]->data, x->data, rank, od, ss, ox_dtype_size(x->dtype));
    return oxs_own_strings(n, out[0], err);
}

int oxs_tile(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out, ckpt_error *err)
{
    CKPT_TRY(oxs_need_tensor(n, in, 0, err));
    CKPT_TRY(oxs_need_tensor(n, in, 1, err));
    const ox_val *x = in[0];
    int64_t rep[OX_MAX_RANK];
    int64_t c;
    if (n->opset < 6) { /* Tile-1: a scalar count of tiles along one axis */
        CKPT_TRY(oxs_need_tensor(n, in, 2, err));
        int64_t t, a;
        if (in[1]->numel != 1 || in[2]->numel != 1)
            return ox_fail(err, CKPT_E_ARG, n, "tiles and axis must be scalars");
        CKPT_TRY((int)ox_read_ints(n, in[1], &t, 1, err));
        CKPT_TRY((int)ox_read_ints(n, in[2], &a, 1, err));
        int ax;
        CKPT_TRY(ox_axis(n, a, x->rank, false, &ax, err));
        for (int i = 0; i < x->rank; i++)
            rep[i] = i == ax ? t : 1;
        c = x->rank;
    } else {
        c = ox_read_ints(n, in[1], rep, OX_MAX_RANK, err);
        if (c < 0)
            return (int)c;
    }
    if (c != x->rank)
        return ox_fail(err, CKPT_E_ARG, n, "%lld repeats for rank %d", (long long)c, x->rank);
    int64_t od[OX_MAX_RANK], vd[OXS_MAX_VIEW], vs[OXS_MAX_VIEW], is[OX_MAX_RANK];
    ox_strides(x->rank, x->dims, is);
    for (int i = 0; i < x->rank; i++) {
        if (rep[i] < 0)
            return ox_fail(err, CKPT_E_ARG, n, "repeats[%d] = %lld", i, (long long)rep[i]);
        if (x->dims[i] && rep[i] > INT64_MAX / x->dims[i])
            return ox_fail(err, CKPT_E_LIMIT, n, "output dim %d overflows", i);
        od[i] = x->dims[i] * rep[i];
        vd[2 * i] = rep[i];
        vs[2 * i] = 0;
        vd[2 * i + 1] = x->dims[i];
        vs[2 * i + 1] = is[i];
    }
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, x->rank, od, err));
    if (out[0]->numel)
        oxs_strided_copy(out[0]->data, x->data, 2 * x->rank, vd, vs, ox_dtype_size(x->dtype));
    return oxs_own_strings(n, out[0], err);
}

/* ------------------------------------------------------------ Pad */

enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP };

/* Source index of output position o on an axis of `dim` padded by `pb` in
 * front, or -1 for the constant. */
static int64_t pad_src(int mode, int64_t o, int64_t pb, int64_t dim)
{
    int64_t i = o - pb;
    if (i >= 0 && i < dim)
        return i;
    switch (mode) {
    case PAD_EDGE: return i < 0 ? 0 : dim - 1;
    case PAD_WRAP: return ((i % dim) + dim) % dim;
    case PAD_REFLECT: {
        if (dim == 1)
            return 0;
        int64_t p = 2 * (dim - 1);
        i = ((i % p) + p) % p;
        return i >= dim ? p - i : i;
    }
    default: return -1;
    }
}

int oxs_pad(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out, ckpt_error *err)
{
    CKPT_TRY(oxs_need_tensor(n, in, 0, err));
    const ox_val *x = in[0];
    int rank = x->rank;
    size_t es = ox_dtype_size(x->dtype);
    const char *ms = ox_attr_str(n, "mode", "constant");
    int mode;
    if (!strcmp(ms, "constant"))
        mode = PAD_CONSTANT;
    else if (!strcmp(ms, "reflect"))
        mode = PAD_REFLECT;
    else if (!strcmp(ms, "edge"))
        mode = PAD_EDGE;
    else if (!strcmp(ms, "wrap"))
        mode = PAD_WRAP;
    else
        return ox_fail(err, CKPT_E_ARG, n, "unknown mode '%s'", ms);
    int64_t pads[2 * OX_MAX_RANK] = {0};
    unsigned char cval[16] = {0};
    static const char empty[] = "";
    if (x->dtype == OX_STRING) {
        const char *e = empty;
        memcpy(cval, &e, sizeof e);
    }
    if (n->opset < 11) {
        size_t c;
        const int64_t *p = ox_attr_ints(n, n->opset < 2 ? "paddings" : "pads", &c);
        if (!p || (int64_t)c != 2 * rank)
            return ox_fail(err, CKPT_E_ARG, n, "pads must have %d entries", 2 * rank);
        memcpy(pads, p, c * sizeof *pads);
        float v = ox_attr_float(n, "value", 0.0f);
        if (x->dtype != OX_STRING) {
            ox_val tmp = {.kind = OX_KIND_TENSOR, .dtype = x->dtype, .numel = 1, .data = cval};
            ox_set_f64(&tmp, 0, (double)v);
        }
    } else {
        CKPT_TRY(oxs_need_tensor(n, in, 1, err));
        int64_t raw[2 * OX_MAX_RANK];
        int64_t c = ox_read_ints(n, in[1], raw, 2 * OX_MAX_RANK, err);
        if (c < 0)
            return (int)c;
        if (n->n_in > 2 && in[2] && in[2]->kind == OX_KIND_TENSOR && in[2]->numel >= 1) {
            if (in[2]->dtype != x->dtype)
                return ox_fail(err, CKPT_E_ARG, n, "constant_value is %s, data is %s",
                               ox_dtype_name(in[2]->dtype), ox_dtype_name(x->dtype));
            memcpy(cval, in[2]->data, es);
        }
        if (n->n_in > 3 && in[3]) {
            int64_t axes[OX_MAX_RANK];
            int64_t na = ox_read_ints(n, in[3], axes, OX_MAX_RANK, err);
            if (na < 0)
                return (int)na;
            if (c != 2 * na)
                return ox_fail(err, CKPT_E_ARG, n, "%lld pads for %lld axes", (long long)c,
                               (long long)na);
            for (int64_t j = 0; j < na; j++) {
                int a;
                CKPT_TRY(ox_axis(n, axes[j], rank, false, &a, err));
                pads[a] = raw[j];
                pads[a + rank] = raw[j + na];
            }
        } else {
            if (c != 2 * rank)
                return ox_fail(err, CKPT_E_ARG, n, "%lld pads for rank %d", (long long)c, rank);
            memcpy(pads, raw, (size_t)c * sizeof *pads);
        }
    }
    int64_t od[OX_MAX_RANK], total = 0;
    for (int i = 0; i < rank; i++) {
        const int64_t big = INT64_C(1) << 48;
        if (pads[i] > big || pads[i] < -big || pads[i + rank] > big || pads[i + rank] < -big ||
            x->dims[i] > big)
            return ox_fail(err, CKPT_E_LIMIT, n, "pads of axis %d out of range", i);
        od[i] = x->dims[i] + pads[i] + pads[i + rank];
        if (od[i] < 0)
            return ox_fail(err, CKPT_E_SHAPE, n, "axis %d pads to %lld", i, (long long)od[i]);
        if (mode != PAD_CONSTANT && x->dims[i] == 0 && od[i] > 0)
            return ox_fail(err, CKPT_E_SHAPE, n, "cannot %s-pad the empty axis %d", ms, i);
        total += od[i];
    }
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, rank, od, err));
    if (!out[0]->numel)
        return 0;
    if (rank == 0) {
        memcpy(out[0]->data, x->data, es);
        return oxs_own_strings(n, out[0], err);
    }
    /* per-axis maps from output position to source index (-1: constant) */
    int64_t *map = ox_scratch(r, (size_t)total * sizeof *map, err);
    if (!map)
        return CKPT_E_NOMEM;
    int64_t *mp[OX_MAX_RANK], is[OX_MAX_RANK];
    ox_strides(rank, x->dims, is);
    for (int i = 0, at = 0; i < rank; i++) {
        mp[i] = map + at;
        for (int64_t o = 0; o < od[i]; o++)
            mp[i][o] = pad_src(mode, o, pads[i], x->dims[i]);
        at += (int)od[i];
    }
    int last = rank - 1;
    int64_t w = od[last], dl = x->dims[last], pb = pads[last];
    int64_t lo = pb < 0 ? 0 : pb, hi = pb + dl < w ? pb + dl : w;
    int64_t cnt[OX_MAX_RANK] = {0};
    unsigned char *d = out[0]->data;
    const unsigned char *s = x->data;
    for (;;) {
        bool fill = false;
        int64_t off = 0;
        for (int i = 0; i < last; i++) {
            int64_t si = mp[i][cnt[i]];
            if (si < 0)
                fill = true;
            off += si * is[i];
        }
        if (fill) {
            oxs_fill(d, cval, w, es);
        } else {
            const unsigned char *row = s + (size_t)off * es;
            for (int64_t o = 0; o < lo && o < w; o++) {
                int64_t si = mp[last][o];
                memcpy(d + (size_t)o * es, si < 0 ? cval : row + (size_t)si * es, es);
            }
            if (hi > lo)
                memcpy(d + (size_t)lo * es, row + (size_t)(lo - pb) * es, (size_t)(hi - lo) * es);
            for (int64_t o = hi > lo ? hi : lo; o < w; o++) {
                int64_t si = mp[last][o];
                memcpy(d + (size_t)o * es, si < 0 ? cval : row + (size_t)si * es, es);
            }
        }
        d += (size_t)w * es;
        int a = last - 1;
        while (a >= 0 && ++cnt[a] == od[a])
            cnt[a--] = 0;
        if (a < 0)
            break;
    }
    return oxs_own_strings(n, out[0], err);
}

/* ------------------------------------------------------------ DepthToSpace / SpaceToDepth */

int oxs_depth_to_space(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                       ckpt_error *err)
{
    CKPT_TRY(oxs_need_tensor(n, in, 0, err));
    const ox_val *x = in[0];
    if (x->rank != 4)
        return ox_fail(err, CKPT_E_SHAPE, n, "input must be 4-D (rank %d)", x->rank);
    int64_t bs = ox_attr_int(n, "blocksize", 0);
    int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    if (bs <= 0 || bs > 65536 || C % (bs * bs) || H > INT64_MAX / bs || W > INT64_MAX / bs)
        return ox_fail(err, CKPT_E_ARG, n, "blocksize %lld does not divide %lld channels",
                       (long long)bs, (long long)C);
    const char *mode = ox_attr_str(n, "mode", "DCR");
    bool crd = !strcmp(mode, "CRD");
    if (!crd && strcmp(mode, "DCR"))
        return ox_fail(err, CKPT_E_ARG, n, "unknown mode '%s'", mode);
    int64_t c = C / (bs * bs);
    int64_t od[4] = {N, c, H * bs, W * bs};
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, 4, od, err));
    /* output viewed as (N, c, H, b1, W, b2) */
    int64_t vd[6] = {N, c, H, bs, W, bs}, vs[6];
    int64_t hw = H * W;
    vs[0] = C * hw;
    vs[2] = W;
    vs[4] = 1;
    if (crd) { /* input (N, c, b1, b2, H, W) */
        vs[1] = bs * bs * hw;
        vs[3] = bs * hw;
        vs[5] = hw;
    } else { /* input (N, b1, b2, c, H, W) */
        vs[1] = hw;
        vs[3] = bs * c * hw;
        vs[5] = c * hw;
    }
    if (out[0]->numel)
        oxs_strided_copy(out[0]->data, x->data, 6, vd, vs, ox_dtype_size(x->dtype));
    return oxs_own_strings(n, out[0], err);
}

int oxs_space_to_depth(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                       ckpt_error *err)
{
    CKPT_TRY(oxs_need_tensor(n, in, 0, err));
    const ox_val *x = in[0];
    if (x->rank != 4)
        return ox_fail(err, CKPT_E_SHAPE, n, "input must be 4-D (rank %d)", x->rank);
    int64_t bs = ox_attr_int(n, "blocksize", 0);
    int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    if (bs <= 0 || bs > 65536 || H % bs || W % bs)
        return ox_fail(err, CKPT_E_ARG, n, "blocksize %lld does not divide %lldx%lld",
                       (long long)bs, (long long)H, (long long)W);
    int64_t h = H / bs, w = W / bs;
    int64_t od[4] = {N, C * bs * bs, h, w};
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, 4, od, err));
    /* output (N, b1, b2, C, h, w) from input (N, C, h, b1, w, b2) */
    int64_t vd[6] = {N, bs, bs, C, h, w};
    int64_t vs[6] = {C * H * W, W, 1, H * W, bs * W, bs};
    if (out[0]->numel)
        oxs_strided_copy(out[0]->data, x->data, 6, vd, vs, ox_dtype_size(x->dtype));
    return oxs_own_strings(n, out[0], err);
}

/* ------------------------------------------------------------ Trilu / ReverseSequence */

int oxs_trilu(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out, ckpt_error *err)
{
    CKPT_TRY(oxs_need_tensor(n, in, 0, err));
    const ox_val *x = in[0];
    if (x->rank < 2)
        return ox_fail(err, CKPT_E_SHAPE, n, "input must have rank >= 2 (rank %d)", x->rank);
    int64_t k = 0;
    if (n->n_in > 1 && in[1]) {
        if (in[1]->numel != 1)
            return ox_fail(err, CKPT_E_ARG, n, "k must be a scalar");
        int64_t c = ox_read_ints(n, in[1], &k, 1, err);
        if (c < 0)
            return (int)c;
    }
    bool upper = ox_attr_int(n, "upper", 1) != 0;
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, x->rank, x->dims, err));
    size_t es = ox_dtype_size(x->dtype);
    if (!x->numel)
        return 0;
    memcpy(out[0]->data, x->data, ox_val_nbytes(x));
    int64_t R = x->dims[x->rank - 2], C = x->dims[x->rank - 1], mats = x->numel / (R * C);
    /* past either corner k changes nothing: clamp it so i + k cannot overflow */
    k = k > C + 1 ? C + 1 : k < -(R + 1) ? -(R + 1) : k;
    unsigned char *d = out[0]->data;
    for (int64_t m = 0; m < mats; m++)
        for (int64_t i = 0; i < R; i++) {
            unsigned char *row = d + (size_t)((m * R + i) * C) * es;
            /* keep j - i >= k (upper) or j - i <= k (lower) */
            int64_t lim = i + k;
            if (upper) {
                int64_t z = lim < 0 ? 0 : lim > C ? C : lim; /* zero [0, z) */
                memset(row, 0, (size_t)z * es);
            } else {
                int64_t z = lim + 1 < 0 ? 0 : lim + 1 > C ? C : lim + 1; /* zero [z, C) */
                memset(row + (size_t)z * es, 0, (size_t)(C - z) * es);
            }
        }
    return oxs_own_strings(n, out[0], err);
}

int oxs_reverse_sequence(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                         ckpt_error *err)
{
    CKPT_TRY(oxs_need_tensor(n, in, 0, err));
    CKPT_TRY(oxs_need_tensor(n, in, 1, err));
    const ox_val *x = in[0], *lens = in[1];
    if (x->rank < 2)
        return ox_fail(err, CKPT_E_SHAPE, n, "input must have rank >= 2");
    int64_t ba = ox_attr_int(n, "batch_axis", 1), ta = ox_attr_int(n, "time_axis", 0);
    if (!((ba == 0 && ta == 1) || (ba == 1 && ta == 0)))
        return ox_fail(err, CKPT_E_ARG, n, "batch_axis %lld, time_axis %lld", (long long)ba,
                       (long long)ta);
    int64_t B = x->dims[ba], T = x->dims[ta];
    if (lens->numel != B || !oxs_is_index_type(lens->dtype))
        return ox_fail(err, CKPT_E_SHAPE, n, "sequence_lens must hold %lld integers",
                       (long long)B);
    int64_t inner = oxs_prod(x->dims, 2, x->rank);
    int64_t sb = (ba == 0 ? x->dims[1] : 1) * inner, stt = (ta == 0 ? x->dims[1] : 1) * inner;
    for (int64_t b = 0; b < B; b++) {
        int64_t L = oxs_index(lens, b);
        if (L < 0 || L > T)
            return ox_fail(err, CKPT_E_ARG, n, "sequence_lens[%lld] = %lld (time %lld)",
                           (long long)b, (long long)L, (long long)T);
    }
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, x->rank, x->dims, err));
    size_t es = ox_dtype_size(x->dtype), bytes = (size_t)inner * es;
    unsigned char *d = out[0]->data;
    const unsigned char *s = x->data;
    for (int64_t b = 0; b < B; b++) {
        int64_t L = oxs_index(lens, b);
        for (int64_t t = 0; t < T; t++) {
            int64_t src = t < L ? L - 1 - t : t;
            if (bytes)
                memcpy(d + (size_t)(b * sb + t * stt) * es, s + (size_t)(b * sb + src * stt) * es,
                       bytes);
        }
    }
    return oxs_own_strings(n, out[0], err);
}
