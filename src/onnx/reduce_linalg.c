/* src/onnx/reduce_linalg.c - ONNX kernels of the reduce family: Einsum and
 * Det.
 *
 * Einsum: the equation is parsed into labels (letters, and one label per
 * broadcast ellipsis dimension, right-aligned as numpy does); each operand
 * has its repeated labels folded to their diagonal and its private labels
 * summed out, then the operands are contracted left to right, each pair as
 * a batched matrix product (cblas_dgemm over [batch, kept-A, contracted] x
 * [batch, contracted, kept-B]), and the result is permuted to the output
 * order.  Values are held in double and stored in the output's type; the
 * products run in cblas_sgemm when every operand is float32, else in
 * cblas_dgemm. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "onnx/onnx_internal.h"
#include "onnx/reduce_util.h"

#define EO_LETTERS 52
/* most elements of any operand or intermediate (8 GiB of doubles) */
#define EO_MAX_NUMEL ((int64_t)1 << 30)
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

/* A bump allocator over the kernel's one scratch block.  With base == NULL
 * it only measures: the Einsum pipeline runs once measuring (shapes only, no
 * data touched), then for real in a block of the measured size, so a
 * repeated shape reuses the session's scratch and allocates nothing. */
typedef struct ea {
    char *base;
    size_t used, cap;
} ea;

static double *ea_alloc(ea *a, size_t bytes)
{
    bytes = (bytes + 63) & ~(size_t)63;
    if (bytes == 0)
        bytes = 64;
    if (a->base && a->used + bytes > a->cap)
        return NULL;
    double *p = a->base ? (double *)(void *)(a->base + a->used) : NULL;
    a->used += bytes;
    return p;
}

/* ea_alloc's result is missing only when the arena is real (a failure). */
#define EA_FAILED(a, p) ((a)->base && !(p))

/* dst (numel, row-major over dims) = src read through strides st (elements;
 * 0 on a broadcast axis, summed over repeated labels for a diagonal). */
static void eo_gather(double *dst, const double *src, int n, const int64_t *dims,
                      const int64_t *st, int64_t numel)
{
    if (numel <= 0)
        return;
    const int last = n - 1;
    const int64_t inner = n > 0 ? dims[last] : 1, is = n > 0 ? st[last] : 0;
    int64_t idx[EO_MAXLAB] = {0}, off = 0;
    for (int64_t k = 0; k < numel; k += inner) {
        const double *p = src + off;
        double *q = dst + k;
        if (is == 1)
            memcpy(q, p, (size_t)inner * sizeof(double));
        else
            for (int64_t j = 0; j < inner; j++)
                q[j] = p[j * is];
        for (int i = last - 1; i >= 0; i--) {
            off += st[i];
            if (++idx[i] < dims[i])
                break;
            off -= st[i] * dims[i];
            idx[i] = 0;
        }
    }
}

/* Copy `src` permuted to the label order `want` (a permutation of src's
 * labels). */
static int eo_permute(ea *ar, const eo *src, const int *want, eo *dst)
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
    bool ident = true;
    for (int i = 0; i < src->n; i++)
        ident = ident && perm[i] == i;
    if (ident) {
        dst->d = src->d; /* already in that order: shared, not copied */
        return 0;
    }
    dst->d = ea_alloc(ar, (size_t)src->numel * sizeof(double));
    if (EA_FAILED(ar, dst->d))
        return -1;
    if (!ar->base)
        return 0;
    int64_t st[EO_MAXLAB];
    for (int i = 0; i < dst->n; i++)
        st[i] = ss[perm[i]];
    eo_gather(dst->d, src->d, dst->n, dst->dims, st, dst->numel);
    return 0;
}

/* Sum out the labels of `a` for which drop[label] is set (a replaced). */
static int eo_sum_out(ea *ar, eo *a, const bool *drop)
{
    bool red[EO_MAXLAB], any = false;
    for (int i = 0; i < a->n; i++) {
        red[i] = drop[a->lab[i]];
        any = any || red[i];
    }
    if (!any)
        return 0;
    if (a->n > OX_MAX_RANK) {
        /* past the walker's rank: kept labels first, then sum trailing rows */
        int want[EO_MAXLAB], k = 0;
        for (int i = 0; i < a->n; i++)
            if (!red[i])
                want[k++] = a->lab[i];
        for (int i = 0; i < a->n; i++)
            if (red[i])
                want[k++] = a->lab[i];
        eo t;
        if (eo_permute(ar, a, want, &t) < 0)
            return -1;
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
    r.d = ea_alloc(ar, (size_t)on * sizeof(double));
    if (EA_FAILED(ar, r.d))
        return -1;
    if (ar->base) {
        for (int64_t i = 0; i < on; i++)
            r.d[i] = 0.0;
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
    }
    *a = r;
    return 0;
}

static bool eo_in_order(const eo *e, const int *want)
{
    for (int i = 0; i < e->n; i++)
        if (e->lab[i] != want[i])
            return false;
    return true;
}

static bool has_label(const eo *e, int l)
{
    for (int i = 0; i < e->n; i++)
        if (e->lab[i] == l)
            return true;
    return false;
}

/* C = A x B over the shared labels; labels in keep[] survive (a and b are
 * replaced by their sums over private labels not kept).  Result labels:
 * [batch, A-only, B-only].  -2: the result passes EO_MAX_NUMEL. */
static int eo_contract(ea *ar, eo *a, eo *b, const bool *keep, bool f32, eo *c)
{
    bool drop_a[EO_MAXLAB] = {false}, drop_b[EO_MAXLAB] = {false};
    for (int i = 0; i < a->n; i++)
        drop_a[a->lab[i]] = !has_label(b, a->lab[i]) && !keep[a->lab[i]];
    for (int i = 0; i < b->n; i++)
        drop_b[b->lab[i]] = !has_label(a, b->lab[i]) && !keep[b->lab[i]];
    if (eo_sum_out(ar, a, drop_a) < 0 || eo_sum_out(ar, b, drop_b) < 0)
        return -1;
    int wa[EO_MAXLAB], wb[EO_MAXLAB], na = 0, nb = 0;
    int64_t bt = 1, m = 1, k = 1, nn = 1;
    c->n = 0;
    for (int i = 0; i < a->n; i++) /* batch */
        if (has_label(b, a->lab[i]) && keep[a->lab[i]]) {
            wa[na++] = wb[nb++] = a->lab[i];
            bt *= a->dims[i];
            c->lab[c->n] = a->lab[i];
            c->dims[c->n++] = a->dims[i];
        }
    for (int i = 0; i < a->n; i++) /* A only */
        if (!has_label(b, a->lab[i])) {
            wa[na++] = a->lab[i];
            m *= a->dims[i];
            c->lab[c->n] = a->lab[i];
            c->dims[c->n++] = a->dims[i];
        }
    for (int i = 0; i < a->n; i++) /* contracted */
        if (has_label(b, a->lab[i]) && !keep[a->lab[i]]) {
            wa[na++] = wb[nb++] = a->lab[i];
            k *= a->dims[i];
        }
    for (int j = 0; j < b->n; j++) /* B only */
        if (!has_label(a, b->lab[j])) {
            wb[nb++] = b->lab[j];
            nn *= b->dims[j];
            c->lab[c->n] = b->lab[j];
            c->dims[c->n++] = b->dims[j];
        }
    if ((m > 0 && bt > EO_MAX_NUMEL / m) || (nn > 0 && bt * m > EO_MAX_NUMEL / nn))
        return -2;
    if (m > INT32_MAX || nn > INT32_MAX || k > INT32_MAX)
        return -2;
    /* an operand already laid out as the transpose of what gemm wants is
     * passed transposed instead of permuted: A as [batch, contracted, A-only],
     * B as [batch, B-only, contracted] */
    int wat[EO_MAXLAB], wbt[EO_MAXLAB], nat = 0, nbt = 0, nbatch = 0;
    for (int i = 0; i < a->n; i++)
        nbatch += has_label(b, a->lab[i]) && keep[a->lab[i]];
    for (int i = 0; i < nbatch; i++) /* batch: wa's (and wb's) prefix */
        wat[nat++] = wa[i];
    for (int i = nbatch; i < na; i++) /* contracted */
        if (has_label(b, wa[i]))
            wat[nat++] = wa[i];
    for (int i = nbatch; i < na; i++) /* A only */
        if (!has_label(b, wa[i]))
            wat[nat++] = wa[i];
    for (int i = 0; i < nbatch; i++)
        wbt[nbt++] = wb[i];
    for (int j = nbatch; j < nb; j++) /* B only */
        if (!has_label(a, wb[j]))
            wbt[nbt++] = wb[j];
    for (int j = nbatch; j < nb; j++) /* contracted */
        if (has_label(a, wb[j]))
            wbt[nbt++] = wb[j];
    const bool ta = !eo_in_order(a, wa) && eo_in_order(a, wat);
    const bool tb = !eo_in_order(b, wb) && eo_in_order(b, wbt);
    eo pa, pb;
    if (eo_permute(ar, a, ta ? wat : wa, &pa) < 0 || eo_permute(ar, b, tb ? wbt : wb, &pb) < 0)
        return -1;
    const int lda = (int)(ta ? m : k), ldb = (int)(tb ? k : nn);
    const enum CBLAS_TRANSPOSE tra = ta ? CblasTrans : CblasNoTrans,
                               trb = tb ? CblasTrans : CblasNoTrans;
    c->numel = bt * m * nn;
    c->d = ea_alloc(ar, (size_t)c->numel * sizeof(double));
    if (EA_FAILED(ar, c->d))
        return -1;
    float *fa = NULL;
    const size_t na_ = (size_t)pa.numel, nb_ = (size_t)pb.numel, nc_ = (size_t)c->numel;
    if (f32) {
        /* float32 operands: the products in float (sgemm), as the float kernels */
        fa = (float *)(void *)ea_alloc(ar, (na_ + nb_ + nc_) * sizeof(float));
        if (EA_FAILED(ar, fa))
            return -1;
    }
    if (!ar->base)
        return 0;
    if (c->numel == 0)
        return 0;
    if (k == 0) {
        for (size_t i = 0; i < nc_; i++)
            c->d[i] = 0.0;
        return 0;
    }
    if (f32) {
        float *fb = fa + na_, *fc = fb + nb_;
        for (size_t i = 0; i < na_; i++)
            fa[i] = (float)pa.d[i];
        for (size_t i = 0; i < nb_; i++)
            fb[i] = (float)pb.d[i];
        for (int64_t i = 0; i < bt; i++)
            cblas_sgemm(CblasRowMajor, tra, trb, (int)m, (int)nn, (int)k, 1.0f, fa + i * m * k,
                        lda, fb + i * k * nn, ldb, 0.0f, fc + i * m * nn, (int)nn);
        for (size_t i = 0; i < nc_; i++)
            c->d[i] = (double)fc[i];
    } else {
        for (int64_t i = 0; i < bt; i++)
            cblas_dgemm(CblasRowMajor, tra, trb, (int)m, (int)nn, (int)k, 1.0, pa.d + i * m * k,
                        lda, pb.d + i * k * nn, ldb, 0.0, c->d + i * m * nn, (int)nn);
    }
    return 0;
}

/* The parsed equation, bound to the inputs' shapes. */
typedef struct eplan {
    int nt;
    int axl[64][OX_MAX_RANK]; /* label of each input axis */
    int64_t size[EO_MAXLAB];  /* size of each label (-1: unused) */
    bool in_out[EO_MAXLAB];
    int olab[EO_MAXLAB], on;
    bool f32;
} eplan;

/* Operands (diagonals of repeated labels taken, broadcast axes expanded),
 * left-to-right contractions, the final sum and permutation into y.
 * 0, -1 (arena failure), -2 (an intermediate past EO_MAX_NUMEL). */
static int einsum_exec(ea *ar, const eplan *pl, ox_val *const *in, ox_val *y)
{
    const int nt = pl->nt;
    if (nt < 1 || nt > 64)
        return -1;
    eo ops[64];
    for (int i = 0; i < nt; i++) {
        const ox_val *x = in[i];
        int64_t xs[OX_MAX_RANK], st[EO_MAXLAB];
        ox_strides(x->rank, x->dims, xs);
        eo *o = &ops[i];
        o->n = 0;
        for (int a = 0; a < x->rank; a++) {
            int l = pl->axl[i][a], j;
            for (j = 0; j < o->n; j++)
                if (o->lab[j] == l)
                    break;
            int64_t s = x->dims[a] == 1 && pl->size[l] != 1 ? 0 : xs[a];
            if (j == o->n) {
                o->lab[o->n] = l;
                o->dims[o->n] = pl->size[l];
                st[o->n++] = s;
            } else {
                st[j] += s;
            }
        }
        o->numel = 1;
        for (int j = 0; j < o->n && o->numel <= EO_MAX_NUMEL; j++)
            o->numel = o->dims[j] == 0 ? 0 : o->numel * o->dims[j];
        if (o->numel > EO_MAX_NUMEL)
            return -2;
        /* no diagonal and no broadcast: the widened input is the operand */
        bool plain = o->n == x->rank;
        for (int j = 0; plain && j < o->n; j++)
            plain = st[j] == xs[j];
        double *src = ea_alloc(ar, (size_t)x->numel * sizeof(double));
        o->d = plain ? src : ea_alloc(ar, (size_t)o->numel * sizeof(double));
        if (EA_FAILED(ar, src) || EA_FAILED(ar, o->d))
            return -1;
        if (!ar->base)
            continue;
        rd_load_f64(x, src);
        if (!plain)
            eo_gather(o->d, src, o->n, o->dims, st, o->numel);
    }
    eo acc = ops[0];
    for (int i = 1; i <= nt; i++) {
        /* labels needed after this step: the output's and those of operands i+1.. */
        bool keep[EO_MAXLAB];
        for (int l = 0; l < EO_MAXLAB; l++)
            keep[l] = pl->in_out[l];
        for (int j = i + 1; j < nt; j++)
            for (int a = 0; a < ops[j].n; a++)
                keep[ops[j].lab[a]] = true;
        if (i == nt) {
            bool drop[EO_MAXLAB];
            for (int l = 0; l < EO_MAXLAB; l++)
                drop[l] = !keep[l];
            if (eo_sum_out(ar, &acc, drop) < 0)
                return -1;
            break;
        }
        eo c;
        int rc = eo_contract(ar, &acc, &ops[i], keep, pl->f32, &c);
        if (rc < 0)
            return rc;
        acc = c;
    }
    eo fin;
    if (acc.n != pl->on || eo_permute(ar, &acc, pl->olab, &fin) < 0)
        return -1;
    if (ar->base && y->numel > 0)
        rd_store_f64(y, fin.d);
    return 0;
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
    CKPT_TRY(rd_check_io(n, in, out, err));
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
                return ox_fail(err, CKPT_E_SHAPE, n,
                               "operand %d axis %d: size %lld, expected %lld", i, a,
                               (long long)dd, (long long)size[l]);
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

    eplan pl;
    pl.nt = nt;
    pl.on = on;
    pl.f32 = true;
    for (int i = 0; i < nt; i++)
        pl.f32 = pl.f32 && in[i]->dtype == OX_FLOAT;
    memcpy(pl.axl, axl, sizeof axl);
    memcpy(pl.size, size, sizeof size);
    memcpy(pl.in_out, in_out, sizeof in_out);
    memcpy(pl.olab, olab, sizeof olab);
    /* measure, then run in one scratch block of that size */
    ea ar = {NULL, 0, 0};
    int rc = einsum_exec(&ar, &pl, in, out[0]);
    if (rc == 0) {
        ar.cap = ar.used;
        ar.used = 0;
        ar.base = ox_scratch(r, ar.cap, err);
        if (!ar.base)
            return RD_ERR(err);
        rc = einsum_exec(&ar, &pl, in, out[0]);
    }
    if (rc == -2)
        return ox_fail(err, CKPT_E_LIMIT, n, "'%s': an intermediate passes %lld elements", eq,
                       (long long)EO_MAX_NUMEL);
    if (rc < 0)
        return ox_fail(err, CKPT_E_ARG, n, "'%s': internal label mismatch", eq);
    return 0;
}

/* ------------------------------------------------------------ Det */

int ox_k_det(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out, ckpt_error *err)
{
    CKPT_TRY(rd_check_io(n, in, out, err));
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
