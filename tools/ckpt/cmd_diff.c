/* tools/ckpt/cmd_diff.c - `ckpt diff`: what differs between two checkpoints. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_flat.h"
#include "cli_onnx.h"
#include "cli_util.h"

static const char help[] =
    "usage: ckpt diff A B [--tol T] [--json] [--allow MODULE.NAME]... [--full]\n"
    "\n"
    "Compare two checkpoints key path by key path (the paths 'ckpt ls' prints) and report:\n"
    "  - keys only in A and keys only in B;\n"
    "  - values of different types at the same key (tensor vs int, list vs tuple,\n"
    "    dict vs OrderedDict);\n"
    "  - tensors whose dtype or shape differ;\n"
    "  - for every tensor present in both with the same dtype and shape, the number of\n"
    "    differing elements, the maximum absolute difference |a-b| and the maximum\n"
    "    relative difference |a-b| / max(|a|,|b|) (0 where both are 0), over the views\n"
    "    (strides honoured), in double precision; complex elements by their modulus.\n"
    "    NaN against NaN at the same place counts as equal, NaN against a number as\n"
    "    different (counted apart, left out of the maxima);\n"
    "  - non-tensor values (int, float, str, bytes, bool, None, ...) that differ.\n"
    "\n"
    "  --tol T   elements (and float values) whose absolute difference is at most T are\n"
    "            equal.  Default 0: values must be bit-identical (so -0.0 differs from\n"
    "            0.0; NaN equals NaN whatever its payload)\n"
    "  --json    one JSON object: identical, only_in_a, only_in_b, types, dtypes, shapes,\n"
    "            values and tensors (every common tensor with differing, nan_mismatch,\n"
    "            max_abs, max_rel)\n"
    "  --allow MODULE.NAME, --full   as for 'ckpt ls'\n"
    "\n"
    "A or B may be an ONNX model (.onnx): its main graph's initializers are compared by\n"
    "name, as the state dict 'ckpt convert MODEL.onnx OUT.pt' writes (Gemm weights read\n"
    "with transB=0 transposed to torch's (out, in)), e.g. against the checkpoint the model\n"
    "was exported from.\n"
    "\n"
    "Exit status: 0 identical within the tolerance, 1 they differ, 2 error.\n";

typedef struct entry {
    char *key;
    const ckpt_obj *o;
} entry;

typedef struct elist {
    entry *v;
    size_t n, cap;
    size_t *index; /* open-addressing hash of keys: entry index + 1 */
    size_t icap;
} elist;

static int add(elist *l, const char *key, const ckpt_obj *o)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        entry *nv = realloc(l->v, nc * sizeof(*nv));
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n].key = strdup(key);
    if (!l->v[l->n].key)
        return -1;
    l->v[l->n++].o = o;
    return 0;
}

static int collect(elist *l, const ckpt_obj *o, char *key, size_t len, size_t cap, int depth)
{
    if (depth > 1000)
        return -1;
    int t = ckpt_obj_type(o);
    if (t == CKPT_T_OBJECT && ckpt_object_state(o)) {
        if (add(l, key, o) < 0)
            return -1;
        return collect(l, ckpt_object_state(o), key, len, cap, depth + 1);
    }
    if (add(l, key, o) < 0)
        return -1;
    if (t != CKPT_T_DICT && t != CKPT_T_LIST && t != CKPT_T_TUPLE)
        return 0;
    for (size_t i = 0; i < ckpt_obj_len(o); i++) {
        char comp[1024];
        const ckpt_obj *c;
        if (t == CKPT_T_DICT) {
            cli_key_text(ckpt_dict_key(o, i), comp, sizeof(comp));
            c = ckpt_dict_value(o, i);
        } else {
            snprintf(comp, sizeof(comp), "%zu", i);
            c = ckpt_obj_item(o, i);
        }
        size_t cl = strlen(comp), nl = len + (len ? 1 : 0) + cl;
        if (nl + 1 > cap)
            return -1;
        if (len)
            key[len] = '.';
        memcpy(key + len + (len ? 1 : 0), comp, cl + 1);
        if (collect(l, c, key, nl, cap, depth + 1) < 0)
            return -1;
        key[len] = '\0';
    }
    return 0;
}

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int build_index(elist *l)
{
    l->icap = 16;
    while (l->icap < l->n * 2)
        l->icap *= 2;
    l->index = calloc(l->icap, sizeof(*l->index));
    if (!l->index)
        return -1;
    for (size_t i = 0; i < l->n; i++) {
        size_t h = (size_t)hash(l->v[i].key) & (l->icap - 1);
        while (l->index[h])
            h = (h + 1) & (l->icap - 1);
        l->index[h] = i + 1;
    }
    return 0;
}

/* first entry with `key` (a key path can repeat only through odd keys; first wins) */
static const entry *lookup(const elist *l, const char *key)
{
    size_t h = (size_t)hash(key) & (l->icap - 1);
    const entry *best = NULL;
    while (l->index[h]) {
        const entry *e = &l->v[l->index[h] - 1];
        if (strcmp(e->key, key) == 0 && (!best || e < best))
            best = e;
        h = (h + 1) & (l->icap - 1);
    }
    return best;
}

static void elist_free(elist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].key);
    free(l->v);
    free(l->index);
}

/* ----------------------------------------------------------- comparing */

typedef struct dctx {
    double tol;
    bool json;
    size_t ndiff;
    cJSON *root;
    uint64_t done, total;
    cli_progress prog;
} dctx;

static const char *shown(const char *key)
{
    return key[0] ? key : "(root)";
}

static bool is_container(int t)
{
    return t == CKPT_T_DICT || t == CKPT_T_LIST || t == CKPT_T_TUPLE || t == CKPT_T_OBJECT;
}

static void report_pair(dctx *c, const char *section, const char *what, const char *key,
                        const char *a, const char *b)
{
    c->ndiff++;
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "key", key);
        cJSON_AddStringToObject(o, "a", a);
        cJSON_AddStringToObject(o, "b", b);
        cJSON_AddItemToArray(cJSON_GetObjectItem(c->root, section), o);
    } else {
        printf("%-7s %s: %s vs %s\n", what, shown(key), a, b);
    }
}

static void shape_text(const ckpt_tensor_info *ti, char *buf, size_t n)
{
    size_t o = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ti->ndim && o < n; i++)
        o += (size_t)snprintf(buf + o, n - o, "%s%" PRId64, i ? ", " : "", ti->shape[i]);
    if (o < n)
        snprintf(buf + o, n - o, "]");
}

static bool floats_equal(double a, double b, double tol)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    if (tol == 0)
        return memcmp(&a, &b, sizeof(a)) == 0;
    if (a == b)
        return true;
    return fabs(a - b) <= tol;
}

/* non-tensor leaves: equal? */
static bool values_equal(const ckpt_obj *a, const ckpt_obj *b, double tol)
{
    int t = ckpt_obj_type(a);
    size_t na, nb;
    switch (t) {
    case CKPT_T_NONE: return true;
    case CKPT_T_BOOL: return ckpt_obj_bool(a) == ckpt_obj_bool(b);
    case CKPT_T_INT: return ckpt_obj_int(a) == ckpt_obj_int(b);
    case CKPT_T_FLOAT: return floats_equal(ckpt_obj_float(a), ckpt_obj_float(b), tol);
    case CKPT_T_COMPLEX: {
        double ar, ai, br, bi;
        ckpt_obj_complex(a, &ar, &ai);
        ckpt_obj_complex(b, &br, &bi);
        return floats_equal(ar, br, tol) && floats_equal(ai, bi, tol);
    }
    case CKPT_T_STR:
    case CKPT_T_BYTES:
    case CKPT_T_BYTEARRAY: {
        const char *sa = ckpt_obj_str(a, &na), *sb = ckpt_obj_str(b, &nb);
        return na == nb && memcmp(sa, sb, na) == 0;
    }
    default: {
        static char ta[4096], tb[4096];
        cli_value_text(a, ta, sizeof(ta));
        cli_value_text(b, tb, sizeof(tb));
        return strcmp(ta, tb) == 0;
    }
    }
}

typedef struct tcmp {
    int64_t differing, nan_mismatch;
    double max_abs, max_rel;
    bool numeric;
} tcmp;

static void compare_tensors(const ckpt_obj *a, const ckpt_tensor_info *ia, const ckpt_obj *b,
                            const ckpt_tensor_info *ib, double tol, tcmp *r)
{
    memset(r, 0, sizeof(*r));
    const unsigned char *da = ckpt_tensor_data(a), *db = ckpt_tensor_data(b);
    size_t es = ckpt_dtype_size(ia->dtype);
    r->numeric = (cli_dtype_numeric(ia->dtype) || ia->dtype == CKPT_BOOL) && !ia->quantized;
    if (!da || !db) {
        r->numeric = false;
        return;
    }
    bool cplx = cli_dtype_complex(ia->dtype);
    cli_iter ita, itb;
    int64_t oa, ob;
    cli_iter_init(&ita, ia);
    cli_iter_init(&itb, ib);
    while (cli_iter_next(&ita, &oa) && cli_iter_next(&itb, &ob)) {
        const unsigned char *pa = da + (size_t)oa * es, *pb = db + (size_t)ob * es;
        bool same_bits = memcmp(pa, pb, es) == 0;
        if (!r->numeric) {
            r->differing += !same_bits;
            continue;
        }
        if (same_bits && tol == 0)
            continue;
        double ar, ai, br, bi;
        cli_elem(pa, ia->dtype, &ar, &ai);
        cli_elem(pb, ib->dtype, &br, &bi);
        bool nan_a = isnan(ar) || isnan(ai), nan_b = isnan(br) || isnan(bi);
        if (nan_a || nan_b) {
            if (!(nan_a && nan_b)) {
                r->differing++;
                r->nan_mismatch++;
            }
            continue;
        }
        double mag_a = cplx ? hypot(ar, ai) : fabs(ar), mag_b = cplx ? hypot(br, bi) : fabs(br);
        double d, rel;
        if (ar == br && ai == bi) {
            d = 0;
            rel = 0;
        } else if (isinf(ar) || isinf(br) || isinf(ai) || isinf(bi)) {
            d = (double)INFINITY;
            rel = (isinf(ar) && isinf(br)) ? 2.0 : 1.0;
        } else {
            d = cplx ? hypot(ar - br, ai - bi) : fabs(ar - br);
            double m = mag_a > mag_b ? mag_a : mag_b;
            rel = m > 0 ? d / m : 0;
        }
        bool differs = tol == 0 ? !same_bits : !(d <= tol);
        if (differs)
            r->differing++;
        r->max_abs = d > r->max_abs ? d : r->max_abs;
        r->max_rel = rel > r->max_rel ? rel : r->max_rel;
    }
}

static void compare(dctx *c, const char *key, const ckpt_obj *a, const ckpt_obj *b)
{
    int ta = ckpt_obj_type(a), tb = ckpt_obj_type(b);
    char sa[512], sb[512];
    if (ta != tb || (ta == CKPT_T_DICT && ckpt_dict_kind_of(a) != ckpt_dict_kind_of(b))) {
        report_pair(c, "types", "type", key, cli_kind_name(a), cli_kind_name(b));
        return;
    }
    if (ta == CKPT_T_OBJECT) {
        snprintf(sa, sizeof(sa), "%s.%s", ckpt_global_module(a), ckpt_global_name(a));
        snprintf(sb, sizeof(sb), "%s.%s", ckpt_global_module(b), ckpt_global_name(b));
        if (strcmp(sa, sb) != 0)
            report_pair(c, "types", "type", key, sa, sb);
        return;
    }
    if (is_container(ta))
        return; /* their items are compared one by one */
    if (ta != CKPT_T_TENSOR) {
        if (!values_equal(a, b, c->tol)) {
            cli_value_text(a, sa, sizeof(sa));
            cli_value_text(b, sb, sizeof(sb));
            report_pair(c, "values", "value", key, sa, sb);
        }
        return;
    }
    ckpt_tensor_info ia, ib;
    if (ckpt_tensor_get_info(a, &ia) < 0 || ckpt_tensor_get_info(b, &ib) < 0)
        return;
    if (ia.dtype != ib.dtype) {
        report_pair(c, "dtypes", "dtype", key, ckpt_dtype_name(ia.dtype),
                    ckpt_dtype_name(ib.dtype));
        return;
    }
    bool same_shape = ia.ndim == ib.ndim;
    for (int i = 0; same_shape && i < ia.ndim; i++)
        same_shape = ia.shape[i] == ib.shape[i];
    if (!same_shape) {
        shape_text(&ia, sa, sizeof(sa));
        shape_text(&ib, sb, sizeof(sb));
        report_pair(c, "shapes", "shape", key, sa, sb);
        return;
    }
    tcmp r;
    compare_tensors(a, &ia, b, &ib, c->tol, &r);
    c->done += ia.nbytes;
    cli_progress_step(&c->prog, c->done);
    if (r.differing)
        c->ndiff++;
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "key", key);
        cJSON_AddStringToObject(o, "dtype", ckpt_dtype_name(ia.dtype));
        cJSON_AddNumberToObject(o, "numel", (double)ia.numel);
        cJSON_AddBoolToObject(o, "equal", r.differing == 0);
        cJSON_AddNumberToObject(o, "differing", (double)r.differing);
        cJSON_AddNumberToObject(o, "nan_mismatch", (double)r.nan_mismatch);
        if (r.numeric && isfinite(r.max_abs))
            cJSON_AddNumberToObject(o, "max_abs", r.max_abs);
        else
            cJSON_AddItemToObject(o, "max_abs",
                                  r.numeric ? cJSON_CreateString("inf") : cJSON_CreateNull());
        if (r.numeric)
            cJSON_AddNumberToObject(o, "max_rel", r.max_rel);
        else
            cJSON_AddNullToObject(o, "max_rel");
        cJSON_AddItemToArray(cJSON_GetObjectItem(c->root, "tensors"), o);
    } else if (r.differing) {
        printf("tensor  %s: %" PRId64 " of %" PRId64 " elements differ", key, r.differing,
               ia.numel);
        if (r.numeric)
            printf(", max abs %.6g, max rel %.6g", r.max_abs, r.max_rel);
        if (r.nan_mismatch)
            printf(", %" PRId64 " NaN vs number", r.nan_mismatch);
        putchar('\n');
    }
}

static int sum_bytes(void *payload, const char *key, const ckpt_obj *t)
{
    (void)key;
    ckpt_tensor_info ti;
    if (ckpt_tensor_get_info(t, &ti) == 0)
        *(uint64_t *)payload += ti.nbytes;
    return 0;
}

static int run(dctx *c, const ckpt_obj *ra, const ckpt_obj *rb)
{
    elist la, lb;
    memset(&la, 0, sizeof(la));
    memset(&lb, 0, sizeof(lb));
    char *key = malloc(65536);
    int rc = -1;
    if (!key)
        return -1;
    key[0] = '\0';
    if (collect(&la, ra, key, 0, 65536, 0) < 0 || (key[0] = '\0', 0) ||
        collect(&lb, rb, key, 0, 65536, 0) < 0 || build_index(&la) < 0 || build_index(&lb) < 0) {
        fprintf(stderr, "ckpt diff: out of memory, or nesting or key paths too deep\n");
        goto out;
    }
    ckpt_obj_walk_tensors(ra, sum_bytes, &c->total, NULL);
    cli_progress_init(&c->prog, "ckpt diff", c->total);
    cJSON *oa = c->json ? cJSON_GetObjectItem(c->root, "only_in_a") : NULL;
    cJSON *ob = c->json ? cJSON_GetObjectItem(c->root, "only_in_b") : NULL;
    for (size_t i = 0; i < la.n; i++) {
        const entry *e = &la.v[i], *f = lookup(&lb, e->key);
        if (lookup(&la, e->key) != e)
            continue; /* a repeated path: compared once */
        if (!f) {
            c->ndiff++;
            if (oa)
                cJSON_AddItemToArray(oa, cJSON_CreateString(e->key));
            else
                printf("only-a  %s\n", shown(e->key));
            continue;
        }
        compare(c, e->key, e->o, f->o);
    }
    for (size_t i = 0; i < lb.n; i++) {
        const entry *e = &lb.v[i];
        if (lookup(&la, e->key) || lookup(&lb, e->key) != e)
            continue;
        c->ndiff++;
        if (ob)
            cJSON_AddItemToArray(ob, cJSON_CreateString(e->key));
        else
            printf("only-b  %s\n", shown(e->key));
    }
    cli_progress_done(&c->prog);
    rc = 0;
out:
    free(key);
    elist_free(&la);
    elist_free(&lb);
    return rc;
}

int cmd_diff(int argc, char **argv)
{
    cli_load lo;
    memset(&lo, 0, sizeof(lo));
    dctx c;
    memset(&c, 0, sizeof(c));
    const char *pa = NULL, *pb = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(help, stdout);
            return EXIT_OK;
        }
        int r = cli_load_opt(&lo, argc, argv, &i);
        if (r < 0)
            return EXIT_ERROR;
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--json") == 0) {
            c.json = true;
        } else if (strcmp(argv[i], "--tol") == 0) {
            char *end = NULL;
            c.tol = i + 1 < argc ? strtod(argv[i + 1], &end) : -1;
            if (i + 1 >= argc || !argv[i + 1][0] || *end || !(c.tol >= 0) || isinf(c.tol)) {
                fprintf(stderr, "ckpt diff: --tol needs a number >= 0\n");
                return EXIT_ERROR;
            }
            i++;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "ckpt diff: unknown option %s\n\n%s", argv[i], help);
            return EXIT_ERROR;
        } else if (!pa) {
            pa = argv[i];
        } else if (!pb) {
            pb = argv[i];
        } else {
            fprintf(stderr, "ckpt diff: two files only\n");
            return EXIT_ERROR;
        }
    }
    if (!pa || !pb) {
        fputs(help, stderr);
        return EXIT_ERROR;
    }
    ckpt_error err;
    ckpt_doc *da = cli_onnx_file(pa)
                       ? cli_onnx_doc(pa, true, NULL, &err)
                       : cli_load_doc(pa, &lo, CKPT_LOAD_MMAP, true, !lo.map_location, &err);
    if (!da) {
        cli_print_error("diff", &err);
        return EXIT_ERROR;
    }
    ckpt_doc *db = cli_onnx_file(pb)
                       ? cli_onnx_doc(pb, true, NULL, &err)
                       : cli_load_doc(pb, &lo, CKPT_LOAD_MMAP, true, !lo.map_location, &err);
    if (!db) {
        cli_print_error("diff", &err);
        ckpt_doc_free(da);
        return EXIT_ERROR;
    }
    /* two different formats: compare the tensors under their key paths (a
     * safetensors file has no containers, an epoch or a dict kind to compare) */
    const ckpt_obj *ra = ckpt_doc_root(da), *rb = ckpt_doc_root(db);
    ckpt_doc *fa = NULL, *fb = NULL;
    int fmt_a = ckpt_format_detect(pa, NULL, 0), fmt_b = ckpt_format_detect(pb, NULL, 0);
    bool zipish_a = fmt_a == CKPT_FMT_ZIP || fmt_a == CKPT_FMT_LEGACY;
    bool zipish_b = fmt_b == CKPT_FMT_ZIP || fmt_b == CKPT_FMT_LEGACY;
    size_t dropped_a = 0, dropped_b = 0;
    if (zipish_a != zipish_b || (!zipish_a && fmt_a != fmt_b)) {
        fa = ckpt_doc_new(NULL, &err);
        fb = ckpt_doc_new(NULL, &err);
        ra = fa ? cli_flatten(fa, ra, "compared", true, &dropped_a, &err) : NULL;
        rb = ra && fb ? cli_flatten(fb, rb, "compared", true, &dropped_b, &err) : NULL;
        if (!ra || !rb) {
            cli_print_error("diff", &err);
            ckpt_doc_free(fa);
            ckpt_doc_free(fb);
            ckpt_doc_free(da);
            ckpt_doc_free(db);
            return EXIT_ERROR;
        }
        if (!c.json)
            printf("# %s and %s are different formats: comparing tensors by key path%s\n",
                   ckpt_format_name(fmt_a) ? ckpt_format_name(fmt_a) : "?",
                   ckpt_format_name(fmt_b) ? ckpt_format_name(fmt_b) : "?",
                   dropped_a + dropped_b ? " (values that are not tensors left out)" : "");
    }
    if (c.json) {
        c.root = cJSON_CreateObject();
        cJSON_AddStringToObject(c.root, "a", pa);
        cJSON_AddStringToObject(c.root, "b", pb);
        cJSON_AddNumberToObject(c.root, "tol", c.tol);
        const char *sections[] = {"only_in_a", "only_in_b", "types",  "dtypes",
                                  "shapes",    "values",    "tensors"};
        for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
            cJSON_AddArrayToObject(c.root, sections[i]);
    }
    int rc = run(&c, ra, rb);
    ckpt_doc_free(fa);
    ckpt_doc_free(fb);
    ckpt_doc_free(da);
    ckpt_doc_free(db);
    if (rc < 0) {
        cJSON_Delete(c.root);
        return EXIT_ERROR;
    }
    if (c.json) {
        cJSON_AddBoolToObject(c.root, "identical", c.ndiff == 0);
        char *s = cJSON_Print(c.root);
        if (s) {
            printf("%s\n", s);
            cJSON_free(s);
        }
        cJSON_Delete(c.root);
    } else if (c.ndiff == 0) {
        printf("identical%s\n", c.tol > 0 ? " within the tolerance" : "");
    } else {
        printf("# %zu difference%s\n", c.ndiff, c.ndiff == 1 ? "" : "s");
    }
    return c.ndiff ? EXIT_FINDING : EXIT_OK;
}
