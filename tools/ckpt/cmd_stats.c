/* tools/ckpt/cmd_stats.c - `ckpt stats`: per-tensor statistics and a NaN/Inf check. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "cli.h"
#include "cli_stats.h"
#include "cli_util.h"

static const char help[] =
    "usage: ckpt stats FILE [KEY] [--json] [--allow MODULE.NAME]... [--full]\n"
    "\n"
    "For every tensor (of the whole file, or under the key path KEY), in the order\n"
    "'ckpt ls' lists them: element count, min, max, mean, standard deviation, and the\n"
    "number of NaN and of infinite elements.  A checkpoint health check.\n"
    "\n"
    "Statistics are computed in double precision over the tensor's view (its shape,\n"
    "strides and storage offset), over its finite elements: NaN and Inf are counted\n"
    "apart and left out of min, max, mean and std.  std is the sample standard deviation\n"
    "(divisor N-1), as torch.std computes it by default; with one finite element it is\n"
    "nan, as in torch.  Integer dtypes, float16, bfloat16, float32, float64 and the\n"
    "complex dtypes (statistics of the magnitude |z|; a NaN part makes the element NaN)\n"
    "are covered; bool, quantized and float8 tensors are listed without statistics.\n"
    "Tensors whose bytes are not in the file (meta) are listed without statistics.\n"
    "\n"
    "  --json   one JSON object: {\"std\": \"sample\", \"tensors\": [{key, dtype, shape, count,\n"
    "           finite, min, max, mean, std, nan, inf}, ...], \"nan\": N, \"inf\": N}; the\n"
    "           statistics are null where there are none\n"
    "  --allow MODULE.NAME, --full   as for 'ckpt ls'\n"
    "\n"
    "Exit status: 0 no NaN or Inf anywhere, 1 some tensor holds NaN or Inf, 2 error.\n";

typedef struct st_ctx {
    bool json;
    cJSON *arr;
    uint64_t nan, inf;
    uint64_t done, total;
    cli_progress prog;
} st_ctx;

void cli_stats_compute(const ckpt_obj *t, const ckpt_tensor_info *ti, tstats *s)
{
    memset(s, 0, sizeof(*s));
    s->count = ti->numel;
    const unsigned char *data = ckpt_tensor_data(t);
    if (!data || !cli_dtype_numeric(ti->dtype) || ti->quantized)
        return;
    s->has = true;
    size_t es = ckpt_dtype_size(ti->dtype);
    bool cplx = cli_dtype_complex(ti->dtype);
    double sum = 0, mn = (double)INFINITY, mx = -(double)INFINITY;
    cli_iter it;
    int64_t off;
    cli_iter_init(&it, ti);
    while (cli_iter_next(&it, &off)) {
        double re, im;
        cli_elem(data + (size_t)off * es, ti->dtype, &re, &im);
        double v = cplx ? (isnan(re) || isnan(im) ? (double)NAN : hypot(re, im)) : re;
        if (isnan(v)) {
            s->nan++;
            continue;
        }
        if (isinf(v)) {
            s->inf++;
            continue;
        }
        s->finite++;
        s->zero += v == 0;
        sum += v;
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
    }
    if (s->finite == 0)
        return;
    s->min = mn;
    s->max = mx;
    s->mean = sum / (double)s->finite;
    double ss = 0, comp = 0;
    cli_iter_init(&it, ti);
    while (cli_iter_next(&it, &off)) {
        double re, im;
        cli_elem(data + (size_t)off * es, ti->dtype, &re, &im);
        double v = cplx ? (isnan(re) || isnan(im) ? (double)NAN : hypot(re, im)) : re;
        if (!isfinite(v))
            continue;
        double d = v - s->mean;
        ss += d * d;
        comp += d;
    }
    /* corrected two-pass formula: exact-sum rounding of the mean is compensated */
    double n = (double)s->finite;
    s->std = s->finite > 1 ? sqrt((ss - comp * comp / n) / (n - 1)) : (double)NAN;
}

static cJSON *num_or_null(bool ok, double v)
{
    return ok && isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static int visit(void *payload, const char *key, const ckpt_obj *t)
{
    st_ctx *c = payload;
    ckpt_tensor_info ti;
    if (ckpt_tensor_get_info(t, &ti) < 0)
        return -1;
    tstats s;
    cli_stats_compute(t, &ti, &s);
    c->nan += (uint64_t)s.nan;
    c->inf += (uint64_t)s.inf;
    c->done += ti.nbytes;
    cli_progress_step(&c->prog, c->done);
    const char *dt = ckpt_dtype_name(ti.dtype) ? ckpt_dtype_name(ti.dtype) : "?";
    bool ok = s.has && s.finite > 0;
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON *shape = cJSON_CreateArray();
        if (!o || !shape)
            return -1;
        cJSON_AddStringToObject(o, "key", key);
        cJSON_AddStringToObject(o, "dtype", dt);
        for (int i = 0; i < ti.ndim; i++)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)ti.shape[i]));
        cJSON_AddItemToObject(o, "shape", shape);
        cJSON_AddNumberToObject(o, "count", (double)s.count);
        cJSON_AddItemToObject(o, "finite",
                              s.has ? cJSON_CreateNumber((double)s.finite) : cJSON_CreateNull());
        cJSON_AddItemToObject(o, "min", num_or_null(ok, s.min));
        cJSON_AddItemToObject(o, "max", num_or_null(ok, s.max));
        cJSON_AddItemToObject(o, "mean", num_or_null(ok, s.mean));
        cJSON_AddItemToObject(o, "std", num_or_null(ok, s.std));
        cJSON_AddItemToObject(o, "nan",
                              s.has ? cJSON_CreateNumber((double)s.nan) : cJSON_CreateNull());
        cJSON_AddItemToObject(o, "inf",
                              s.has ? cJSON_CreateNumber((double)s.inf) : cJSON_CreateNull());
        cJSON_AddItemToArray(c->arr, o);
        return 0;
    }
    if (!s.has) {
        printf("%-40s %-9s %10" PRId64 "  (no statistics for this dtype/device)\n", key, dt,
               s.count);
        return 0;
    }
    if (!ok) {
        printf("%-40s %-9s %10" PRId64 " %13s %13s %13s %13s %6" PRId64 " %6" PRId64 "%s\n", key,
               dt, s.count, "-", "-", "-", "-", s.nan, s.inf,
               s.nan || s.inf ? "  <- NaN/Inf" : "");
        return 0;
    }
    printf("%-40s %-9s %10" PRId64 " %13.6g %13.6g %13.6g %13.6g %6" PRId64 " %6" PRId64 "%s\n",
           key, dt, s.count, s.min, s.max, s.mean, s.std, s.nan, s.inf,
           s.nan || s.inf ? "  <- NaN/Inf" : "");
    return 0;
}

static int sum_bytes(void *payload, const char *key, const ckpt_obj *t)
{
    (void)key;
    ckpt_tensor_info ti;
    if (ckpt_tensor_get_info(t, &ti) == 0)
        *(uint64_t *)payload += ti.nbytes;
    return 0;
}

int cmd_stats(int argc, char **argv)
{
    cli_load lo;
    memset(&lo, 0, sizeof(lo));
    st_ctx c;
    memset(&c, 0, sizeof(c));
    const char *path = NULL, *key = NULL;
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
        if (strcmp(argv[i], "--json") == 0)
            c.json = true;
        else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "ckpt stats: unknown option %s\n\n%s", argv[i], help);
            return EXIT_ERROR;
        } else if (!path)
            path = argv[i];
        else if (!key)
            key = argv[i];
        else {
            fprintf(stderr, "ckpt stats: too many arguments\n");
            return EXIT_ERROR;
        }
    }
    if (!path) {
        fputs(help, stderr);
        return EXIT_ERROR;
    }
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_doc *doc = cli_load_doc(path, &lo, CKPT_LOAD_MMAP, true, !lo.map_location, &err);
    if (!doc) {
        cli_print_error("stats", &err);
        return EXIT_ERROR;
    }
    const ckpt_obj *o = ckpt_doc_root(doc);
    if (key) {
        char why[512];
        o = cli_resolve(o, key, NULL, NULL, why, sizeof(why));
        if (!o) {
            fprintf(stderr, "ckpt stats: %s: %s\n", path, why);
            ckpt_doc_free(doc);
            return EXIT_ERROR;
        }
    }
    ckpt_obj_walk_tensors(o, sum_bytes, &c.total, NULL);
    cli_progress_init(&c.prog, "ckpt stats", c.total);
    if (c.json) {
        c.arr = cJSON_CreateArray();
    } else {
        printf("%-40s %-9s %10s %13s %13s %13s %13s %6s %6s\n", "key", "dtype", "count", "min",
               "max", "mean", "std(N-1)", "nan", "inf");
    }
    int rc = ckpt_obj_walk_tensors(o, visit, &c, &err);
    cli_progress_done(&c.prog);
    ckpt_doc_free(doc);
    if (rc < 0) {
        cJSON_Delete(c.arr);
        cli_print_error("stats", &err);
        return EXIT_ERROR;
    }
    if (c.json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "file", path);
        cJSON_AddStringToObject(root, "std", "sample");
        cJSON_AddItemToObject(root, "tensors", c.arr);
        cJSON_AddNumberToObject(root, "nan", (double)c.nan);
        cJSON_AddNumberToObject(root, "inf", (double)c.inf);
        char *s = cJSON_Print(root);
        if (s) {
            printf("%s\n", s);
            cJSON_free(s);
        }
        cJSON_Delete(root);
    } else {
        printf("# std is the sample standard deviation (N-1), as torch.std; %" PRIu64
               " NaN, %" PRIu64 " Inf\n",
               c.nan, c.inf);
    }
    return c.nan || c.inf ? EXIT_FINDING : EXIT_OK;
}
