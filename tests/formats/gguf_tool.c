/* tests/formats/gguf_tool.c - drives ckpt's GGUF reader and writer for
 * gguf_check.py (numpy is the oracle there) and gguf_js_check.mjs.
 *
 *   gguf_tool dump IN.gguf OUT.npz [deq] [mmap|lazy]
 *       load; write the tensors as .npz (numpy reads them) and print a JSON
 *       description: version, kv (values), kv_types, tensors (name, ggml type,
 *       torch shape, dtype) in file order
 *   gguf_tool roundtrip IN.gguf OUT.gguf    load (copy) and save with its metadata
 *   gguf_tool fromnpz IN.npz OUT.gguf [name=TYPE ...] [align=N]
 *       save the .npz tensors as GGUF, quantizing the named tensors, with a
 *       fixed set of metadata values of every kind (general.name, ints,
 *       floats, bools, string arrays, a nested array)
 *   gguf_tool err IN.gguf    load; print the error (exit 0 when the load fails)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "ckpt/formats.h"

static void json_str(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void json_val(const ckpt_obj *v)
{
    size_t n;
    const char *s;
    switch (ckpt_obj_type(v)) {
    case CKPT_T_BOOL: printf(ckpt_obj_bool(v) ? "true" : "false"); break;
    case CKPT_T_INT: printf("%lld", (long long)ckpt_obj_int(v)); break;
    case CKPT_T_FLOAT: printf("%.17g", ckpt_obj_float(v)); break;
    case CKPT_T_STR:
    case CKPT_T_BYTES:
        s = ckpt_obj_str(v, &n);
        json_str(s, n);
        break;
    case CKPT_T_LIST:
        putchar('[');
        for (size_t i = 0; i < ckpt_obj_len(v); i++) {
            if (i)
                putchar(',');
            json_val(ckpt_obj_item(v, i));
        }
        putchar(']');
        break;
    default: printf("null");
    }
}

static void json_dict(const ckpt_obj *d)
{
    putchar('{');
    for (size_t i = 0; d && i < ckpt_obj_len(d); i++) {
        size_t n;
        const char *k = ckpt_obj_str(ckpt_dict_key(d, i), &n);
        if (i)
            putchar(',');
        json_str(k, n);
        putchar(':');
        json_val(ckpt_dict_value(d, i));
    }
    putchar('}');
}

static int fail(const char *what, const ckpt_error *err)
{
    char b[1024];
    fprintf(stderr, "gguf_tool: %s: %s\n", what, ckpt_error_format(err, b, sizeof(b)));
    return 1;
}

static int dump(int argc, char **argv)
{
    bool deq = false;
    int mode = CKPT_LOAD_COPY;
    for (int i = 4; i < argc; i++) {
        deq |= strcmp(argv[i], "deq") == 0;
        if (strcmp(argv[i], "mmap") == 0)
            mode = CKPT_LOAD_MMAP;
        if (strcmp(argv[i], "lazy") == 0)
            mode = CKPT_LOAD_LAZY;
    }
    ckpt_error err;
    ckpt_doc *doc = ckpt_gguf_load(argv[2], mode, deq, NULL, &err);
    if (!doc)
        return fail("load", &err);
    const ckpt_obj *root = ckpt_doc_root(doc), *meta = ckpt_doc_metadata(doc);
    if (mode == CKPT_LOAD_LAZY)
        for (size_t i = 0; i < ckpt_obj_len(root); i++)
            if (!ckpt_tensor_data_load(doc, ckpt_dict_value(root, i), &err))
                return fail("lazy read", &err);
    /* numpy has no bfloat16: those tensors stay out of the .npz */
    ckpt_obj *npz = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    for (size_t i = 0; i < ckpt_obj_len(root); i++) {
        ckpt_tensor_info ti;
        ckpt_tensor_get_info(ckpt_dict_value(root, i), &ti);
        if (ti.dtype != CKPT_BF16)
            ckpt_dict_set(doc, npz, (ckpt_obj *)(uintptr_t)ckpt_dict_key(root, i),
                          (ckpt_obj *)(uintptr_t)ckpt_dict_value(root, i), NULL);
    }
    if (ckpt_npz_save(argv[3], npz, &err) < 0)
        return fail("npz", &err);
    printf("{\"version\":%lld,\"kv\":",
           (long long)ckpt_obj_int(ckpt_dict_get(meta, "gguf.version")));
    json_dict(ckpt_dict_get(meta, "gguf.kv"));
    printf(",\"kv_types\":");
    json_dict(ckpt_dict_get(meta, "gguf.kv_types"));
    printf(",\"tensors\":[");
    const ckpt_obj *tt = ckpt_dict_get(meta, "gguf.tensor_types");
    for (size_t i = 0; i < ckpt_obj_len(root); i++) {
        const char *name = ckpt_obj_str(ckpt_dict_key(root, i), NULL);
        ckpt_tensor_info ti;
        ckpt_tensor_get_info(ckpt_dict_value(root, i), &ti);
        printf("%s{\"name\":", i ? "," : "");
        json_str(name, strlen(name));
        printf(",\"type\":\"%s\",\"dtype\":\"%s\",\"shape\":[",
               ckpt_obj_str(ckpt_dict_get(tt, name), NULL), ckpt_dtype_name(ti.dtype));
        for (int j = 0; j < ti.ndim; j++)
            printf("%s%lld", j ? "," : "", (long long)ti.shape[j]);
        printf("]}");
    }
    printf("]}\n");
    ckpt_doc_free(doc);
    return 0;
}

static int roundtrip(char **argv)
{
    ckpt_error err;
    ckpt_doc *doc = ckpt_gguf_load(argv[2], CKPT_LOAD_MMAP, false, NULL, &err);
    if (!doc)
        return fail("load", &err);
    ckpt_gguf_save_opts o = {ckpt_doc_metadata(doc), 0, true};
    int rc = ckpt_gguf_save(argv[3], ckpt_doc_root(doc), &o, &err);
    ckpt_doc_free(doc);
    return rc < 0 ? fail("save", &err) : 0;
}

static ckpt_obj *list_of(ckpt_doc *d, ckpt_obj **items, size_t n)
{
    ckpt_obj *l = ckpt_list_new(d);
    for (size_t i = 0; i < n; i++)
        ckpt_list_append(d, l, items[i], NULL);
    return l;
}

static int fromnpz(int argc, char **argv)
{
    ckpt_error err;
    ckpt_doc *in = ckpt_numpy_load(argv[2], NULL, &err);
    if (!in)
        return fail("npz", &err);
    ckpt_doc *d = in; /* build the metadata in the same document */
    ckpt_obj *meta = ckpt_dict_new(d, CKPT_DICT_ORDERED),
             *kv = ckpt_dict_new(d, CKPT_DICT_ORDERED);
    ckpt_obj *kvt = ckpt_dict_new(d, CKPT_DICT_PLAIN), *tt = ckpt_dict_new(d, CKPT_DICT_PLAIN);
    uint32_t align = 0;
    for (int i = 4; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq)
            continue;
        *eq = '\0';
        if (strcmp(argv[i], "align") == 0)
            align = (uint32_t)strtoul(eq + 1, NULL, 10);
        else
            ckpt_dict_set_str(d, tt, argv[i], ckpt_str_new(d, eq + 1), NULL);
    }
    ckpt_dict_set_str(d, kv, "general.architecture", ckpt_str_new(d, "llama"), NULL);
    ckpt_dict_set_str(d, kv, "general.name", ckpt_str_new(d, "ckpt \"test\" \xc3\xa9"), NULL);
    ckpt_dict_set_str(d, kv, "test.u8", ckpt_int_new(d, 200), NULL);
    ckpt_dict_set_str(d, kvt, "test.u8", ckpt_str_new(d, "uint8"), NULL);
    ckpt_dict_set_str(d, kv, "test.i8", ckpt_int_new(d, -100), NULL);
    ckpt_dict_set_str(d, kvt, "test.i8", ckpt_str_new(d, "int8"), NULL);
    ckpt_dict_set_str(d, kv, "test.u16", ckpt_int_new(d, 60000), NULL);
    ckpt_dict_set_str(d, kvt, "test.u16", ckpt_str_new(d, "uint16"), NULL);
    ckpt_dict_set_str(d, kv, "test.i16", ckpt_int_new(d, -30000), NULL);
    ckpt_dict_set_str(d, kvt, "test.i16", ckpt_str_new(d, "int16"), NULL);
    ckpt_dict_set_str(d, kv, "test.u32", ckpt_int_new(d, 4000000000LL), NULL);
    ckpt_dict_set_str(d, kvt, "test.u32", ckpt_str_new(d, "uint32"), NULL);
    ckpt_dict_set_str(d, kv, "test.i32", ckpt_int_new(d, -2000000000LL), NULL);
    ckpt_dict_set_str(d, kv, "test.u64", ckpt_int_new(d, 1LL << 40), NULL);
    ckpt_dict_set_str(d, kvt, "test.u64", ckpt_str_new(d, "uint64"), NULL);
    ckpt_dict_set_str(d, kv, "test.i64", ckpt_int_new(d, -(1LL << 50)), NULL);
    ckpt_dict_set_str(d, kv, "test.f32", ckpt_float_new(d, 0.25), NULL);
    ckpt_dict_set_str(d, kv, "test.f64", ckpt_float_new(d, 0.1), NULL);
    ckpt_dict_set_str(d, kv, "test.bool", ckpt_bool_new(d, true), NULL);
    ckpt_obj *toks[] = {ckpt_str_new(d, "<s>"), ckpt_str_new(d, "</s>"),
                        ckpt_str_new(d, "hello")};
    ckpt_dict_set_str(d, kv, "tokenizer.ggml.tokens", list_of(d, toks, 3), NULL);
    ckpt_obj *sc[] = {ckpt_float_new(d, 0.0), ckpt_float_new(d, -1.5), ckpt_float_new(d, 2.0)};
    ckpt_dict_set_str(d, kv, "tokenizer.ggml.scores", list_of(d, sc, 3), NULL);
    ckpt_obj *in1[] = {ckpt_int_new(d, 1), ckpt_int_new(d, 2)};
    ckpt_obj *in2[] = {ckpt_int_new(d, 3)};
    ckpt_obj *outer[] = {list_of(d, in1, 2), list_of(d, in2, 1)};
    ckpt_dict_set_str(d, kv, "test.nested", list_of(d, outer, 2), NULL);
    ckpt_dict_set_str(d, kv, "test.empty", ckpt_list_new(d), NULL);
    ckpt_dict_set_str(d, kvt, "test.empty", ckpt_str_new(d, "array[uint16]"), NULL);
    ckpt_dict_set_str(d, meta, "gguf.kv", kv, NULL);
    ckpt_dict_set_str(d, meta, "gguf.kv_types", kvt, NULL);
    ckpt_dict_set_str(d, meta, "gguf.tensor_types", tt, NULL);
    ckpt_gguf_save_opts o = {meta, align, true};
    int rc = ckpt_gguf_save(argv[3], ckpt_doc_root(in), &o, &err);
    ckpt_doc_free(in);
    return rc < 0 ? fail("save", &err) : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "dump") == 0)
        return dump(argc, argv);
    if (argc == 4 && strcmp(argv[1], "roundtrip") == 0)
        return roundtrip(argv);
    if (argc >= 4 && strcmp(argv[1], "fromnpz") == 0)
        return fromnpz(argc, argv);
    if (argc == 3 && strcmp(argv[1], "err") == 0) {
        ckpt_error err;
        ckpt_doc *doc = ckpt_gguf_load(argv[2], CKPT_LOAD_COPY, true, NULL, &err);
        if (doc) {
            ckpt_doc_free(doc);
            printf("OK\n");
            return 1;
        }
        char b[1024];
        printf("%s\n", ckpt_error_format(&err, b, sizeof(b)));
        return 0;
    }
    fprintf(stderr, "usage: gguf_tool dump|roundtrip|fromnpz|err ...\n");
    return 2;
}
