/* tests/unit/onnx/write_test.c - the ONNX writer: every model of Debian's
 * libonnx-testdata that ckpt reads is saved and read back, and the second
 * read must equal the first (opsets, inputs/outputs with their types, node
 * op types, domains, inputs/outputs and attributes, initializer bytes,
 * subgraphs recursively); a second save must give the same bytes as the
 * first.  The files are also checked by onnx.checker in
 * tests/onnx/write_check.sh. */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt/onnx.h"
#include "onnx/onnx_internal.h"
#include "util/test.h"

#define TESTDATA "/usr/share/libonnx-testdata/data"

static bool type_eq(const ox_type *a, const ox_type *b)
{
    if (a->known != b->known)
        return false;
    if (!a->known)
        return true;
    if (a->kind != b->kind || a->dtype != b->dtype || a->rank != b->rank ||
        a->optional_sequence != b->optional_sequence)
        return false;
    for (int i = 0; i < a->rank; i++) {
        if (a->dims[i] != b->dims[i])
            return false;
        if (!a->dim_params[i] != !b->dim_params[i])
            return false;
        if (a->dim_params[i] && strcmp(a->dim_params[i], b->dim_params[i]))
            return false;
    }
    return true;
}

static bool val_eq(const ox_val *a, const ox_val *b)
{
    if (a->dtype != b->dtype || a->rank != b->rank || a->numel != b->numel)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i])
            return false;
    if (a->dtype == OX_STRING) {
        for (int64_t i = 0; i < a->numel; i++)
            if (strcmp(((char **)a->data)[i], ((char **)b->data)[i]))
                return false;
        return true;
    }
    size_t n = ox_val_nbytes(a);
    return n == 0 || memcmp(a->data, b->data, n) == 0;
}

static bool graph_eq(const ox_graph *a, const ox_graph *b, char *why, size_t cap);

static bool attr_eq(const ox_attr *x, const ox_attr *y, char *why, size_t cap)
{
    if (strcmp(x->name, y->name) || x->type != y->type) {
        snprintf(why, cap, "attribute %s type %d vs %s %d", x->name, x->type, y->name, y->type);
        return false;
    }
    bool ok = true;
    switch (x->type) {
    case OX_ATTR_FLOAT: ok = memcmp(&x->f, &y->f, sizeof x->f) == 0; break;
    case OX_ATTR_INT: ok = x->i == y->i; break;
    case OX_ATTR_STRING: ok = x->s_len == y->s_len && !memcmp(x->s, y->s, x->s_len); break;
    case OX_ATTR_FLOATS:
        ok = x->n == y->n && (!x->n || !memcmp(x->floats, y->floats, x->n * sizeof(float)));
        break;
    case OX_ATTR_INTS:
        ok = x->n == y->n && (!x->n || !memcmp(x->ints, y->ints, x->n * sizeof(int64_t)));
        break;
    case OX_ATTR_STRINGS:
        ok = x->n == y->n;
        for (size_t i = 0; ok && i < x->n; i++)
            ok = x->string_lens[i] == y->string_lens[i] &&
                 !memcmp(x->strings[i], y->strings[i], x->string_lens[i]);
        break;
    case OX_ATTR_TENSOR: ok = val_eq(x->t, y->t); break;
    case OX_ATTR_TENSORS:
        ok = x->n == y->n;
        for (size_t i = 0; ok && i < x->n; i++)
            ok = val_eq(&x->tensors[i], &y->tensors[i]);
        break;
    case OX_ATTR_GRAPH: return graph_eq(x->g, y->g, why, cap);
    case OX_ATTR_GRAPHS:
        ok = x->n == y->n;
        for (size_t i = 0; ok && i < x->n; i++)
            if (!graph_eq(x->graphs[i], y->graphs[i], why, cap))
                return false;
        break;
    default: break;
    }
    if (!ok)
        snprintf(why, cap, "attribute %s differs", x->name);
    return ok;
}

static const char *vname(const ox_graph *g, int v)
{
    return v < 0 ? "" : g->values[v].name;
}

static bool graph_eq(const ox_graph *a, const ox_graph *b, char *why, size_t cap)
{
    if (a->n_nodes != b->n_nodes || a->n_inputs != b->n_inputs || a->n_outputs != b->n_outputs ||
        a->n_initializers != b->n_initializers) {
        snprintf(why, cap, "graph %s: counts differ (nodes %d/%d)", a->name, a->n_nodes,
                 b->n_nodes);
        return false;
    }
    for (int i = 0; i < a->n_inputs; i++) {
        const ox_value *x = &a->values[a->inputs[i]], *y = &b->values[b->inputs[i]];
        if (strcmp(x->name, y->name) || !type_eq(&x->type, &y->type)) {
            snprintf(why, cap, "input %s differs", x->name);
            return false;
        }
    }
    for (int i = 0; i < a->n_outputs; i++) {
        const ox_value *x = &a->values[a->outputs[i]], *y = &b->values[b->outputs[i]];
        if (strcmp(x->name, y->name) || !type_eq(&x->type, &y->type)) {
            snprintf(why, cap, "output %s differs", x->name);
            return false;
        }
    }
    for (int i = 0; i < a->n_initializers; i++) {
        const ox_value *x = &a->values[a->initializers[i]];
        int j = ox_graph_find(b, x->name);
        if (j < 0 || !b->values[j].is_initializer || !val_eq(&x->init, &b->values[j].init) ||
            x->is_input != b->values[j].is_input) {
            snprintf(why, cap, "initializer %s differs", x->name);
            return false;
        }
    }
    for (int i = 0; i < a->n_nodes; i++) {
        const ox_node *x = &a->nodes[i], *y = &b->nodes[i];
        if (strcmp(x->op_type, y->op_type) || strcmp(x->domain, y->domain) ||
            x->n_in != y->n_in || x->n_out != y->n_out || x->n_attrs != y->n_attrs ||
            (x->name[0] != '#' && strcmp(x->name, y->name))) {
            snprintf(why, cap, "node %d (%s) differs", i, x->op_type);
            return false;
        }
        for (int k = 0; k < x->n_in; k++)
            if (strcmp(vname(a, x->in[k]), vname(b, y->in[k]))) {
                snprintf(why, cap, "node %s input %d differs", x->name, k);
                return false;
            }
        for (int k = 0; k < x->n_out; k++)
            if (strcmp(vname(a, x->out[k]), vname(b, y->out[k]))) {
                snprintf(why, cap, "node %s output %d differs", x->name, k);
                return false;
            }
        for (int k = 0; k < x->n_attrs; k++)
            if (!attr_eq(&x->attrs[k], &y->attrs[k], why, cap))
                return false;
    }
    for (int i = 0; i < a->n_values; i++) {
        const ox_value *x = &a->values[i];
        if (x->outer >= 0 || x->is_initializer)
            continue;
        int j = ox_graph_find(b, x->name);
        if (j < 0 || !type_eq(&x->type, &b->values[j].type)) {
            snprintf(why, cap, "value %s type differs", x->name);
            return false;
        }
    }
    return true;
}

/* 1 round trip ok, 0 the model is not read by ckpt, -1 mismatch */
static int round_trip(const char *path, char *why, size_t cap)
{
    ckpt_error err = {0};
    ckpt_onnx_model *a = ckpt_onnx_load(path, NULL, &err);
    if (!a)
        return 0;
    void *buf1 = NULL, *buf2 = NULL;
    size_t n1 = 0, n2 = 0;
    int rc = -1;
    ckpt_onnx_model *b = NULL;
    if (ckpt_onnx_save_buffer(a, &buf1, &n1, &err) != 0) {
        snprintf(why, cap, "save: %s", err.msg);
        goto out;
    }
    b = ckpt_onnx_load_buffer(buf1, n1, "resaved", NULL, &err);
    if (!b) {
        snprintf(why, cap, "reload: %s", err.msg);
        goto out;
    }
    if (a->ir_version != b->ir_version || a->n_opsets != b->n_opsets) {
        snprintf(why, cap, "ir_version/opsets differ");
        goto out;
    }
    for (int i = 0; i < a->n_opsets; i++)
        if (strcmp(a->opsets[i].domain, b->opsets[i].domain) ||
            a->opsets[i].version != b->opsets[i].version) {
            snprintf(why, cap, "opset %d differs", i);
            goto out;
        }
    if (!graph_eq(a->graph, b->graph, why, cap))
        goto out;
    if (ckpt_onnx_save_buffer(b, &buf2, &n2, &err) != 0) {
        snprintf(why, cap, "second save: %s", err.msg);
        goto out;
    }
    if (n1 != n2 || memcmp(buf1, buf2, n1)) {
        snprintf(why, cap, "second save differs (%zu vs %zu bytes)", n1, n2);
        goto out;
    }
    rc = 1;
out:
    free(buf1);
    free(buf2);
    ckpt_onnx_model_free(a);
    ckpt_onnx_model_free(b);
    return rc;
}

static void dir_round_trip(const char *sub, int min_ok)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", TESTDATA, sub);
    SKIP_UNLESS_DIR(dir);
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    struct dirent *e;
    int ok = 0, bad = 0, unread = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024], why[512] = "";
        snprintf(path, sizeof path, "%s/%s/model.onnx", dir, e->d_name);
        if (access(path, R_OK) != 0)
            continue;
        int r = round_trip(path, why, sizeof why);
        if (r > 0)
            ok++;
        else if (r == 0)
            unread++;
        else {
            bad++;
            fprintf(stderr, "%s: %s\n", e->d_name, why);
        }
    }
    closedir(d);
    fprintf(stderr, "%s: %d round trips equal, %d not read by ckpt, %d differ\n", sub, ok, unread,
            bad);
    CHECK_EQ_INT(bad, 0);
    CHECK(ok >= min_ok);
}

TEST(test_onnx_write__round_trip_node)
{
    dir_round_trip("node", 900);
}

TEST(test_onnx_write__round_trip_pytorch)
{
    dir_round_trip("pytorch-converted", 80);
    dir_round_trip("pytorch-operator", 30);
    dir_round_trip("simple", 20);
}

TEST(test_onnx_write__save_file_atomic)
{
    const char *src = TESTDATA "/node/test_if/model.onnx";
    if (access(src, R_OK) != 0) {
        test_skip("libonnx-testdata not installed");
        return;
    }
    ckpt_error err = {0};
    ckpt_onnx_model *a = ckpt_onnx_load(src, NULL, &err);
    CHECK(a != NULL);
    char path[] = "/tmp/ckpt_onnx_write_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK_OK(ckpt_onnx_save(a, path, &err), &err);
    ckpt_onnx_model *b = ckpt_onnx_load(path, NULL, &err);
    CHECK(b != NULL);
    char why[256];
    CHECK(graph_eq(a->graph, b->graph, why, sizeof why));
    /* a folder that does not exist: an error naming the file, the old file intact */
    CHECK(ckpt_onnx_save(a, "/nonexistent-dir/x.onnx", &err) < 0);
    CHECK(strstr(ckpt_error_format(&err, why, sizeof why), "x.onnx") != NULL);
    unlink(path);
    ckpt_onnx_model_free(a);
    ckpt_onnx_model_free(b);
}

TEST_MAIN()
