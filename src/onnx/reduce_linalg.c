/* src/onnx/reduce_linalg.c - ONNX kernels of the reduce family: Einsum and
 * Det.
 *
 * Einsum: the equation is parsed into labels (letters, and one label per
 * broadcast ellipsis dimension, right-aligned as numpy does); each operand
 * has its repeated labels folded to their diagonal and its private labels
 * summed out, then the operands are contracted left to right, each pair as
 * a batched matrix product (cblas_dgemm over [batch, kept-A, contracted] x
 * [batch, contracted, kept-B]), and the result is permuted to the output
 * order.  Values are computed in double and stored in the output's type. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "onnx/onnx_internal.h"
#include "onnx/reduce_util.h"

#define EO_LETTERS 52
#define EO_MAXLAB (EO_LETTERS + OX_MAX_RANK)

/* An operand: labels lab[0..n) with sizes dims, data row-major (owned). */
typedef struct eo {
    int n;
    int lab[EO_MAXLAB];
    int64_t dims[EO_MAXLAB];
    double *d;
    int64_t numel;
} eo;

static int letter_label(char ch)
{
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26; /* ASCII order: 'A'..'Z' first */
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    return -1;
}

/* Copy `src` (labels/dims slab) permuted to the label order `want` (a
 * permutation of src's labels). */
static int eo_permute(const eo *src, const int *want, eo *dst)
{
    int perm[EO_MAXLAB];
    for (int i = 0; i < src->n; i++) {
        perm[i] = -1;
        for (int j = 0; j < src->n; j++)
            if (src->lab[j] == want[i])
                perm[i] = j;
        if (perm[i] < 0)
            return -1;
    }
    dst->n = src->n;
    int64_t ss[EO_MAXLAB], s = 1;
    for (int i = src->n - 1; i >= 0; i--) {
        ss[i] = s;
        s *= src->dims[i];
    }
    for (int i = 0; i < src->n; i++) {
        dst->lab[i] = want[i];
        dst->dims[i] = src->dims[perm[i]];
    }
    dst->numel = src->numel;
    dst->d = malloc((size_t)(src->numel > 0 ? src->numel : 1) * sizeof(double));
    if (!dst->d)
        return -1;
    int64_t idx[EO_MAXLAB] = {0}, off = 0;
    for (int64_t k = 0; k < src->numel; k++) {
        dst->d[k] = src->d[off];
        for (int i = dst->n - 1; i >= 0; i--) {
            off += ss[perm[i]];
            if (++idx[i] < dst->dims[i])
                break;
            off -= ss[perm[i]] * dst->dims[i];
            idx[i] = 0;
        }
    }
    return 0;
}

/* Sum out the labels of `a` for which drop[label] is set (in place). */
static int eo_sum_out(eo *a, const bool *drop)
{
    bool red[EO_MAXLAB], any = false;
    for (int i = 0; i < a->n; i++) {
        red[i] = drop[a->lab[i]];
        any = any || red[i];
    }
    if (!any)
        return 0;
    if (a->n > OX_MAX_RANK) {
        /* permute kept labels first, then sum trailing rows */
        int want[EO_MAXLAB], k = 0;
        for (int i = 0; i < a->n; i++)
            if (!red[i])
                want[k++] = a->lab[i];
        for (int i = 0; i < a->n; i++)
            if (red[i])
                want[k++] = a->lab[i];
        eo t;
        if (eo_permute(a, want, &t) < 0)
            return -1;
        free(a->d);
        *a = t;
        for (int i = 0; i < a->n; i++)
            red[i] = drop[a->lab[i]];
    }
    int64_t on = 1;
    eo r;
    r.n = 0;
    for (int i = 0; i < a->n; i++)
        if (!red[i]) {
            r.lab[r.n] = a->lab[i];
            r.dims[r.n++] = a->dims[i];
            on *= a->dims[i];
        }
    r.numel = on;
    r.d = calloc((size_t)(on > 0 ? on : 1), sizeof(double));
    if (!r.d)
        return -1;
    if (a->numel > 0 && on > 0) {
        if (a->n <= OX_MAX_RANK) {
            rd_plan p;
            rd_make_plan(a->n, a->dims, red, &p);
            rd_walk_f64(RD_SUM, r.d, NULL, a->d, &p);
        } else {
            int64_t m = a->numel / on;
            for (int64_t i = 0; i < on; i++)
                for (int64_t j = 0; j < m; j++)
                    r.d[i] += a->d[i * m + j];
        }
    }
    free(a->d);
    *a = r;
    return 0;
}

/* C = A x B over the shared labels; labels in keep[] survive.  Result labels:
 * [batch, A-only, B-only]. */
static int eo_contract(eo *a, eo *b, const bool *keep, eo *c)
{
    bool in_a[EO_MAXLAB] = {false}, in_b[EO_MAXLAB] = {false};
    for (int i = 0; i < a->n; i++)
        in_a[a->lab[i]] = true;
    for (int i = 0; i < b->n; i++)
        in_b[b->lab[i]] = true;
    /* private labels not kept: sum them first */
    bool drop_a[EO_MAXLAB] = {false}, drop_b[EO_MAXLAB] = {false};
    for (int l = 0; l < EO_MAXLAB; l++) {
        drop_a[l] = in_a[l] && !in_b[l] && !keep[l];
        drop_b[l] = in_b[l] && !in_a[l] && !keep[l];
    }
    if (eo_sum_out(a, drop_a) < 0 || eo_sum_out(b, drop_b) < 0)
        return -1;
    int wa[EO_MAXLAB], wb[EO_MAXLAB], na = 0, nb = 0;
    int64_t bt = 1, m = 1, k = 1, nn = 1;
    int64_t dimof[EO_MAXLAB];
    for (int i = 0; i < a->n; i++)
        dimof[a->lab[i]] = a->dims[i];
    for (int i = 0; i < b->n; i++)
        dimof[b->lab[i]] = b->dims[i];
    c->n = 0;
    /* batch */
    for (int i = 0; i < a->n; i++) {
        int l = a->lab[i];
        bool inb = false;
        for (int j = 0; j < b->n; j++)
            inb = inb || b->lab[j] == l;
        if (inb && keep[l]) {
            wa[na++] = l;
            wb[nb++] = l;
            bt *= dimof[l];
            c->lab[c->n] = l;
            c->dims[c->n++] = dimof[l];
        }
    }
    /* A-only */
    for (int i = 0; i < a->n; i++) {
        int l = a->lab[i];
        bool inb = false;
        for (int j = 0; j < b->n; j++)
            inb = inb || b->lab[j] == l;
        if (!inb) {
            wa[na++] = l;
            m *= dimof[l];
            c->lab[c->n] = l;
            c->dims[c->n++] = dimof[l];
        }
    }
    /* contracted */
    for (int i = 0; i < a->n; i++) {
        int l = a->lab[i];
        bool inb = false;
        for (int j = 0; j < b->n; j++)
            inb = inb || b->lab[j] == l;
        if (inb && !keep[l]) {
            wa[na++] = l;
            wb[nb++] = l;
            k *= dimof[l];
        }
    }
    /* B-only */
    for (int j = 0; j < b->n; j++) {
        int l = b->lab[j];
        bool ina = false;
        for (int i = 0; i < a->n; i++)
            ina = ina || a->lab[i] == l;
        if (!ina) {
            wb[nb++] = l;
            nn *= dimof[l];
            c->lab[c->n] = l;
            c->dims[c->n++] = dimof[l];
        }
    }
    eo pa, pb;
    if (eo_permute(a, wa, &pa) < 0)
        return -1;
    if (eo_permute(b, wb, &pb) < 0) {
        free(pa.d);
        return -1;
    }
    c->numel = bt * m * nn;
    c->d = calloc((size_t)(c->numel > 0 ? c->numel : 1), sizeof(double));
    if (!c->d) {
        free(pa.d);
        free(pb.d);
        return -1;
    }
    if (c->numel > 0 && k > 0) {
        for (int64_t i = 0; i < bt; i++) {
            const double *A = pa.d + i * m * k, *B = pb.d + i * k * nn;
            double *C = c->d + i * m * nn;
            if (m <= INT32_MAX && nn <= INT32_MAX && k <= INT32_MAX)
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)nn, (int)k,
                            1.0, A, (int)k, B, (int)nn, 0.0, C, (int)nn);
        }
    }
    free(pa.d);
    free(pb.d);
    return 0;
}

static void eo_free(eo *ops, int n)
{
    for (int i = 0; i < n; i++) {
        free(ops[i].d);
        ops[i].d = NULL;
    }
}

typedef struct eq_term {
    int n;
    int lab[EO_MAXLAB]; /* -1 - k: ellipsis dimension k of this term */
    int ell;            /* position of "..." in lab (-1: none) */
} eq_term;

/* Parse one term ("ab...c"); labels >= 0, the ellipsis as one entry -100. */
static int parse_term(const char *s, size_t len, eq_term *t)
{
    t->n = 0;
    t->ell = -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ')
            continue;
        if (s[i] == '.') {
            if (i + 2 >= len)
                return -1;
            if (s[i + 1] != '.' || s[i + 2] != '.' || t->ell >= 0)
                return -1;
            t->ell = t->n;
            t->lab[t->n++] = -100;
            i += 2;
            continue;
        }
        int l = letter_label(s[i]);
        if (l < 0 || t->n >= EO_MAXLAB - 1)
            return -1;
        t->lab[t->n++] = l;
    }
    return 0;
}

int ox_k_einsum(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                ckpt_error *err)
{
    const char *eq = ox_attr_str(n, "equation", NULL);
    if (!eq)
        return ox_fail(err, CKPT_E_ARG, n, "equation attribute missing");
    const int nin = n->n_in;
    if (nin < 1 || nin > 64)
        return ox_fail(err, CKPT_E_ARG, n, "%d inputs", nin);
    for (int i = 0; i < nin; i++)
        if (!in[i] || in[i]->kind != OX_KIND_TENSOR ||
            (!rd_is_floating(in[i]->dtype) && !rd_is_integer(in[i]->dtype)))
            return ox_fail(err, CKPT_E_ARG, n, "input %d must be a numeric tensor", i);
    const char *arrow = strstr(eq, "->");
    size_t lhs_len = arrow ? (size_t)(arrow - eq) : strlen(eq);
    eq_term terms[64], oterm;
    int nt = 0;
    {
        size_t st = 0;
        for (size_t i = 0; i <= lhs_len; i++) {
            if (i == lhs_len || eq[i] == ',') {
                if (nt >= 64 || parse_term(eq + st, i - st, &terms[nt]) < 0)
                    return ox_fail(err, CKPT_E_ARG, n, "bad equation '%s'", eq);
                nt++;
                st = i + 1;
            }
        }
    }
    if (nt != nin)
        return ox_fail(err, CKPT_E_ARG, n, "equation '%s' has %d operands, node has %d", eq, nt,
                       nin);
    /* ellipsis rank, label sizes */
    int ell = 0;
    for (int i = 0; i < nt; i++) {
        int letters = terms[i].n - (terms[i].ell >= 0 ? 1 : 0);
        int e = in[i]->rank - letters;
        if (e < 0 || (terms[i].ell < 0 && e != 0))
            return ox_fail(err, CKPT_E_SHAPE, n, "operand %d: rank %d does not fit '%s'", i,
                           in[i]->rank, eq);
        ell = e > ell ? e : ell;
    }
    int64_t size[EO_MAXLAB];
    for (int l = 0; l < EO_MAXLAB; l++)
        size[l] = -1;
    int count[EO_MAXLAB] = {0};
    /* per operand: the label of each input axis */
    int axl[64][OX_MAX_RANK];
    for (int i = 0; i < nt; i++) {
        int letters = terms[i].n - (terms[i].ell >= 0 ? 1 : 0);
        int e = in[i]->rank - letters, ax = 0;
        for (int j = 0; j < terms[i].n; j++) {
            if (terms[i].lab[j] == -100) {
                for (int k = 0; k < e; k++)
                    axl[i][ax++] = EO_LETTERS + ell - e + k;
            } else {
                axl[i][ax++] = terms[i].lab[j];
            }
        }
        for (int a = 0; a < in[i]->rank; a++) {
            int l = axl[i][a];
            int64_t dd = in[i]->dims[a];
            if (size[l] < 0 || size[l] == 1)
                size[l] = dd;
            else if (dd != 1 && dd != size[l])
                return ox_fail(err, CKPT_E_SHAPE, n, "operand %d axis %d: size %lld, expected %lld",
                               i, a, (long long)dd, (long long)size[l]);
        }
        bool seen[EO_MAXLAB] = {false};
        for (int a = 0; a < in[i]->rank; a++)
            if (!seen[axl[i][a]]) {
                seen[axl[i][a]] = true;
                count[axl[i][a]]++;
            }
    }
    /* output labels */
    int olab[EO_MAXLAB], on = 0;
    bool in_out[EO_MAXLAB] = {false};
    if (arrow) {
        if (parse_term(arrow + 2, strlen(arrow + 2), &oterm) < 0)
            return ox_fail(err, CKPT_E_ARG, n, "bad output in '%s'", eq);
        for (int j = 0; j < oterm.n; j++) {
            if (oterm.lab[j] == -100) {
                for (int k = 0; k < ell; k++)
                    olab[on++] = EO_LETTERS + k;
            } else {
                int l = oterm.lab[j];
                if (size[l] < 0 || in_out[l])
                    return ox_fail(err, CKPT_E_ARG, n, "output label %d of '%s' is bad", j, eq);
                olab[on++] = l;
            }
            if (on > 0)
                in_out[olab[on - 1]] = true;
        }
        for (int k = 0; k < ell; k++)
            if (oterm.ell < 0 && ell > 0)
                return ox_fail(err, CKPT_E_ARG, n, "'%s': the output drops the ellipsis", eq);
    } else {
        for (int k = 0; k < ell; k++)
            olab[on++] = EO_LETTERS + k;
        for (int l = 0; l < EO_LETTERS; l++) {
            if (size[l] < 0)
                continue;
            int tot = 0;
            for (int i = 0; i < nt; i++)
                for (int a = 0; a < in[i]->rank; a++)
                    tot += axl[i][a] == l;
            if (tot == 1)
                olab[on++] = l;
        }
    }
    for (int j = 0; j < on; j++)
        in_out[olab[j]] = true;
    if (on > OX_MAX_RANK)
        return ox_fail(err, CKPT_E_LIMIT, n, "output rank %d", on);
    int64_t od[OX_MAX_RANK];
    for (int j = 0; j < on; j++)
        od[j] = size[olab[j]];
    CKPT_TRY(ox_out(r, n, out[0], in[0]->dtype, on, od, err));

    /* operands: diagonal of repeated labels, broadcast dims expanded */
    eo ops[64];
    memset(ops, 0, sizeof ops);
    int rc = 0;
    for (int i = 0; i < nt && rc == 0; i++) {
        const ox_val *x = in[i];
        int64_t xs[OX_MAX_RANK];
        ox_strides(x->rank, x->dims, xs);
        eo *o = &ops[i];
        int64_t st[EO_MAXLAB];
        o->n = 0;
        for (int a = 0; a < x->rank; a++) {
            int l = axl[i][a], j;
            for (j = 0; j < o->n; j++)
                if (o->lab[j] == l)
                    break;
            int64_t s = x->dims[a] == 1 && size[l] != 1 ? 0 : xs[a];
            if (j == o->n) {
                o->lab[o->n] = l;
                o->dims[o->n] = size[l];
                st[o->n++] = s;
            } else {
                st[j] += s;
            }
        }
        o->numel = 1;
        for (int j = 0; j < o->n; j++)
            o->numel *= o->dims[j];
        double *src = malloc((size_t)(x->numel > 0 ? x->numel : 1) * sizeof(double));
        o->d = malloc((size_t)(o->numel > 0 ? o->numel : 1) * sizeof(double));
        if (!src || !o->d) {
            free(src);
            rc = -1;
            break;
        }
        rd_load_f64(x, src);
        int64_t idx[EO_MAXLAB] = {0}, off = 0;
        for (int64_t k = 0; k < o->numel; k++) {
            o->d[k] = src[off];
            for (int j = o->n - 1; j >= 0; j--) {
                off += st[j];
                if (++idx[j] < o->dims[j])
                    break;
                off -= st[j] * o->dims[j];
                idx[j] = 0;
            }
        }
        free(src);
    }
    /* contract left to right */
    eo acc;
    memset(&acc, 0, sizeof acc);
    if (rc == 0) {
        acc = ops[0];
        ops[0].d = NULL;
        for (int i = 1; i <= nt && rc == 0; i++) {
            /* labels needed later: the output and operands i.. */
            bool keep[EO_MAXLAB];
            for (int l = 0; l < EO_MAXLAB; l++)
                keep[l] = in_out[l];
            for (int j = i; j < nt; j++)
                for (int a = 0; a < ops[j].n; a++)
                    keep[ops[j].lab[a]] = true;
            if (i == nt) {
                bool drop[EO_MAXLAB];
                for (int l = 0; l < EO_MAXLAB; l++)
                    drop[l] = !keep[l];
                rc = eo_sum_out(&acc, drop);
                break;
            }
            eo c;
            memset(&c, 0, sizeof c);
            rc = eo_contract(&acc, &ops[i], keep, &c);
            free(acc.d);
            acc = c;
        }
    }
    if (rc == 0) {
        eo fin;
        memset(&fin, 0, sizeof fin);
        if (acc.n != on || eo_permute(&acc, olab, &fin) < 0) {
            rc = -1;
        } else if (out[0]->numel > 0) {
            rd_store_f64(out[0], fin.d);
        }
        free(fin.d);
    }
    free(acc.d);
    eo_free(ops, nt);
    if (rc < 0)
        return ox_fail(err, CKPT_E_NOMEM, n, "out of memory evaluating '%s'", eq);
    return 0;
}

/* ------------------------------------------------------------ Det */

int ox_k_det(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
             ckpt_error *err)
{
    const ox_val *x = in[0];
    if (!x || x->kind != OX_KIND_TENSOR || !rd_is_floating(x->dtype))
        return ox_fail(err, CKPT_E_ARG, n, "input must be a floating tensor");
    if (x->rank < 2 || x->dims[x->rank - 1] != x->dims[x->rank - 2])
        return ox_fail(err, CKPT_E_SHAPE, n, "input must be (..., M, M)");
    const int64_t m = x->dims[x->rank - 1];
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, x->rank - 2, x->dims, err));
    const int64_t nb = out[0]->numel;
    if (nb == 0)
        return 0;
    double *v = ox_scratch(r, ((size_t)x->numel + (size_t)nb) * sizeof(double), err);
    if (!v)
        return RD_ERR(err);
    double *res = v + x->numel;
    rd_load_f64(x, v);
    for (int64_t bI = 0; bI < nb; bI++) {
        double *a = v + bI * m * m, det = 1.0;
        for (int64_t c = 0; c < m; c++) {
            int64_t piv = c;
            for (int64_t i = c + 1; i < m; i++)
                if (fabs(a[i * m + c]) > fabs(a[piv * m + c]))
                    piv = i;
            if (a[piv * m + c] == 0.0) {
                det = 0.0;
                break;
            }
            if (piv != c) {
                for (int64_t j = 0; j < m; j++) {
                    double t = a[c * m + j];
                    a[c * m + j] = a[piv * m + j];
                    a[piv * m + j] = t;
                }
                det = -det;
            }
            det *= a[c * m + c];
            for (int64_t i = c + 1; i < m; i++) {
                double f = a[i * m + c] / a[c * m + c];
                for (int64_t j = c + 1; j < m; j++)
                    a[i * m + j] -= f * a[c * m + j];
            }
        }
        res[bI] = det;
    }
    rd_store_f64(out[0], res);
    return 0;
}
