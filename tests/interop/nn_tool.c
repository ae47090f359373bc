/* tests/interop/nn_tool.c - the C side of nn_state_dict.py.
 *
 *   nn_tool SPEC IN.pt OUT.pt [options]
 *
 * Builds a module tree from SPEC with raw ckpt_module_param/buffer calls (no
 * layer library), loads IN.pt into it with load_state_dict, and writes its
 * state_dict() to OUT.pt with torch 1.13's layout.  Options:
 *   --non-strict  strict=False            --strip-module  strip "module."
 *   --mmap        load IN.pt mapped       --assign        adopt the file's memory
 *   --copy        save state_dict_copy()  --report FILE   write missing/unexpected/message
 * SPEC lines (modules in named_modules() order):
 *   module PATH TYPE VERSION          (PATH "-" is the root)
 *   param PATH.NAME DTYPE DIMS        (DIMS "2,3", or "-" for 0-d)
 *   buffer PATH.NAME DTYPE DIMS PERSISTENT
 *   param_none PATH.NAME | buffer_none PATH.NAME PERSISTENT
 * Exit 0 on success, 3 when load_state_dict reported an error (the message is
 * in the report file), 1 on other failures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "ckpt/nn.h"

static ckpt_module *owner_of(ckpt_module *root, char *path, char **leaf)
{
    char *dot = strrchr(path, '.');
    if (!dot) {
        *leaf = path;
        return root;
    }
    *dot = '\0';
    *leaf = dot + 1;
    return ckpt_module_find(root, path);
}

static int parse_dims(const char *s, int64_t *dims)
{
    if (strcmp(s, "-") == 0)
        return 0;
    int n = 0;
    const char *p = s;
    while (*p && n < 16) {
        char *end;
        dims[n++] = strtoll(p, &end, 10);
        p = *end == ',' ? end + 1 : end;
        if (end == p && *end)
            return -1;
    }
    return n;
}

static ckpt_module *build(const char *spec, ckpt_error *err)
{
    FILE *f = fopen(spec, "r");
    if (!f)
        return NULL;
    ckpt_module *root = NULL;
    char line[1024];
    while (fgets(line, sizeof(line), f)) {
        char kind[32], path[512], a[64], b[256];
        int pers = 1, ver = 1;
        int nf = sscanf(line, "%31s %511s %63s %255s %d", kind, path, a, b, &pers);
        if (nf < 2)
            continue;
        if (strcmp(kind, "module") == 0) {
            ver = atoi(b);
            ckpt_module *m;
            if (strcmp(path, "-") == 0) {
                m = root = ckpt_module_new(a, err);
            } else {
                char *leaf;
                ckpt_module *parent = owner_of(root, path, &leaf);
                m = parent ? ckpt_module_add(parent, leaf, a, err) : NULL;
            }
            if (!m)
                goto fail;
            ckpt_module_set_version(m, ver);
            continue;
        }
        char *leaf;
        ckpt_module *owner = owner_of(root, path, &leaf);
        if (!owner)
            goto fail;
        if (strcmp(kind, "param_none") == 0) {
            if (ckpt_module_param_none(owner, leaf, err) < 0)
                goto fail;
            continue;
        }
        if (strcmp(kind, "buffer_none") == 0) {
            if (ckpt_module_buffer_none(owner, leaf, atoi(a) != 0, err) < 0)
                goto fail;
            continue;
        }
        int64_t dims[16];
        int nd = parse_dims(b, dims);
        int dt = ckpt_dtype_from_name(a);
        if (nd < 0 || dt < 0)
            goto fail;
        ckpt_slot *s = strcmp(kind, "param") == 0
                           ? ckpt_module_param(owner, leaf, dt, nd, dims, err)
                           : ckpt_module_buffer(owner, leaf, dt, nd, dims, pers != 0, err);
        if (!s)
            goto fail;
    }
    fclose(f);
    return root;
fail:
    fprintf(stderr, "spec line failed: %s", line);
    fclose(f);
    ckpt_module_free(root);
    return NULL;
}

static void write_list(FILE *f, const char *tag, char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s %s\n", tag, v[i]);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: nn_tool SPEC IN.pt OUT.pt [options]\n");
        return 2;
    }
    ckpt_load_state_dict_opts o = {0};
    ckpt_load_opts lo = {0};
    const char *report_path = NULL;
    bool copy = false;
    ckpt_key_rule strip = {CKPT_KEY_STRIP_PREFIX, "module.", NULL};
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--non-strict") == 0)
            o.non_strict = true;
        else if (strcmp(argv[i], "--assign") == 0)
            o.assign = true;
        else if (strcmp(argv[i], "--mmap") == 0)
            lo.mode = CKPT_LOAD_MMAP;
        else if (strcmp(argv[i], "--copy") == 0)
            copy = true;
        else if (strcmp(argv[i], "--strip-module") == 0) {
            o.rules = &strip;
            o.rule_count = 1;
        } else if (strcmp(argv[i], "--report") == 0 && i + 1 < argc)
            report_path = argv[++i];
    }
    ckpt_error err = {0};
    char eb[1024];
    ckpt_module *m = build(argv[1], &err);
    if (!m) {
        fprintf(stderr, "build: %s\n", ckpt_error_format(&err, eb, sizeof(eb)));
        return 1;
    }
    int status = 1;
    ckpt_doc *in = ckpt_load(argv[2], &lo, &err);
    ckpt_doc *out = NULL;
    ckpt_state_dict_report rep;
    if (!in) {
        fprintf(stderr, "load: %s\n", ckpt_error_format(&err, eb, sizeof(eb)));
        goto done;
    }
    int rc = ckpt_module_load_state_dict(m, ckpt_doc_root(in), &o, &rep, &err);
    if (report_path) {
        FILE *f = fopen(report_path, "w");
        if (f) {
            write_list(f, "missing", rep.missing, rep.missing_count);
            write_list(f, "unexpected", rep.unexpected, rep.unexpected_count);
            if (rep.message)
                fprintf(f, "message\n%s", rep.message);
            fclose(f);
        }
    }
    ckpt_state_dict_report_free(&rep);
    if (rc < 0) {
        fprintf(stderr, "load_state_dict: %s (%s)\n", err.msg, ckpt_status_name(rc));
        status = 3;
        goto done;
    }
    out = ckpt_doc_new(NULL, &err);
    ckpt_obj *sd = out ? (copy ? ckpt_module_state_dict_copy(m, out, NULL, &err)
                               : ckpt_module_state_dict(m, out, NULL, &err))
                       : NULL;
    ckpt_save_opts so = {.layout = CKPT_LAYOUT_TORCH13};
    if (!sd || ckpt_save(argv[3], sd, &so, &err) < 0) {
        fprintf(stderr, "save: %s\n", ckpt_error_format(&err, eb, sizeof(eb)));
        goto done;
    }
    status = 0;
done:
    /* assign mode: the module points into `in`; free the module first */
    ckpt_module_free(m);
    ckpt_doc_free(out);
    ckpt_doc_free(in);
    return status;
}
