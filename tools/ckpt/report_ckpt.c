/* tools/ckpt/report_ckpt.c - `ckpt report` of a checkpoint: summary, safety scan,
 * format metadata, module tree, tensor table (statistics of `ckpt stats`), and the
 * non-tensor content of training checkpoints. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_folder.h"
#include "cli_jit.h"
#include "cli_onnx.h"
#include "cli_stats.h"
#include "report.h"
#include "report_dcp.h"
#include "report_jit.h"
#include "report_obj.h"
#include "report_scan.h"
#include "report_tree.h"

#define OBJ_MAX_NODES 20000

typedef struct row {
    char *key;
    const ckpt_obj *t;
    ckpt_tensor_info ti;
    size_t shared; /* tensors on the same storage (1: none other) */
} row;

typedef struct rc_ctx {
    row *rows;
    size_t n, cap;
    const ckpt_obj **by_ptr; /* tensors sorted by node address, for row_of */
    size_t *by_ptr_row;
    size_t shown; /* rows in the table (--max-rows): links only to those */
} rc_ctx;

static int collect(void *payload, const char *key, const ckpt_obj *t)
{
    rc_ctx *c = payload;
    if (c->n == c->cap) {
        size_t nc = c->cap ? 2 * c->cap : 256;
        row *nr = realloc(c->rows, nc * sizeof(*nr));
        if (!nr)
            return CKPT_E_NOMEM;
        c->rows = nr;
        c->cap = nc;
    }
    row *r = &c->rows[c->n];
    memset(r, 0, sizeof(*r));
    if (ckpt_tensor_get_info(t, &r->ti) < 0)
        return CKPT_E_FORMAT;
    r->key = strdup(key);
    if (!r->key)
        return CKPT_E_NOMEM;
    r->t = t;
    r->shared = 1;
    c->n++;
    return 0;
}

/* ------------------------------------------------------------ storage sharing */

static int cmp_storage(const void *a, const void *b)
{
    const row *x = *(row *const *)a, *y = *(row *const *)b;
    uintptr_t p = (uintptr_t)x->ti.storage, q = (uintptr_t)y->ti.storage;
    return p < q ? -1 : p > q;
}

/* Count storages and fill each row's `shared`; returns the number of storages. */
static size_t sharing(rc_ctx *c, size_t *shared_tensors)
{
    *shared_tensors = 0;
    row **v = malloc((c->n + 1) * sizeof(*v));
    if (!v)
        return 0;
    size_t m = 0;
    for (size_t i = 0; i < c->n; i++)
        if (c->rows[i].ti.storage)
            v[m++] = &c->rows[i];
    qsort(v, m, sizeof(*v), cmp_storage);
    size_t storages = 0;
    for (size_t i = 0; i < m;) {
        size_t j = i;
        while (j < m && v[j]->ti.storage == v[i]->ti.storage)
            j++;
        storages++;
        for (size_t k = i; k < j; k++)
            v[k]->shared = j - i;
        if (j - i > 1)
            *shared_tensors += j - i;
        i = j;
    }
    free(v);
    return storages;
}

/* ------------------------------------------------------------ tensor node -> row */

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t p = (uintptr_t) * (const ckpt_obj *const *)a;
    uintptr_t q = (uintptr_t) * (const ckpt_obj *const *)b;
    return p < q ? -1 : p > q;
}

static long row_of(void *payload, const ckpt_obj *t)
{
    rc_ctx *c = payload;
    if (!c->by_ptr)
        return -1;
    const ckpt_obj **hit = bsearch(&t, c->by_ptr, c->n, sizeof(*c->by_ptr), cmp_ptr);
    size_t r = hit ? c->by_ptr_row[hit - c->by_ptr] : (size_t)-1;
    return r < c->shown ? (long)r : -1;
}

static void index_rows(rc_ctx *c)
{
    c->by_ptr = malloc((c->n + 1) * sizeof(*c->by_ptr));
    c->by_ptr_row = malloc((c->n + 1) * sizeof(*c->by_ptr_row));
    if (!c->by_ptr || !c->by_ptr_row) {
        free(c->by_ptr);
        free(c->by_ptr_row);
        c->by_ptr = NULL;
        c->by_ptr_row = NULL;
        return;
    }
    for (size_t i = 0; i < c->n; i++)
        c->by_ptr[i] = c->rows[i].t;
    qsort(c->by_ptr, c->n, sizeof(*c->by_ptr), cmp_ptr);
    /* the first row of each tensor node (a node reached twice keeps its first key) */
    for (size_t i = 0; i < c->n; i++)
        c->by_ptr_row[i] = (size_t)-1;
    for (size_t i = c->n; i-- > 0;) {
        const ckpt_obj **hit = bsearch(&c->rows[i].t, c->by_ptr, c->n, sizeof(*c->by_ptr),
                                       cmp_ptr);
        while (hit && hit > c->by_ptr && hit[-1] == c->rows[i].t)
            hit--;
        for (; hit && hit < c->by_ptr + c->n && *hit == c->rows[i].t; hit++)
            c->by_ptr_row[hit - c->by_ptr] = i;
    }
}

/* ------------------------------------------------------------ module tree */

/* A leaf's dtype and shape. */
static void leaf_text(rh_page *p, long idx, void *payload)
{
    const rc_ctx *c = payload;
    const row *r = &c->rows[idx];
    const char *dn = ckpt_dtype_name(r->ti.dtype);
    rh_raw(p, dn ? dn : "?");
    rh_raw(p, " ");
    rh_shape(p, r->ti.shape, r->ti.ndim);
}

/* ------------------------------------------------------------ sections */

static void num_cell(rh_page *p, bool ok, double v)
{
    if (!ok || !isfinite(v))
        rh_raw(p, "<td class=\"n\" data-v=\"NaN\">-</td>");
    else
        rh_fmt(p, "<td class=\"n\" data-v=\"%.17g\">%.6g</td>", v, v);
}

static const char *ggml_type(const ckpt_obj *types, const char *key)
{
    const ckpt_obj *v = types ? ckpt_dict_get(types, key) : NULL;
    return v && ckpt_obj_type(v) == CKPT_T_STR ? ckpt_obj_str(v, NULL) : NULL;
}

static int table(rh_page *p, ckpt_doc *doc, rc_ctx *c, const report_opts *o,
                 const ckpt_obj *types, bool lazy, ckpt_error *err)
{
    size_t shown = c->n < o->max_rows ? c->n : o->max_rows;
    rh_fmt(p, "<h2 id=\"tensors\">Tensors</h2>\n");
    if (shown < c->n)
        rh_fmt(p,
               "<p class=\"bad\" id=\"capped\">The table shows the first %zu of %zu tensors "
               "(--max-rows).</p>\n",
               shown, c->n);
    if (o->no_stats)
        rh_raw(p, "<p class=\"dim\">No statistics (--no-stats): no tensor data was read.</p>\n");
    else
        rh_raw(p, "<p class=\"dim\">Statistics as <code>ckpt stats</code> computes them: in "
                  "double precision over the finite elements; std is the sample standard "
                  "deviation (N-1), as torch.std; zeros is the fraction of all elements.</p>\n");
    rh_raw(p, "<input id=\"tt-filter\" placeholder=\"filter keys\" hidden>\n"
              "<table class=\"sort\" id=\"tt\"><thead><tr><th>key</th><th>dtype</th>"
              "<th>shape</th><th>numel</th><th>bytes</th><th>storage</th>");
    if (!o->no_stats)
        rh_raw(p, "<th>min</th><th>max</th><th>mean</th><th>std</th><th>NaN</th><th>Inf</th>"
                  "<th>zeros</th>");
    rh_raw(p, "</tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < shown; i++) {
        const row *r = &c->rows[i];
        const char *dn = ckpt_dtype_name(r->ti.dtype);
        rh_fmt(p, "<tr id=\"t%zu\"><td class=\"k\">", i);
        rh_esc(p, r->key);
        rh_fmt(p, "</td><td>%s", dn ? dn : "?");
        const char *gt = ggml_type(types, r->key);
        if (gt) {
            rh_raw(p, " <span class=\"dim\">(ggml ");
            rh_esc(p, gt);
            rh_raw(p, ")</span>");
        }
        if (r->ti.quantized)
            rh_raw(p, " <span class=\"dim\">(quantized)</span>");
        rh_raw(p, "</td><td>");
        rh_shape(p, r->ti.shape, r->ti.ndim);
        rh_fmt(p, "</td><td class=\"n\" data-v=\"%" PRId64 "\">%" PRId64 "</td>", r->ti.numel,
               r->ti.numel);
        rh_fmt(p, "<td class=\"n\" data-v=\"%" PRIu64 "\">%" PRIu64 "</td><td>", r->ti.nbytes,
               r->ti.nbytes);
        ckpt_storage_info si;
        if (r->ti.storage && ckpt_storage_get_info(r->ti.storage, &si) == 0) {
            if (si.key) {
                rh_raw(p, "<code>");
                rh_esc(p, si.key);
                rh_fmt(p, "</code>+%" PRId64, r->ti.storage_offset);
            } else {
                rh_raw(p, "-");
            }
            if (r->shared > 1)
                rh_fmt(p, " <span class=\"dim\">(shared by %zu tensors)</span>", r->shared);
        } else {
            rh_esc(p, r->ti.device ? r->ti.device : "-");
        }
        rh_raw(p, "</td>");
        if (!o->no_stats) {
            tstats s;
            memset(&s, 0, sizeof(s));
            if (lazy && r->ti.storage && !ckpt_tensor_data_load(doc, r->t, err))
                return -1;
            cli_stats_compute(r->t, &r->ti, &s);
            bool ok = s.has && s.finite > 0;
            num_cell(p, ok, s.min);
            num_cell(p, ok, s.max);
            num_cell(p, ok, s.mean);
            num_cell(p, ok, s.std);
            if (s.has) {
                rh_fmt(p, "<td class=\"n%s\" data-v=\"%" PRId64 "\">%" PRId64 "</td>",
                       s.nan ? " bad" : "", s.nan, s.nan);
                rh_fmt(p, "<td class=\"n%s\" data-v=\"%" PRId64 "\">%" PRId64 "</td>",
                       s.inf ? " bad" : "", s.inf, s.inf);
                double z = s.count ? (double)s.zero / (double)s.count : 0;
                rh_fmt(p, "<td class=\"n\" data-v=\"%.17g\">%.4f</td>", z, z);
            } else {
                rh_raw(p, "<td class=\"n\" data-v=\"NaN\">-</td><td class=\"n\" "
                          "data-v=\"NaN\">-</td><td class=\"n\" data-v=\"NaN\">-</td>");
            }
        }
        rh_raw(p, "</tr>\n");
    }
    rh_raw(p, "</tbody></table>\n");
    return 0;
}

typedef struct dtype_sum {
    int dtype;
    size_t n;
    uint64_t bytes, numel;
} dtype_sum;

static void summary(rh_page *p, const char *path, const char *kind, const rc_ctx *c,
                    size_t storages, size_t shared)
{
    uint64_t numel = 0, bytes = 0;
    dtype_sum ds[64];
    size_t nds = 0;
    for (size_t i = 0; i < c->n; i++) {
        const row *r = &c->rows[i];
        numel += (uint64_t)r->ti.numel;
        bytes += r->ti.nbytes;
        size_t j = 0;
        while (j < nds && ds[j].dtype != r->ti.dtype)
            j++;
        if (j == nds && nds < 64)
            ds[nds++] = (dtype_sum){r->ti.dtype, 0, 0, 0};
        if (j < nds) {
            ds[j].n++;
            ds[j].bytes += r->ti.nbytes;
            ds[j].numel += (uint64_t)r->ti.numel;
        }
    }
    rh_raw(p, "<h2 id=\"summary\">Summary</h2>\n<table id=\"summary-table\"><tbody>\n"
              "<tr><th>file</th><td><code>");
    rh_esc(p, report_basename(path));
    rh_raw(p, "</code></td></tr>\n<tr><th>format</th><td>");
    rh_esc(p, kind);
    rh_raw(p, "</td></tr>\n<tr><th>file size</th><td>");
    rh_bytes(p, report_file_size(path));
    rh_fmt(p, " (%" PRIu64 " bytes)</td></tr>\n", report_file_size(path));
    rh_fmt(p, "<tr><th>tensors</th><td id=\"n-tensors\">%zu</td></tr>\n", c->n);
    rh_fmt(p, "<tr><th>parameters (elements)</th><td id=\"n-elements\">%" PRIu64 "</td></tr>\n",
           numel);
    rh_raw(p, "<tr><th>tensor bytes</th><td>");
    rh_bytes(p, bytes);
    rh_fmt(p, " (%" PRIu64 " bytes)</td></tr>\n", bytes);
    rh_fmt(p, "<tr><th>storages</th><td>%zu</td></tr>\n", storages);
    rh_fmt(p, "<tr><th>tensors sharing a storage</th><td>%zu%s</td></tr>\n", shared,
           shared ? " (views or tied weights)" : "");
    rh_raw(p, "</tbody></table>\n<table id=\"dtypes\"><thead><tr><th>dtype</th><th>tensors</th>"
              "<th>elements</th><th>bytes</th></tr></thead><tbody>\n");
    for (size_t j = 0; j < nds; j++) {
        const char *dn = ckpt_dtype_name(ds[j].dtype);
        rh_fmt(p,
               "<tr><td>%s</td><td class=\"n\">%zu</td><td class=\"n\">%" PRIu64 "</td>"
               "<td class=\"n\">%" PRIu64 "</td></tr>\n",
               dn ? dn : "?", ds[j].n, ds[j].numel, ds[j].bytes);
    }
    rh_raw(p, "</tbody></table>\n");
}

/* The page body for a loaded document (`m`: the model it was read from, or NULL).
 * Without `lo`, the tensor sections only (a graph's initializers). */
static int report_doc(rh_page *p, const char *path, const cli_load *lo, const report_opts *o,
                      ckpt_doc *doc, const ckpt_jit_model *m, int mode, ckpt_error *err)
{
    char why[320];
    const char *kind = ckpt_detect_file(path, why, sizeof(why), NULL);
    rc_ctx c;
    memset(&c, 0, sizeof(c));
    report_tree *tree = NULL;
    int rc = ckpt_obj_walk_tensors(ckpt_doc_root(doc), collect, &c, err);
    if (rc < 0)
        goto done;
    size_t shared = 0, storages = sharing(&c, &shared);
    index_rows(&c);
    c.shown = c.n < o->max_rows ? c.n : o->max_rows;
    if (lo) {
        summary(p, path, kind ? kind : "?", &c, storages, shared);
        if (m)
            report_jit(p, m);
        report_scan(p, path, lo);
        if (cli_is_dcp(path))
            report_dcp(p, path, o->max_rows);
    }

    const ckpt_obj *meta = lo ? ckpt_doc_metadata(doc) : NULL;
    const ckpt_obj *types = NULL;
    if (meta && ckpt_obj_type(meta) == CKPT_T_DICT)
        types = ckpt_dict_get(meta, "gguf.tensor_types");
    if (meta) {
        rh_raw(p, "<h2 id=\"metadata\">Format metadata</h2>\n");
        report_obj_ctx oc = {NULL, NULL, OBJ_MAX_NODES, false};
        report_obj_tree(p, meta, &oc);
    }

    rh_raw(p, lo ? "<h2 id=\"modules\">Module tree</h2>\n"
                 : "<h2 id=\"modules\">Initializers by name prefix</h2>\n");
    uint64_t total = 0;
    for (size_t i = 0; i < c.n; i++)
        total += c.rows[i].ti.nbytes;
    tree = report_tree_new();
    for (size_t i = 0; tree && i < c.n; i++)
        if (report_tree_add(tree, c.rows[i].key, (uint64_t)c.rows[i].ti.numel,
                            c.rows[i].ti.nbytes, (long)i) < 0) {
            rc = CKPT_E_NOMEM;
            err->code = CKPT_E_NOMEM;
            snprintf(err->msg, sizeof(err->msg), "out of memory building the module tree");
            goto done;
        }
    if (tree && c.n)
        report_tree_render(p, tree, total, c.shown, leaf_text, &c);
    else
        rh_raw(p, "<p class=\"dim\">(no tensors)</p>\n");

    rc = table(p, doc, &c, o, types, mode == CKPT_LOAD_LAZY && !o->no_stats, err);
    if (rc < 0)
        goto done;

    if (lo && report_has_non_tensor(ckpt_doc_root(doc), 0)) {
        rh_raw(p, "<h2 id=\"objects\">Object tree</h2>\n<p class=\"dim\">Everything the file "
                  "holds besides the tensors (training state: epoch, optimizer, scheduler, "
                  "user values); tensors link to their rows.</p>\n");
        report_obj_ctx oc = {row_of, &c, OBJ_MAX_NODES, false};
        report_obj_tree(p, ckpt_doc_root(doc), &oc);
    }
done:
    report_tree_free(tree);
    for (size_t i = 0; i < c.n; i++)
        free(c.rows[i].key);
    free(c.rows);
    free(c.by_ptr);
    free(c.by_ptr_row);
    return rc < 0 ? -1 : 0;
}

int report_weights(rh_page *p, const char *path, const report_opts *o, ckpt_error *err)
{
    ckpt_doc *doc = cli_onnx_doc(path, false, NULL, err);
    if (!doc)
        return -1;
    int rc = report_doc(p, path, NULL, o, doc, NULL, CKPT_LOAD_COPY, err);
    ckpt_doc_free(doc);
    return rc;
}

int report_ckpt(rh_page *p, const char *path, const cli_load *lo, const report_opts *o,
                ckpt_error *err)
{
    /* tensor bytes: mapped where the format allows, read one tensor at a time in
     * folders; none at all with --no-stats */
    bool folder = cli_is_folder(path);
    int mode = o->no_stats || folder ? CKPT_LOAD_LAZY : CKPT_LOAD_MMAP;
    ckpt_jit_model *m = NULL;
    ckpt_doc *doc = NULL;
    if (cli_jit_file(path)) { /* TorchScript, lite, .pt2: the module's state dict */
        m = ckpt_jit_load(path, NULL, err);
    } else {
        doc = cli_load_doc(path, lo, mode, true, !lo->map_location, err);
        if (doc && cli_jit_module_doc(doc)) { /* torch.save(model), when the reader takes it */
            ckpt_error e;
            ckpt_error_clear(&e);
            m = ckpt_jit_load(path, NULL, &e);
            if (m) {
                ckpt_doc_free(doc);
                doc = NULL;
            }
        }
    }
    if (m) {
        doc = ckpt_jit_state_dict(m, err);
        mode = CKPT_LOAD_COPY;
    }
    int rc = doc ? report_doc(p, path, lo, o, doc, m, mode, err) : -1;
    if (rc == 0 && m && o->nshapes)
        report_trace(p, m, o);
    ckpt_doc_free(doc);
    ckpt_jit_free(m);
    if (rc < 0 && !err->file[0])
        snprintf(err->file, sizeof(err->file), "%.250s", path);
    return rc;
}
