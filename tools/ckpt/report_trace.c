/* tools/ckpt/report_trace.c - `ckpt report --shape`: a model's graph, traced by the
 * library's interpreter on example inputs (what `ckpt convert --to onnx` does), shown
 * with the ONNX graph sections.  Nothing from the file runs outside that interpreter. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

static int parse(const char *arg, ckpt_jit_value *v, char **name, float **buf)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return -1;
    v->kind = CKPT_JIT_V_TENSOR;
    v->dtype = CKPT_F32;
    *name = strndup(arg, (size_t)(eq - arg));
    if (!*name)
        return -1;
    v->name = *name;
    int64_t n = 1;
    for (const char *s = eq + 1; *s;) {
        char *end;
        long long d = strtoll(s, &end, 10);
        if (end == s || d < 0 || d > (1LL << 20) || v->ndim >= CKPT_ONNX_MAX_RANK)
            return -1;
        v->shape[v->ndim++] = d;
        n *= d;
        if (n > (1LL << 26))
            return -1;
        s = end;
        if (*s == ',')
            s++;
        else if (*s)
            return -1;
    }
    *buf = malloc((size_t)(n ? n : 1) * sizeof(float));
    if (!*buf)
        return -1;
    uint64_t x = 0x9E3779B97F4A7C15ull; /* fixed seed: the same page every run */
    for (int64_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        (*buf)[i] = (float)((double)(x >> 40) / (double)(1 << 24) * 2 - 1);
    }
    v->data = *buf;
    return 0;
}

void report_trace(rh_page *p, ckpt_jit_model *m, const report_opts *o)
{
    ckpt_jit_value v[REPORT_MAX_SHAPES];
    float *bufs[REPORT_MAX_SHAPES];
    char *names[REPORT_MAX_SHAPES];
    memset(v, 0, sizeof(v));
    memset(bufs, 0, sizeof(bufs));
    memset(names, 0, sizeof(names));
    size_t n = o->nshapes;
    ckpt_error err;
    ckpt_error_clear(&err);
    for (size_t i = 0; i < n; i++)
        if (parse(o->shapes[i], &v[i], &names[i], &bufs[i]) < 0) {
            rh_raw(p, "<h2 id=\"g-summary\">Traced graph</h2>\n<p class=\"bad\">--shape ");
            rh_esc(p, o->shapes[i]);
            rh_raw(p, ": bad or too large dims</p>\n");
            goto done;
        }
    ckpt_onnx_model *g = ckpt_jit_to_onnx(m, v, n, &err);
    if (!g) {
        char buf[1200];
        rh_raw(p, "<h2 id=\"g-summary\">Traced graph</h2>\n<p class=\"bad\">the model could not "
                  "be traced: ");
        rh_esc(p, ckpt_error_format(&err, buf, sizeof(buf)));
        rh_raw(p, "</p>\n");
        goto done;
    }
    report_graph_traced(p, g, o);
    rh_raw(p, "<p class=\"dim\">Traced by ckpt's interpreter on random float32 inputs of the "
              "--shape shapes: branches and shapes that depend on the input are those of "
              "this run.</p>\n");
    ckpt_onnx_model_free(g);
done:
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
        free(bufs[i]);
    }
}
