/* optim_tool - runs ckpt's optimizers for tests/interop/optim_equiv.py.
 *
 *   optim_tool SPEC INIT GRADS FIRST NSTEPS LOAD OUT_PARAMS OUT_SD
 *
 * SPEC: line 1 the optimizer kind (ckpt_optim_kind), line 2 the defaults
 * kwargs, line 3 the number of groups, then per group a line "N kwargs..."
 * (N parameters), then per parameter a line "ndim d0 d1 ...".
 * INIT: the parameters' starting values (float32, concatenated).  GRADS: per
 * step, every parameter's gradient (float32); steps FIRST..FIRST+NSTEPS-1 are
 * run, and at step 0 parameter 0 has no gradient.  LOAD: an optimizer state
 * dict (torch.save file) loaded before stepping, or "-".  Writes the final
 * parameters to OUT_PARAMS and state_dict() to OUT_SD (1.13 layout). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "ckpt/nn.h"
#include "ckpt/optim.h"

#define MAXP 64

static int fail(const char *what, const ckpt_error *err)
{
    char buf[1024];
    fprintf(stderr, "optim_tool: %s: %s\n", what,
            err ? ckpt_error_format(err, buf, sizeof(buf)) : "");
    return 1;
}

static void chomp(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

int main(int argc, char **argv)
{
    if (argc != 9) {
        fprintf(stderr,
                "usage: optim_tool SPEC INIT GRADS FIRST NSTEPS LOAD OUT_PARAMS OUT_SD\n");
        return 2;
    }
    ckpt_error err;
    ckpt_error_clear(&err);
    FILE *f = fopen(argv[1], "r");
    if (!f)
        return fail("cannot open spec", NULL);
    char line[1024], defaults[1024];
    int kind = 0, ngroups = 0;
    if (!fgets(line, sizeof(line), f) || sscanf(line, "%d", &kind) != 1 ||
        !fgets(defaults, sizeof(defaults), f) || !fgets(line, sizeof(line), f) ||
        sscanf(line, "%d", &ngroups) != 1 || ngroups < 1 || ngroups > 8)
        return fail("bad spec header", NULL);
    chomp(defaults);
    int gsize[8];
    char gkw[8][1024];
    int np = 0;
    for (int g = 0; g < ngroups; g++) {
        int off = 0;
        if (!fgets(line, sizeof(line), f) || sscanf(line, "%d %n", &gsize[g], &off) < 1)
            return fail("bad group line", NULL);
        chomp(line);
        snprintf(gkw[g], sizeof(gkw[g]), "%s", line + off);
        np += gsize[g];
    }
    if (np > MAXP)
        return fail("too many parameters", NULL);
    ckpt_module *m = ckpt_module_new("Net", &err);
    ckpt_slot *slots[MAXP];
    int64_t numel[MAXP];
    int64_t total = 0;
    for (int i = 0; i < np; i++) {
        int ndim = 0;
        int64_t shape[8];
        if (fscanf(f, "%d", &ndim) != 1 || ndim < 0 || ndim > 8)
            return fail("bad shape line", NULL);
        numel[i] = 1;
        for (int d = 0; d < ndim; d++) {
            long long v;
            if (fscanf(f, "%lld", &v) != 1)
                return fail("bad shape", NULL);
            shape[d] = v;
            numel[i] *= v;
        }
        char name[32];
        snprintf(name, sizeof(name), "p%d", i);
        slots[i] = ckpt_module_param(m, name, CKPT_F32, ndim, shape, &err);
        if (!slots[i])
            return fail("param", &err);
        total += numel[i];
    }
    fclose(f);
    size_t tl = 0, gl = 0;
    FILE *fi = fopen(argv[2], "rb");
    float *init = malloc((size_t)total * sizeof(float));
    if (!fi || !init || fread(init, sizeof(float), (size_t)total, fi) != (size_t)total)
        return fail("cannot read INIT", NULL);
    fclose(fi);
    for (int i = 0, off = 0; i < np; off += (int)numel[i], i++)
        memcpy(slots[i]->data, init + off, (size_t)numel[i] * sizeof(float));
    FILE *fg = fopen(argv[3], "rb");
    if (!fg)
        return fail("cannot open GRADS", NULL);
    fseek(fg, 0, SEEK_END);
    gl = (size_t)ftell(fg) / sizeof(float);
    fseek(fg, 0, SEEK_SET);
    float *grads = malloc(gl * sizeof(float) + 1);
    if (!grads || fread(grads, sizeof(float), gl, fg) != gl)
        return fail("cannot read GRADS", NULL);
    fclose(fg);
    (void)tl;

    ckpt_optim *o = ckpt_optim_new(kind, defaults, &err);
    if (!o)
        return fail("ckpt_optim_new", &err);
    for (int g = 0, p0 = 0; g < ngroups; p0 += gsize[g], g++)
        if (ckpt_optim_add_group(o, slots + p0, (size_t)gsize[g], gkw[g], &err) < 0)
            return fail("ckpt_optim_add_group", &err);
    if (strcmp(argv[6], "-") != 0) {
        ckpt_doc *d = ckpt_load(argv[6], &(ckpt_load_opts){.unsafe_full = true}, &err);
        if (!d)
            return fail("ckpt_load", &err);
        if (ckpt_optim_load_state_dict(o, ckpt_doc_root(d), &err) < 0)
            return fail("ckpt_optim_load_state_dict", &err);
        ckpt_doc_free(d);
    }
    int first = atoi(argv[4]), nsteps = atoi(argv[5]);
    for (int s = first; s < first + nsteps; s++) {
        size_t base = (size_t)s * (size_t)total;
        if (base + (size_t)total > gl)
            return fail("GRADS too short", NULL);
        for (int i = 0, off = 0; i < np; off += (int)numel[i], i++) {
            if (s == 0 && i == 0) {
                free(slots[i]->grad);
                slots[i]->grad = NULL;
                continue;
            }
            if (!slots[i]->grad)
                slots[i]->grad = malloc((size_t)numel[i] * sizeof(float));
            if (!slots[i]->grad)
                return fail("out of memory", NULL);
            memcpy(slots[i]->grad, grads + base + off, (size_t)numel[i] * sizeof(float));
        }
        if (ckpt_optim_step(o, &err) < 0)
            return fail("ckpt_optim_step", &err);
    }
    FILE *fo = fopen(argv[7], "wb");
    if (!fo)
        return fail("cannot write OUT_PARAMS", NULL);
    for (int i = 0; i < np; i++)
        fwrite(slots[i]->data, sizeof(float), (size_t)numel[i], fo);
    fclose(fo);
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    ckpt_obj *sd = doc ? ckpt_optim_state_dict(o, doc, &err) : NULL;
    if (!sd)
        return fail("state_dict", &err);
    ckpt_save_opts so = {.layout = CKPT_LAYOUT_TORCH13, .no_fsync = true};
    if (ckpt_save(argv[8], sd, &so, &err) < 0)
        return fail("ckpt_save", &err);
    ckpt_doc_free(doc);
    ckpt_optim_free(o);
    ckpt_module_free(m);
    free(init);
    free(grads);
    return 0;
}
