/* tests/formats/dcp_test.c - DCP folders (issue 13 item 5), driven by
 * tests/formats/dcp.cmake with fixtures that tests/formats/gen_dcp.py builds
 * from torch 2.5's source:
 *   dcp_test read FIX CASE    ckpt_dcp_load(FIX/CASE) equals torch.load(FIX/CASE.expect.pt)
 *   dcp_test box FIX          read_box across chunk boundaries (block4, rows2)
 *   dcp_test hostile FIX      hostile .metadata / ranges refused, nothing executed
 *   dcp_test write OUT        ckpt_dcp_save + 4-rank write_rank/write_metadata/commit
 *                             into OUT/{saved,ranks4} (+ .expect.pt for gen_dcp.py check)
 *   dcp_test commit OUT       ckpt_dcp_commit keeps the old folder when the new is absent
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt/ckpt.h"
#include "ckpt/formats.h"

static int failures;
#define CHECK(c)                                                                                 \
    do {                                                                                         \
        if (!(c)) {                                                                              \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);                \
            failures++;                                                                          \
        }                                                                                        \
    } while (0)

static void show(const ckpt_error *e)
{
    char b[1200];
    fprintf(stderr, "  error: %s\n", ckpt_error_format(e, b, sizeof(b)));
}

static char *path2(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

/* values equal as Python's == would see them (tensors: dtype, shape, bytes) */
static bool same(const ckpt_obj *a, const ckpt_obj *b, const char *key)
{
    int ta = ckpt_obj_type(a), tb = ckpt_obj_type(b);
    if (ta != tb) {
        fprintf(stderr, "  %s: type %s vs %s\n", key, ckpt_type_name(ta), ckpt_type_name(tb));
        return false;
    }
    switch (ta) {
    case CKPT_T_TENSOR: {
        ckpt_tensor_info x, y;
        ckpt_tensor_get_info(a, &x);
        ckpt_tensor_get_info(b, &y);
        if (x.dtype != y.dtype || x.ndim != y.ndim || x.requires_grad != y.requires_grad ||
            (x.ndim > 0 && memcmp(x.shape, y.shape, (size_t)x.ndim * 8) != 0)) {
            fprintf(stderr, "  %s: dtype/shape/requires_grad differ (%s vs %s)\n", key,
                    ckpt_dtype_name(x.dtype), ckpt_dtype_name(y.dtype));
            return false;
        }
        void *p = malloc(x.nbytes + 1), *q = malloc(y.nbytes + 1);
        ckpt_tensor_copy_into(a, p, x.nbytes, NULL);
        ckpt_tensor_copy_into(b, q, y.nbytes, NULL);
        bool ok = memcmp(p, q, x.nbytes) == 0;
        free(p);
        free(q);
        if (!ok)
            fprintf(stderr, "  %s: tensor bytes differ\n", key);
        return ok;
    }
    case CKPT_T_DICT:
        if (ckpt_obj_len(a) != ckpt_obj_len(b))
            return false;
        for (size_t i = 0; i < ckpt_obj_len(a); i++) {
            const ckpt_obj *k = ckpt_dict_key(a, i);
            const ckpt_obj *v = ckpt_dict_find(b, k);
            if (!v || !same(ckpt_dict_value(a, i), v, key))
                return false;
        }
        return true;
    case CKPT_T_LIST:
    case CKPT_T_TUPLE:
        if (ckpt_obj_len(a) != ckpt_obj_len(b))
            return false;
        for (size_t i = 0; i < ckpt_obj_len(a); i++)
            if (!same(ckpt_obj_item(a, i), ckpt_obj_item(b, i), key))
                return false;
        return true;
    case CKPT_T_INT: return ckpt_obj_int(a) == ckpt_obj_int(b);
    case CKPT_T_BOOL: return ckpt_obj_bool(a) == ckpt_obj_bool(b);
    case CKPT_T_FLOAT: return ckpt_obj_float(a) == ckpt_obj_float(b);
    case CKPT_T_STR: return strcmp(ckpt_obj_str(a, NULL), ckpt_obj_str(b, NULL)) == 0;
    case CKPT_T_NONE: return true;
    default: fprintf(stderr, "  %s: cannot compare %s\n", key, ckpt_type_name(ta)); return false;
    }
}

/* ckpt_dcp_load equals the flattened expectation torch wrote, key for key, in order */
static int cmd_read(const char *fix, const char *name)
{
    char *dir = path2(fix, name);
    char exp[4096];
    snprintf(exp, sizeof(exp), "%s.expect.pt", dir);
    ckpt_error e;
    ckpt_doc *got = ckpt_dcp_load(dir, NULL, &e);
    if (!got)
        show(&e);
    ckpt_doc *want = ckpt_load(exp, NULL, &e);
    if (!want)
        show(&e);
    CHECK(got && want);
    if (got && want) {
        const ckpt_obj *g = ckpt_doc_root(got), *w = ckpt_doc_root(want);
        CHECK(ckpt_obj_len(g) == ckpt_obj_len(w));
        for (size_t i = 0; i < ckpt_obj_len(w) && i < ckpt_obj_len(g); i++) {
            const char *k = ckpt_obj_str(ckpt_dict_key(w, i), NULL);
            CHECK(strcmp(k, ckpt_obj_str(ckpt_dict_key(g, i), NULL)) == 0);
            CHECK(same(ckpt_dict_value(w, i), ckpt_dict_value(g, i), k));
        }
        printf("%s: %zu entries equal to torch's\n", name, ckpt_obj_len(w));
    }
    /* the entry table */
    ckpt_dcp *d = ckpt_dcp_open(dir, &e);
    CHECK(d != NULL);
    if (d && want) {
        CHECK(ckpt_dcp_count(d) == ckpt_obj_len(ckpt_doc_root(want)));
        for (size_t i = 0; i < ckpt_dcp_count(d); i++) {
            const ckpt_dcp_entry *en = ckpt_dcp_entry_at(d, i);
            CHECK(ckpt_dcp_find(d, en->fqn) == en);
            const ckpt_obj *v = ckpt_dict_get(ckpt_doc_root(want), en->fqn);
            CHECK(v && (ckpt_obj_type(v) == CKPT_T_TENSOR) == !en->is_bytes);
        }
    }
    ckpt_dcp_close(d);
    ckpt_doc_free(got);
    ckpt_doc_free(want);
    free(dir);
    return failures;
}

/* element [i] of a C-contiguous box of `t` (2-D or 1-D) against t itself */
static void check_box(ckpt_dcp *d, const ckpt_obj *full, const char *fqn, int64_t r0, int64_t c0,
                      int64_t nr, int64_t nc)
{
    ckpt_tensor_info ti;
    ckpt_tensor_get_info(full, &ti);
    size_t es = ckpt_dtype_size(ti.dtype);
    uint8_t *all = malloc(ti.nbytes + 1);
    ckpt_tensor_copy_into(full, all, ti.nbytes, NULL);
    int64_t off[2] = {r0, c0}, sz[2] = {nr, nc};
    if (ti.ndim == 1) {
        off[0] = c0;
        sz[0] = nc;
        nr = 1;
    }
    size_t n = (size_t)(nr * nc) * es;
    uint8_t *box = malloc(n + 1);
    ckpt_error e;
    int rc = ckpt_dcp_read_box(d, fqn, off, sz, box, n, &e);
    if (rc < 0)
        show(&e);
    CHECK(rc == 0);
    int64_t cols = ti.ndim == 1 ? ti.shape[0] : ti.shape[1];
    for (int64_t r = 0; rc == 0 && r < nr; r++) {
        int64_t gr = ti.ndim == 1 ? 0 : r0 + r;
        if (memcmp(box + (size_t)(r * nc) * es,
                   all + (size_t)(gr * cols + (ti.ndim == 1 ? c0 : c0)) * es,
                   (size_t)nc * es) != 0) {
            fprintf(stderr, "  %s box (%lld,%lld,%lld,%lld) row %lld differs\n", fqn,
                    (long long)r0, (long long)c0, (long long)nr, (long long)nc, (long long)r);
            failures++;
            break;
        }
    }
    free(box);
    free(all);
}

static int cmd_box(const char *fix)
{
    ckpt_error e;
    char *dir = path2(fix, "block4"), *exp = path2(fix, "block4.expect.pt");
    ckpt_dcp *d = ckpt_dcp_open(dir, &e);
    ckpt_doc *want = ckpt_load(exp, NULL, &e);
    CHECK(d && want);
    if (d && want) {
        const ckpt_obj *mat = ckpt_dict_get(ckpt_doc_root(want), "mat");
        const ckpt_obj *vec = ckpt_dict_get(ckpt_doc_root(want), "vec");
        /* chunks: rows [0,4) [4,6) x cols [0,3) [3,8) */
        check_box(d, mat, "mat", 0, 0, 6, 8); /* everything: 4 chunks */
        check_box(d, mat, "mat", 3, 2, 2, 3); /* the crossing point of all four */
        check_box(d, mat, "mat", 1, 0, 5, 4); /* three column chunks... */
        check_box(d, mat, "mat", 5, 7, 1, 1); /* one element */
        check_box(d, mat, "mat", 0, 2, 6, 2); /* a column band across rows */
        check_box(d, mat, "mat", 2, 3, 2, 5); /* inside one chunk */
        check_box(d, vec, "vec", 0, 2, 1, 7); /* 1-D across 3 chunks */
        check_box(d, vec, "vec", 0, 9, 1, 1);
        /* resharded as 3 ranks of 2 rows would read it */
        for (int r = 0; r < 3; r++)
            check_box(d, mat, "mat", 2 * r, 0, 2, 8);
        /* refusals: outside the tensor, bytes too small, no such key */
        int64_t off[2] = {5, 0}, sz[2] = {2, 8};
        double buf[64];
        CHECK(ckpt_dcp_read_box(d, "mat", off, sz, buf, sizeof(buf), &e) == CKPT_E_SHAPE);
        int64_t off2[2] = {0, 0}, sz2[2] = {6, 8};
        CHECK(ckpt_dcp_read_box(d, "mat", off2, sz2, buf, 8, &e) == CKPT_E_ARG);
        CHECK(ckpt_dcp_read_box(d, "nope", off2, sz2, buf, sizeof(buf), &e) == CKPT_E_NOT_FOUND);
    }
    ckpt_dcp_close(d);
    ckpt_doc_free(want);
    free(dir);
    free(exp);
    dir = path2(fix, "rows2");
    exp = path2(fix, "rows2.expect.pt");
    d = ckpt_dcp_open(dir, &e);
    want = ckpt_load(exp, NULL, &e);
    CHECK(d && want);
    if (d && want) {
        const ckpt_obj *emb = ckpt_dict_get(ckpt_doc_root(want), "emb");
        check_box(d, emb, "emb", 3, 0, 4, 3); /* rows 3..6 straddle ranks 0 and 1 */
        check_box(d, emb, "emb", 4, 1, 2, 2);
        const ckpt_dcp_entry *en = ckpt_dcp_find(d, "emb");
        CHECK(en && en->nchunks == 2 && en->ndim == 2 && en->shape[0] == 9);
        CHECK(ckpt_dcp_find(d, "epoch") && ckpt_dcp_find(d, "epoch")->is_bytes);
    }
    ckpt_dcp_close(d);
    ckpt_doc_free(want);
    free(dir);
    free(exp);
    printf("box: %d failures\n", failures);
    return failures;
}

static int cmd_hostile(const char *fix)
{
    static const struct {
        const char *name;
        int code;
    } cases[] = {{"hostile_global", CKPT_E_UNSAFE},        {"hostile_length", CKPT_E_FORMAT},
                 {"hostile_offset", CKPT_E_FORMAT},        {"hostile_path", CKPT_E_FORMAT},
                 {"hostile_chunk", CKPT_E_FORMAT},         {"hostile_getattr", CKPT_E_UNSAFE},
                 {"hostile_transform", CKPT_E_UNSUPPORTED}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *dir = path2(fix, cases[i].name);
        ckpt_error e;
        ckpt_dcp *d = ckpt_dcp_open(dir, &e);
        CHECK(d == NULL);
        if (!d) {
            printf("%s refused: ", cases[i].name);
            char b[1200];
            printf("%s\n", ckpt_error_format(&e, b, sizeof(b)));
            CHECK(e.code == cases[i].code);
            CHECK(e.file[0] != '\0');
        }
        ckpt_dcp_close(d);
        ckpt_doc *doc = ckpt_dcp_load(dir, NULL, &e);
        CHECK(doc == NULL);
        ckpt_doc_free(doc);
        free(dir);
    }
    char *marker = path2(fix, "PWNED");
    CHECK(access(marker, F_OK) != 0); /* os.system never ran */
    free(marker);
    /* the item of hostile_base read alone is fine */
    char *base = path2(fix, "hostile_base");
    ckpt_error e;
    ckpt_doc *ok = ckpt_dcp_load(base, NULL, &e);
    CHECK(ok != NULL);
    ckpt_doc_free(ok);
    free(base);
    return failures;
}

static ckpt_obj *tensor_f32(ckpt_doc *doc, int ndim, const int64_t *shape, float scale)
{
    ckpt_obj *t = ckpt_tensor_new_copy(doc, CKPT_F32, ndim, shape, NULL, NULL);
    ckpt_tensor_info ti;
    ckpt_tensor_get_info(t, &ti);
    float *p = (float *)(uintptr_t)ckpt_tensor_data(t);
    for (int64_t i = 0; i < ti.numel; i++)
        p[i] = scale * (float)i - 3.25f;
    return t;
}

static int cmd_write(const char *out)
{
    ckpt_error e;
    mkdir(out, 0755);
    ckpt_doc *doc = ckpt_doc_new(NULL, &e);
    ckpt_obj *sd = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    ckpt_obj *model = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    int64_t s23[2] = {2, 3}, s45[2] = {4, 5}, s7[1] = {7};
    ckpt_dict_set_str(doc, model, "weight", tensor_f32(doc, 2, s45, 0.5f), &e);
    ckpt_obj *g = tensor_f32(doc, 2, s23, 1.0f);
    ckpt_tensor_set_requires_grad(g, true, &e);
    ckpt_dict_set_str(doc, model, "grad_w", g, &e);
    ckpt_dict_set_str(doc, sd, "model", model, &e);
    /* a transposed (non-contiguous) view: written contiguous */
    ckpt_obj *base = tensor_f32(doc, 2, s45, 2.0f);
    int64_t ts[2] = {5, 4}, tst[2] = {1, 5};
    ckpt_tensor_info bi;
    ckpt_tensor_get_info(base, &bi);
    ckpt_storage *st = (ckpt_storage *)(uintptr_t)bi.storage;
    ckpt_dict_set_str(doc, sd, "transposed",
                      ckpt_tensor_new(doc, st, CKPT_F32, 2, ts, tst, 0, &e), &e);
    int64_t iv[7] = {1, -2, 3, -4, 5, 1LL << 40, -7};
    ckpt_dict_set_str(doc, sd, "ids", ckpt_tensor_new_copy(doc, CKPT_I64, 1, s7, iv, &e), &e);
    double dv = 0.125;
    ckpt_dict_set_str(doc, sd, "scalar", ckpt_tensor_new_copy(doc, CKPT_F64, 0, NULL, &dv, &e),
                      &e);
    int64_t s03[2] = {0, 3};
    ckpt_dict_set_str(doc, sd, "empty", ckpt_tensor_new_copy(doc, CKPT_BF16, 2, s03, NULL, &e),
                      &e);
    ckpt_dict_set_str(doc, sd, "step", ckpt_int_new(doc, 42), &e);
    ckpt_obj *cfg = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    ckpt_dict_set_str(doc, cfg, "lr", ckpt_float_new(doc, 0.001), &e);
    ckpt_dict_set_str(doc, cfg, "name", ckpt_str_new(doc, "adamw"), &e);
    ckpt_dict_set_str(doc, sd, "cfg", cfg, &e); /* nested dict of non-tensors: flattened */
    char *saved = path2(out, "saved"), *sexp = path2(out, "saved.expect.pt");
    int rc = ckpt_dcp_save(saved, sd, &e);
    if (rc < 0)
        show(&e);
    CHECK(rc == 0);
    CHECK(ckpt_save(sexp, sd, NULL, &e) == 0);
    /* saving again replaces the folder atomically (RENAME_EXCHANGE path) */
    rc = ckpt_dcp_save(saved, sd, &e);
    if (rc < 0)
        show(&e);
    CHECK(rc == 0);

    /* 4 ranks: "mat" (6, 8) in 2x2 blocks, "bias" (8,) on rank 0 only, "epoch" on rank 3 */
    char *r4 = path2(out, "ranks4.tmp"), *r4final = path2(out, "ranks4");
    char *r4exp = path2(out, "ranks4.expect.pt");
    mkdir(r4, 0755);
    int64_t s68[2] = {6, 8}, s8[1] = {8};
    ckpt_obj *mat = tensor_f32(doc, 2, s68, 0.25f);
    ckpt_obj *bias = tensor_f32(doc, 1, s8, -1.0f);
    static const int64_t blocks[4][4] = {{0, 0, 4, 3}, {0, 3, 4, 5}, {4, 0, 2, 3}, {4, 3, 2, 5}};
    void *plans[4] = {0};
    size_t lens[4] = {0};
    ckpt_tensor_info mi;
    ckpt_tensor_get_info(mat, &mi);
    ckpt_storage *mst = (ckpt_storage *)(uintptr_t)mi.storage;
    for (int r = 0; r < 4; r++) {
        /* each rank's chunk: a strided view of the full matrix */
        int64_t shape[2] = {blocks[r][2], blocks[r][3]}, stride[2] = {8, 1};
        ckpt_obj *chunk = ckpt_tensor_new(doc, mst, CKPT_F32, 2, shape, stride,
                                          blocks[r][0] * 8 + blocks[r][1], &e);
        ckpt_dcp_item items[2];
        size_t n = 0;
        items[n++] = (ckpt_dcp_item){
            .fqn = "mat", .tensor = chunk, .ndim = 2, .global_shape = s68, .offsets = blocks[r]};
        if (r == 0)
            items[n++] = (ckpt_dcp_item){.fqn = "bias", .tensor = bias};
        if (r == 3)
            items[n++] = (ckpt_dcp_item){.fqn = "epoch", .value = ckpt_int_new(doc, 9)};
        rc = ckpt_dcp_write_rank(r4, r, items, n, &plans[r], &lens[r], &e);
        if (rc < 0)
            show(&e);
        CHECK(rc == 0);
    }
    /* refused items: a chunk beyond the global size, a non-UTF-8 fqn, no tensor nor value */
    {
        int64_t go[2] = {3, 0};
        ckpt_dcp_item bad_items[3] = {
            {.fqn = "mat", .tensor = bias, .ndim = 1, .global_shape = s8, .offsets = go},
            {.fqn = "\xff\xfe", .tensor = bias},
            {.fqn = "none"}};
        for (int i = 0; i < 3; i++) {
            void *bp = NULL;
            size_t bl = 0;
            CHECK(ckpt_dcp_write_rank(r4, 7, &bad_items[i], 1, &bp, &bl, &e) < 0);
            CHECK(bp == NULL);
        }
        char *f7 = path2(r4, "__7_0.distcp");
        CHECK(access(f7, F_OK) != 0); /* nothing left behind */
        free(f7);
        /* a 0-d tensor written by two ranks overlaps itself */
        double one = 1.0;
        ckpt_obj *sc = ckpt_tensor_new_copy(doc, CKPT_F64, 0, NULL, &one, &e);
        ckpt_dcp_item si = {.fqn = "s", .tensor = sc};
        char *tdir = path2(out, "scalar2");
        mkdir(tdir, 0755);
        void *sp[2] = {0};
        size_t sl[2] = {0};
        CHECK(ckpt_dcp_write_rank(tdir, 0, &si, 1, &sp[0], &sl[0], &e) == 0);
        CHECK(ckpt_dcp_write_rank(tdir, 1, &si, 1, &sp[1], &sl[1], &e) == 0);
        const void *spc[2] = {sp[0], sp[1]};
        CHECK(ckpt_dcp_write_metadata(tdir, spc, sl, 2, &e) == CKPT_E_SHAPE);
        CHECK(ckpt_dcp_write_metadata(tdir, spc, sl, 1, &e) == 0);
        free(sp[0]);
        free(sp[1]);
        free(tdir);
    }
    /* a plan set that misses rank 3's chunk is refused (coverage) */
    const void *cp[4] = {plans[0], plans[1], plans[2], plans[3]};
    rc = ckpt_dcp_write_metadata(r4, cp, lens, 3, &e);
    CHECK(rc == CKPT_E_SHAPE);
    rc = ckpt_dcp_write_metadata(r4, cp, lens, 4, &e);
    if (rc < 0)
        show(&e);
    CHECK(rc == 0);
    /* a corrupted plan is refused */
    uint8_t *bad = malloc(lens[1]);
    memcpy(bad, plans[1], lens[1]);
    bad[lens[1] - 3] ^= 0x55;
    const void *cp2[4] = {plans[0], bad, plans[2], plans[3]};
    size_t badlens[4] = {lens[0], lens[1] - 1, lens[2], lens[3]};
    CHECK(ckpt_dcp_write_metadata(r4, cp2, badlens, 4, &e) < 0);
    free(bad);
    rc = ckpt_dcp_commit(r4, r4final, &e);
    CHECK(rc == 0);
    for (int r = 0; r < 4; r++)
        free(plans[r]);
    ckpt_obj *want = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    ckpt_dict_set_str(doc, want, "mat", mat, &e);
    ckpt_dict_set_str(doc, want, "bias", bias, &e);
    ckpt_dict_set_str(doc, want, "epoch", ckpt_int_new(doc, 9), &e);
    CHECK(ckpt_save(r4exp, want, NULL, &e) == 0);
    /* ckpt reads its own folders back */
    ckpt_doc *back = ckpt_dcp_load(r4final, NULL, &e);
    CHECK(back != NULL);
    if (back) {
        const ckpt_obj *b = ckpt_doc_root(back);
        CHECK(same(mat, ckpt_dict_get(b, "mat"), "mat"));
        CHECK(same(bias, ckpt_dict_get(b, "bias"), "bias"));
        CHECK(ckpt_obj_int(ckpt_dict_get(b, "epoch")) == 9);
    }
    ckpt_doc_free(back);
    back = ckpt_dcp_load(saved, NULL, &e);
    CHECK(back != NULL);
    if (back) {
        const ckpt_obj *b = ckpt_doc_root(back);
        CHECK(same(g, ckpt_dict_get(b, "model.grad_w"), "model.grad_w"));
        CHECK(ckpt_obj_int(ckpt_dict_get(b, "step")) == 42);
        CHECK(!strcmp(ckpt_obj_str(ckpt_dict_get(b, "cfg.name"), NULL), "adamw"));
    }
    ckpt_doc_free(back);

    /* "many": more than 1000 fqns and a tensor of 1003 chunks from one rank, so
     * that .metadata has SETITEMS/APPENDS batches of 1000 and a trailing one */
    {
        enum { NP = 1005, NC = 1003 };
        char *mt = path2(out, "many.tmp"), *mf = path2(out, "many"),
             *me = path2(out, "many.expect.pt");
        mkdir(mt, 0755);
        ckpt_dcp_item *its = calloc(NP + NC, sizeof(*its));
        char(*names)[16] = calloc(NP, 16);
        ckpt_obj *wantm = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
        int64_t one[1] = {1}, lng[1] = {NC};
        ckpt_obj *whole = tensor_f32(doc, 1, lng, 1.0f);
        ckpt_tensor_info wi;
        ckpt_tensor_get_info(whole, &wi);
        static int64_t offs[NC][1];
        for (int i = 0; i < NP; i++) {
            snprintf(names[i], 16, "p.%d", i);
            float v = (float)i;
            ckpt_obj *t = ckpt_tensor_new_copy(doc, CKPT_F32, 1, one, &v, &e);
            its[i] = (ckpt_dcp_item){.fqn = names[i], .tensor = t};
            ckpt_dict_set_str(doc, wantm, names[i], t, &e);
        }
        for (int c = 0; c < NC; c++) {
            offs[c][0] = c;
            ckpt_obj *ch = ckpt_tensor_new(doc, (ckpt_storage *)(uintptr_t)wi.storage, CKPT_F32,
                                           1, one, NULL, c, &e);
            its[NP + c] = (ckpt_dcp_item){
                .fqn = "long", .tensor = ch, .ndim = 1, .global_shape = lng, .offsets = offs[c]};
        }
        ckpt_dict_set_str(doc, wantm, "long", whole, &e);
        void *mp = NULL;
        size_t ml = 0;
        rc = ckpt_dcp_write_rank(mt, 0, its, NP + NC, &mp, &ml, &e);
        if (rc < 0)
            show(&e);
        CHECK(rc == 0);
        const void *mpc[1] = {mp};
        CHECK(ckpt_dcp_write_metadata(mt, mpc, &ml, 1, &e) == 0);
        CHECK(ckpt_dcp_commit(mt, mf, &e) == 0);
        CHECK(ckpt_save(me, wantm, NULL, &e) == 0);
        ckpt_doc *mb = ckpt_dcp_load(mf, NULL, &e);
        CHECK(mb && same(whole, ckpt_dict_get(ckpt_doc_root(mb), "long"), "long"));
        CHECK(mb && ckpt_obj_len(ckpt_doc_root(mb)) == NP + 1);
        ckpt_doc_free(mb);
        free(mp);
        free(its);
        free(names);
        free(mt);
        free(mf);
        free(me);
    }
    free(saved);
    free(sexp);
    free(r4);
    free(r4final);
    free(r4exp);
    ckpt_doc_free(doc);
    printf("write: %d failures\n", failures);
    return failures;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return -1;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.' || strlen(de->d_name) > 2)
            n++;
    closedir(d);
    return n;
}

static void touch(const char *dir, const char *name)
{
    char *p = path2(dir, name);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(name, f);
        fclose(f);
    }
    free(p);
}

static int cmd_commit(const char *out)
{
    ckpt_error e;
    mkdir(out, 0755);
    char *cur = path2(out, "ckpt"), *neu = path2(out, "ckpt.tmp-new"),
         *absent = path2(out, "ckpt.tmp-absent"), *fresh = path2(out, "fresh");
    mkdir(cur, 0755);
    touch(cur, "old_a");
    touch(cur, "old_b");
    /* the new folder is absent (a rank died before it was made): the old stays */
    CHECK(ckpt_dcp_commit(absent, cur, &e) == CKPT_E_NOT_FOUND);
    CHECK(count_entries(cur) == 2);
    /* a complete new folder replaces the old; the old is removed */
    mkdir(neu, 0755);
    touch(neu, "new_a");
    CHECK(ckpt_dcp_commit(neu, cur, &e) == 0);
    char *na = path2(cur, "new_a"), *oa = path2(cur, "old_a");
    CHECK(access(na, F_OK) == 0 && access(oa, F_OK) != 0);
    CHECK(access(neu, F_OK) != 0);
    /* no previous folder: a plain rename */
    mkdir(neu, 0755);
    touch(neu, "x");
    CHECK(ckpt_dcp_commit(neu, fresh, &e) == 0);
    CHECK(count_entries(fresh) == 1);
    /* a failed ckpt_dcp_save (a value ckpt cannot save) leaves the old checkpoint alone */
    ckpt_doc *doc = ckpt_doc_new(NULL, &e);
    ckpt_obj *sd = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    ckpt_obj *bad = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    ckpt_dict_set(doc, bad, ckpt_float_new(doc, 1.5), ckpt_int_new(doc, 1), &e);
    ckpt_dict_set_str(doc, sd, "bad", bad, &e);
    CHECK(ckpt_dcp_save(fresh, sd, &e) < 0);
    CHECK(count_entries(fresh) == 1);
    CHECK(count_entries(out) == 2); /* no temporary folder left behind */
    ckpt_doc_free(doc);
    free(na);
    free(oa);
    free(cur);
    free(neu);
    free(absent);
    free(fresh);
    printf("commit: %d failures\n", failures);
    return failures;
}

int main(int argc, char **argv)
{
    /* the fixtures come from gen_dcp.py (torch): without them, skipped */
    struct stat st;
    if (argc >= 3 && strcmp(argv[1], "write") != 0 && strcmp(argv[1], "commit") != 0 &&
        stat(argv[2], &st) != 0) {
        printf("SKIPPED: dcp_test %s: no fixtures in %s (gen_dcp.py needs torch)\n", argv[1],
               argv[2]);
        return 77;
    }
    if (argc >= 4 && !strcmp(argv[1], "read"))
        return cmd_read(argv[2], argv[3]) ? 1 : 0;
    if (argc >= 3 && !strcmp(argv[1], "box"))
        return cmd_box(argv[2]) ? 1 : 0;
    if (argc >= 3 && !strcmp(argv[1], "hostile"))
        return cmd_hostile(argv[2]) ? 1 : 0;
    if (argc >= 3 && !strcmp(argv[1], "write"))
        return cmd_write(argv[2]) ? 1 : 0;
    if (argc >= 3 && !strcmp(argv[1], "commit"))
        return cmd_commit(argv[2]) ? 1 : 0;
    fprintf(stderr,
            "usage: dcp_test read FIX CASE | box FIX | hostile FIX | write OUT | commit OUT\n");
    return 2;
}
