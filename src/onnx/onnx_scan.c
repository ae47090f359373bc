/* src/onnx/onnx_scan.c - the protobuf nesting check and the ONNX scanner (onnx_scan.h). */
#define _XOPEN_SOURCE 700
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/scan.h"
#include "core/err.h"
#include "onnx/onnx.pb-c.h"
#include "onnx/onnx_internal.h"
#include "onnx/onnx_scan.h"

/* ------------------------------------------------------------ nesting check */

static bool rd_varint(const uint8_t *p, size_t end, size_t *pos, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned i = 0; i < 10 && *pos < end; i++) {
        uint8_t b = p[(*pos)++];
        r |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = r;
            return true;
        }
    }
    return false;
}

int ox_pb_check_depth(const void *data, size_t n, const void *descriptor, int max_depth,
                      ckpt_error *err)
{
    typedef struct {
        size_t end;
        const ProtobufCMessageDescriptor *d;
    } level;
    level st[OX_MAX_PB_DEPTH + 2];
    if (max_depth > OX_MAX_PB_DEPTH)
        max_depth = OX_MAX_PB_DEPTH;
    const uint8_t *p = data;
    int depth = 0;
    size_t pos = 0;
    st[0].end = n;
    st[0].d = descriptor;
    for (;;) {
        if (pos == st[depth].end) {
            if (depth == 0)
                return 0;
            depth--;
            continue;
        }
        size_t end = st[depth].end;
        uint64_t tag, v;
        if (!rd_varint(p, end, &pos, &tag))
            return 0; /* malformed: protobuf-c says so */
        unsigned wt = (unsigned)(tag & 7);
        uint64_t fnum = tag >> 3;
        switch (wt) {
        case 0:
            if (!rd_varint(p, end, &pos, &v))
                return 0;
            break;
        case 1:
        case 5:
            if ((wt == 1 ? 8u : 4u) > end - pos)
                return 0;
            pos += wt == 1 ? 8 : 4;
            break;
        case 2: {
            if (!rd_varint(p, end, &pos, &v) || v > end - pos)
                return 0;
            const ProtobufCFieldDescriptor *f =
                fnum <= UINT32_MAX
                    ? protobuf_c_message_descriptor_get_field(st[depth].d, (unsigned)fnum)
                    : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE && f->descriptor) {
                if (depth + 1 > max_depth)
                    return CKPT_FAIL_AT(
                        err, CKPT_E_LIMIT, CKPT_WHERE_FILE, NULL, (uint64_t)pos,
                        "protobuf messages nested deeper than %d (a %s inside "
                        "a %s at byte %zu): refused before parsing",
                        max_depth,
                        ((const ProtobufCMessageDescriptor *)f->descriptor)->short_name,
                        st[depth].d->short_name, pos);
                depth++;
                st[depth].end = pos + (size_t)v;
                st[depth].d = f->descriptor;
            } else {
                pos += (size_t)v;
            }
            break;
        }
        default: return 0;
        }
    }
}

/* ------------------------------------------------------------ scanner */

typedef struct sc {
    ox_scan_fn fn;
    void *ctx;
    const char *dir;            /* the model's folder, NULL for a buffer */
    const Onnx__ModelProto *mp; /* its model-local functions are not custom ops */
    char seen[256][160];
    int n_seen;
} sc;

static bool std_domain(const char *d)
{
    return !d || !d[0] || !strcmp(d, "ai.onnx") || !strcmp(d, "ai.onnx.ml") ||
           !strcmp(d, "ai.onnx.preview.training") || !strcmp(d, "ai.onnx.preview");
}

static void op_check(sc *s, const Onnx__NodeProto *np, const char *graph)
{
    if (std_domain(np->domain))
        return;
    /* a call of a function the model defines: its body is scanned instead */
    for (size_t i = 0; i < s->mp->n_functions; i++) {
        const Onnx__FunctionProto *f = s->mp->functions[i];
        if (f->name && f->domain && np->op_type && !strcmp(f->name, np->op_type) &&
            !strcmp(f->domain, np->domain))
            return;
    }
    char key[160];
    snprintf(key, sizeof key, "%s:%s", np->domain, np->op_type ? np->op_type : "");
    for (int i = 0; i < s->n_seen; i++)
        if (!strcmp(s->seen[i], key))
            return;
    if (s->n_seen < 256)
        snprintf(s->seen[s->n_seen++], sizeof s->seen[0], "%s", key);
    char where[300], note[200];
    snprintf(where, sizeof where, "graph '%s' node '%s'", graph ? graph : "",
             np->name ? np->name : "");
    snprintf(note, sizeof note, "custom-domain op: no ONNX standard defines what it runs");
    s->fn(s->ctx, where, np->domain, np->op_type ? np->op_type : "", CKPT_SCAN_UNKNOWN, note);
}

/* Does `loc` leave the model's folder?  Fills `why`. */
static bool escapes(const sc *s, const char *loc, char *why, size_t wn)
{
    if (!loc[0]) {
        snprintf(why, wn, "empty location");
        return true;
    }
    if (loc[0] == '/' || strchr(loc, '\\') || (loc[0] && loc[1] == ':')) {
        snprintf(why, wn, "absolute path");
        return true;
    }
    for (const char *p = loc; *p;) {
        size_t k = strcspn(p, "/");
        if (k == 2 && p[0] == '.' && p[1] == '.') {
            snprintf(why, wn, "'..' leaves the model's folder");
            return true;
        }
        p += k;
        while (*p == '/')
            p++;
    }
    if (!s->dir)
        return false;
    size_t need = strlen(s->dir) + strlen(loc) + 2;
    char *j = malloc(need);
    if (!j)
        return false;
    snprintf(j, need, "%s/%s", s->dir, loc);
    char rd[PATH_MAX], rf[PATH_MAX];
    bool out = false;
    if (realpath(s->dir, rd) && realpath(j, rf)) {
        size_t dl = strlen(rd);
        if (strcmp(rf, rd) == 0) {
            snprintf(why, wn, "names the model's folder itself, not a file in it");
            out = true;
        } else if (strncmp(rf, rd, dl) != 0 || (rf[dl] != '/' && dl > 1)) {
            snprintf(why, wn, "a symbolic link resolves outside the model's folder");
            out = true;
        }
    }
    free(j);
    return out;
}

static void tensor_check(sc *s, const Onnx__TensorProto *tp, const char *what)
{
    if (!tp || !tp->has_data_location ||
        tp->data_location != ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return;
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = tp->external_data[i];
        if (!e->key || strcmp(e->key, "location") != 0)
            continue;
        const char *loc = e->value ? e->value : "";
        char why[120], where[300];
        if (!escapes(s, loc, why, sizeof why))
            continue;
        snprintf(where, sizeof where, "%s '%s'", what, tp->name ? tp->name : "");
        s->fn(s->ctx, where, "external_data", loc, CKPT_SCAN_DANGEROUS, why);
    }
}

static void graph_scan(sc *s, const Onnx__GraphProto *g, int depth);

static void attr_scan(sc *s, const Onnx__AttributeProto *a, int depth)
{
    tensor_check(s, a->t, "attribute tensor");
    for (size_t i = 0; i < a->n_tensors; i++)
        tensor_check(s, a->tensors[i], "attribute tensor");
    if (a->g)
        graph_scan(s, a->g, depth + 1);
    for (size_t i = 0; i < a->n_graphs; i++)
        graph_scan(s, a->graphs[i], depth + 1);
}

static void graph_scan(sc *s, const Onnx__GraphProto *g, int depth)
{
    if (!g || depth > OX_MAX_SUBGRAPH_DEPTH + 1)
        return;
    for (size_t i = 0; i < g->n_initializer; i++)
        tensor_check(s, g->initializer[i], "initializer");
    for (size_t i = 0; i < g->n_sparse_initializer; i++) {
        tensor_check(s, g->sparse_initializer[i]->values, "sparse initializer");
        tensor_check(s, g->sparse_initializer[i]->indices, "sparse initializer");
    }
    for (size_t i = 0; i < g->n_node; i++) {
        op_check(s, g->node[i], g->name);
        for (size_t k = 0; k < g->node[i]->n_attribute; k++)
            attr_scan(s, g->node[i]->attribute[k], depth);
    }
}

typedef struct cap_alloc {
    size_t used, limit;
    bool hit;
} cap_alloc;

typedef struct {
    size_t size, pad;
} cap_hdr;

static void *cap_malloc(void *data, size_t size)
{
    cap_alloc *c = data;
    if (size > c->limit - c->used || size > SIZE_MAX - sizeof(cap_hdr)) {
        c->hit = true;
        return NULL;
    }
    cap_hdr *h = malloc(sizeof *h + size);
    if (!h)
        return NULL;
    h->size = size;
    c->used += size;
    return h + 1;
}

static void cap_free(void *data, void *p)
{
    cap_alloc *c = data;
    if (!p)
        return;
    cap_hdr *h = (cap_hdr *)p - 1;
    c->used -= h->size;
    free(h);
}

int ox_scan_model(const void *buf, size_t n, const char *path, ox_scan_fn fn, void *ctx,
                  ckpt_error *err)
{
    CKPT_TRY(ox_pb_check_depth(buf, n, &onnx__model_proto__descriptor, OX_MAX_PB_DEPTH, err));
    /* the reader's parse budget (onnx_read.c): 16 MiB + 32 x the file */
    cap_alloc ca = {0, SIZE_MAX, false};
    if (n < (SIZE_MAX - ((size_t)16 << 20)) / 32)
        ca.limit = ((size_t)16 << 20) + 32 * n;
    ProtobufCAllocator a = {cap_malloc, cap_free, &ca};
    Onnx__ModelProto *mp = onnx__model_proto__unpack(&a, n, buf);
    if (!mp)
        return ca.hit
                   ? CKPT_FAIL(err, CKPT_E_LIMIT,
                               "the protobuf parse needs more than the %zu-byte limit", ca.limit)
                   : CKPT_FAIL(err, CKPT_E_FORMAT, "not a valid ONNX ModelProto (protobuf)");
    sc *s = calloc(1, sizeof *s);
    char *dir = NULL;
    if (!s) {
        onnx__model_proto__free_unpacked(mp, &a);
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    s->fn = fn;
    s->ctx = ctx;
    s->mp = mp;
    if (path && path[0]) {
        dir = malloc(strlen(path) + 2);
        if (dir) {
            strcpy(dir, path);
            char *slash = strrchr(dir, '/');
            if (!slash)
                strcpy(dir, ".");
            else if (slash == dir)
                slash[1] = 0;
            else
                *slash = 0;
        }
        s->dir = dir;
    }
    graph_scan(s, mp->graph, 0);
    for (size_t i = 0; i < mp->n_functions; i++) {
        const Onnx__FunctionProto *f = mp->functions[i];
        for (size_t k = 0; k < f->n_node; k++) {
            op_check(s, f->node[k], f->name);
            for (size_t j = 0; j < f->node[k]->n_attribute; j++)
                attr_scan(s, f->node[k]->attribute[j], 0);
        }
    }
    free(dir);
    free(s);
    onnx__model_proto__free_unpacked(mp, &a);
    return 0;
}
