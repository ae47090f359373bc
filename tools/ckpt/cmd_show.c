/* tools/ckpt/cmd_show.c - `ckpt show`: the object tree, indented, with values. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_jit.h"
#include "cli_onnx.h"
#include "cli_util.h"

static const char help[] =
    "usage: ckpt show FILE [KEY] [--depth N] [--width N] [--allow MODULE.NAME]... [--full]\n"
    "       ckpt show MODEL.onnx [--json]\n"
    "       ckpt show MODEL.pt [--code] [--raw]\n"
    "\n"
    "Print the whole object a checkpoint holds, or the sub-object at KEY, as an indented\n"
    "tree: one line per value, children indented under their container.\n"
    "\n"
    "  dict, OrderedDict, Counter, list, tuple, set\n"
    "                   the kind and the number of items, then the items\n"
    "  scalars          int, float, bool, None, complex as Python prints them; str and\n"
    "                   bytes quoted (long ones cut with '…')\n"
    "  tensors          dtype, shape, device, and Parameter, requires_grad, strides of\n"
    "                   non-contiguous views, quantized; tensors of at most 16 elements\n"
    "                   also show their values, formatted approximately as torch prints\n"
    "                   them (4 decimals, or scientific notation for wide ranges)\n"
    "  param_groups     an optimizer's groups, one line each with its hyperparameters\n"
    "  _metadata        an OrderedDict state dict's per-module versions, on one line\n"
    "  objects          class and construction (data-only loads; nothing is executed),\n"
    "                   then their state\n"
    "\n"
    "KEY is a key path as 'ckpt ls' prints it (model.fc1.weight, optimizer.state.0): at\n"
    "each dict the longest dotted prefix that is a key wins; list indices and int keys are\n"
    "decimal.\n"
    "\n"
    "  --depth N   expand containers down to N levels (default 8); deeper ones are\n"
    "              summarised with '…'\n"
    "  --width N   show at most N items of a container (default 64), then '… M more'\n"
    "  --allow MODULE.NAME, --full   as for 'ckpt ls'\n"
    "\n"
    "A model the jit layer reads (TorchScript or lite archive, .pt2 archive, full-model\n"
    "pickle) without KEY is printed as its module tree: each module's class, training\n"
    "flag, parameters, buffers, tensor and other attributes, submodules, then its class's\n"
    "methods with their signatures and source ranges (--code: their source too).  --raw\n"
    "prints the pickled objects instead, as for other files.\n"
    "\n"
    "An ONNX model (.onnx) without KEY is summarised instead: IR version, producer, opset\n"
    "imports, graph inputs and outputs (dtype, shape, symbolic dimensions by name, ? for an\n"
    "unnamed dynamic one), initializer count and bytes, and the op histogram (subgraphs\n"
    "included; ops no kernel of ckpt runs are marked).  --json prints it as one object.\n"
    "With KEY, the initializer of that name is shown as a tensor.\n"
    "\n"
    "Exit status: 0 shown, 2 the file could not be read or KEY is not there.\n";

typedef struct show_ctx {
    int max_depth;
    size_t width;
} show_ctx;

static void indent(int n)
{
    for (int i = 0; i < n; i++)
        fputs("  ", stdout);
}

/* ------------------------------------------------------------ tensor values */

typedef struct vfmt {
    int kind; /* 0 float, 1 int, 2 bool, 3 complex */
    bool sci, int_mode;
    int width;
} vfmt;

static void fmt_one(const vfmt *f, double re, double im, char *buf, size_t n)
{
    if (f->kind == 2) {
        snprintf(buf, n, "%s", re != 0 ? "True" : "False");
    } else if (f->kind == 1) {
        snprintf(buf, n, "%.0f", re);
    } else if (f->kind == 3) {
        snprintf(buf, n, "%.4f%+.4fj", re, im);
    } else if (isnan(re)) {
        snprintf(buf, n, "nan");
    } else if (isinf(re)) {
        snprintf(buf, n, "%sinf", re < 0 ? "-" : "");
    } else if (f->sci) {
        snprintf(buf, n, "%.4e", re);
    } else if (f->int_mode) {
        snprintf(buf, n, "%.0f.", re);
    } else {
        snprintf(buf, n, "%.4f", re);
    }
}

typedef struct vprint {
    const ckpt_tensor_info *ti;
    const unsigned char *data;
    size_t es;
    vfmt f;
    int col; /* column of the opening bracket */
} vprint;

static void print_dim(const vprint *v, int d, int64_t off)
{
    const ckpt_tensor_info *ti = v->ti;
    if (d == ti->ndim) {
        double re, im;
        char buf[64];
        cli_elem(v->data + (size_t)off * v->es, ti->dtype, &re, &im);
        fmt_one(&v->f, re, im, buf, sizeof(buf));
        printf("%*s", v->f.width, buf);
        return;
    }
    putchar('[');
    for (int64_t i = 0; i < ti->shape[d]; i++) {
        if (i) {
            if (d == ti->ndim - 1) {
                fputs(", ", stdout);
            } else {
                putchar(',');
                for (int k = d; k < ti->ndim - 2; k++)
                    putchar('\n');
                putchar('\n');
                printf("%*s", v->col + d + 1, "");
            }
        }
        print_dim(v, d + 1, off + i * ti->stride[d]);
    }
    putchar(']');
}

/* Values of a small tensor, on lines starting at column `col`. */
static void print_values(const ckpt_obj *t, const ckpt_tensor_info *ti, int col)
{
    const unsigned char *data = ckpt_tensor_data(t);
    vprint v = {ti, data, ckpt_dtype_size(ti->dtype), {0, false, false, 0}, col};
    v.f.kind = ti->dtype == CKPT_BOOL              ? 2
               : cli_dtype_complex(ti->dtype)      ? 3
               : ckpt_dtype_is_floating(ti->dtype) ? 0
                                                   : 1;
    if (v.f.kind == 0) {
        double mx = 0, mn = (double)INFINITY;
        bool all_int = true;
        cli_iter it;
        int64_t off;
        cli_iter_init(&it, ti);
        while (cli_iter_next(&it, &off)) {
            double re, im;
            cli_elem(data + (size_t)off * v.es, ti->dtype, &re, &im);
            if (!isfinite(re))
                continue;
            if (re != floor(re))
                all_int = false;
            double a = fabs(re);
            if (a == 0)
                continue;
            mx = a > mx ? a : mx;
            mn = a < mn ? a : mn;
        }
        v.f.int_mode = all_int;
        if (mx > 0) {
            if (all_int)
                v.f.sci = mx / mn > 1000.0 || mx > 1e8;
            else
                v.f.sci = mx / mn > 1000.0 || mx > 1e8 || mn < 1e-4;
        }
    }
    /* common width, as torch pads every element to the widest */
    cli_iter it;
    int64_t off;
    cli_iter_init(&it, ti);
    while (cli_iter_next(&it, &off)) {
        double re, im;
        char buf[64];
        cli_elem(data + (size_t)off * v.es, ti->dtype, &re, &im);
        fmt_one(&v.f, re, im, buf, sizeof(buf));
        int w = (int)strlen(buf);
        v.f.width = w > v.f.width ? w : v.f.width;
    }
    print_dim(&v, 0, 0);
}

static void print_tensor(const show_ctx *c, const ckpt_obj *t, int depth)
{
    (void)c;
    ckpt_tensor_info ti;
    if (ckpt_tensor_get_info(t, &ti) < 0) {
        puts("tensor ?");
        return;
    }
    printf("tensor %s [", ckpt_dtype_name(ti.dtype) ? ckpt_dtype_name(ti.dtype) : "?");
    for (int i = 0; i < ti.ndim; i++)
        printf("%s%" PRId64, i ? ", " : "", ti.shape[i]);
    printf("] %s", ti.device ? ti.device : "?");
    if (ti.is_parameter)
        fputs(", Parameter", stdout);
    if (ti.requires_grad)
        fputs(", requires_grad", stdout);
    if (ti.quantized)
        fputs(", quantized", stdout);
    if (!ti.contiguous || ti.storage_offset) {
        fputs(", stride [", stdout);
        for (int i = 0; i < ti.ndim; i++)
            printf("%s%" PRId64, i ? ", " : "", ti.stride[i]);
        printf("] offset %" PRId64, ti.storage_offset);
    }
    bool values = ti.numel > 0 && ti.numel <= 16 && !ti.quantized &&
                  (cli_dtype_numeric(ti.dtype) || ti.dtype == CKPT_BOOL) &&
                  ckpt_tensor_data(t) != NULL;
    if (!values) {
        putchar('\n');
        return;
    }
    if (ti.ndim <= 1) {
        fputs(" = ", stdout);
        print_values(t, &ti, 0);
        putchar('\n');
        return;
    }
    putchar('\n');
    indent(depth + 1);
    print_values(t, &ti, 2 * (depth + 1));
    putchar('\n');
}

/* ------------------------------------------------------------------- tree */

static void show(const show_ctx *c, const ckpt_obj *o, int depth);

/* "params=[0..7]" for consecutive ints, else the first few */
static void print_params(const ckpt_obj *l)
{
    size_t n = ckpt_obj_len(l);
    bool consecutive = n > 1;
    for (size_t i = 0; i < n && consecutive; i++) {
        const ckpt_obj *x = ckpt_obj_item(l, i);
        consecutive = ckpt_obj_type(x) == CKPT_T_INT &&
                      ckpt_obj_int(x) == ckpt_obj_int(ckpt_obj_item(l, 0)) + (int64_t)i;
    }
    if (consecutive) {
        printf("[%" PRId64 "..%" PRId64 "] (%zu)", ckpt_obj_int(ckpt_obj_item(l, 0)),
               ckpt_obj_int(ckpt_obj_item(l, n - 1)), n);
        return;
    }
    putchar('[');
    for (size_t i = 0; i < n && i < 8; i++) {
        char buf[64];
        cli_value_text(ckpt_obj_item(l, i), buf, sizeof(buf));
        printf("%s%s", i ? ", " : "", buf);
    }
    printf("%s]", n > 8 ? ", \xe2\x80\xa6" : "");
    if (n > 8)
        printf(" (%zu)", n);
}

static bool is_scalarish(const ckpt_obj *o)
{
    int t = ckpt_obj_type(o);
    if (t == CKPT_T_TUPLE) {
        for (size_t i = 0; i < ckpt_obj_len(o); i++)
            if (!is_scalarish(ckpt_obj_item(o, i)))
                return false;
        return ckpt_obj_len(o) <= 8;
    }
    return t != CKPT_T_DICT && t != CKPT_T_LIST && t != CKPT_T_SET && t != CKPT_T_TENSOR &&
           t != CKPT_T_OBJECT && t != CKPT_T_STORAGE;
}

static bool is_param_groups(const ckpt_obj *key, const ckpt_obj *v)
{
    if (ckpt_obj_type(key) != CKPT_T_STR ||
        strcmp(ckpt_obj_str(key, NULL), "param_groups") != 0 || ckpt_obj_type(v) != CKPT_T_LIST)
        return false;
    for (size_t i = 0; i < ckpt_obj_len(v); i++)
        if (ckpt_obj_type(ckpt_obj_item(v, i)) != CKPT_T_DICT)
            return false;
    return true;
}

static void show_param_groups(const show_ctx *c, const ckpt_obj *l, int depth)
{
    size_t n = ckpt_obj_len(l);
    printf("list, %zu group%s\n", n, n == 1 ? "" : "s");
    for (size_t g = 0; g < n && g < c->width; g++) {
        const ckpt_obj *d = ckpt_obj_item(l, g);
        indent(depth + 1);
        printf("[%zu]", g);
        for (size_t i = 0; i < ckpt_obj_len(d); i++) {
            char k[256], v[256];
            const ckpt_obj *val = ckpt_dict_value(d, i);
            cli_key_text(ckpt_dict_key(d, i), k, sizeof(k));
            printf(" %s=", k);
            if (ckpt_obj_type(val) == CKPT_T_LIST)
                print_params(val);
            else if (is_scalarish(val)) {
                cli_value_text(val, v, sizeof(v));
                fputs(v, stdout);
            } else
                printf("<%s>", cli_kind_name(val));
        }
        putchar('\n');
    }
    if (n > c->width) {
        indent(depth + 1);
        printf("\xe2\x80\xa6 %zu more\n", n - c->width);
    }
}

/* _metadata: "'' v1, '0' v1, ..." */
static void show_metadata(const show_ctx *c, const ckpt_obj *attrs, int depth)
{
    for (size_t a = 0; a < ckpt_obj_len(attrs); a++) {
        const ckpt_obj *k = ckpt_dict_key(attrs, a), *m = ckpt_dict_value(attrs, a);
        char kt[256];
        cli_key_text(k, kt, sizeof(kt));
        indent(depth + 1);
        if (strcmp(kt, "_metadata") != 0 || ckpt_obj_type(m) != CKPT_T_DICT) {
            printf("%s (attribute): ", kt);
            show(c, m, depth + 1);
            continue;
        }
        size_t n = ckpt_obj_len(m);
        printf("_metadata: %zu module%s:", n, n == 1 ? "" : "s");
        for (size_t i = 0; i < n && i < c->width; i++) {
            char name[300], v[256];
            cli_value_text(ckpt_dict_key(m, i), name, sizeof(name));
            const ckpt_obj *e = ckpt_dict_value(m, i);
            const ckpt_obj *ver = ckpt_obj_type(e) == CKPT_T_DICT ? ckpt_dict_get(e, "version")
                                                                  : NULL;
            if (ver && ckpt_obj_len(e) == 1 && ckpt_obj_type(ver) == CKPT_T_INT)
                printf("%s %s v%" PRId64, i ? "," : "", name, ckpt_obj_int(ver));
            else {
                cli_value_text(e, v, sizeof(v));
                printf("%s %s %s", i ? "," : "", name,
                       ckpt_obj_type(e) == CKPT_T_DICT ? cli_kind_name(e) : v);
            }
        }
        if (n > c->width)
            printf(", \xe2\x80\xa6 %zu more", n - c->width);
        putchar('\n');
    }
}

static void show_children(const show_ctx *c, const ckpt_obj *o, int depth)
{
    int t = ckpt_obj_type(o);
    size_t n = ckpt_obj_len(o);
    for (size_t i = 0; i < n && i < c->width; i++) {
        indent(depth + 1);
        const ckpt_obj *v;
        if (t == CKPT_T_DICT) {
            char k[1024];
            cli_key_text(ckpt_dict_key(o, i), k, sizeof(k));
            v = ckpt_dict_value(o, i);
            printf("%s: ", ckpt_obj_type(ckpt_dict_key(o, i)) == CKPT_T_STR && !k[0] ? "''" : k);
            if (is_param_groups(ckpt_dict_key(o, i), v)) {
                show_param_groups(c, v, depth + 1);
                continue;
            }
        } else {
            v = ckpt_obj_item(o, i);
            printf("[%zu] ", i);
        }
        show(c, v, depth + 1);
    }
    if (n > c->width) {
        indent(depth + 1);
        printf("\xe2\x80\xa6 %zu more\n", n - c->width);
    }
}

static void show(const show_ctx *c, const ckpt_obj *o, int depth)
{
    int t = ckpt_obj_type(o);
    char buf[512];
    switch (t) {
    case CKPT_T_DICT:
    case CKPT_T_LIST:
    case CKPT_T_SET:
    case CKPT_T_TUPLE: {
        size_t n = ckpt_obj_len(o);
        if (t == CKPT_T_TUPLE && n > 0 && n <= 8 && is_scalarish(o)) {
            cli_value_text(o, buf, sizeof(buf));
            printf("tuple %s\n", buf);
            return;
        }
        printf("%s, %zu item%s", cli_kind_name(o), n, n == 1 ? "" : "s");
        if (depth >= c->max_depth && n > 0) {
            puts(" \xe2\x80\xa6");
            return;
        }
        putchar('\n');
        if (t == CKPT_T_DICT && ckpt_dict_attrs(o))
            show_metadata(c, ckpt_dict_attrs(o), depth);
        show_children(c, o, depth);
        return;
    }
    case CKPT_T_TENSOR: print_tensor(c, o, depth); return;
    case CKPT_T_STORAGE: {
        ckpt_storage_info si;
        ckpt_storage_get_info(ckpt_obj_storage(o), &si);
        printf("storage %s, %" PRIu64 " bytes, %s\n",
               si.untyped ? "untyped" : ckpt_dtype_name(si.dtype), si.nbytes,
               si.location ? si.location : "?");
        return;
    }
    case CKPT_T_OBJECT: {
        printf("object %s.%s (%s)", ckpt_global_module(o), ckpt_global_name(o),
               ckpt_object_how(o) ? ckpt_object_how(o) : "?");
        if (depth >= c->max_depth) {
            puts(" \xe2\x80\xa6");
            return;
        }
        putchar('\n');
        const ckpt_obj *parts[3] = {ckpt_object_args(o), ckpt_object_state(o),
                                    ckpt_object_items(o)};
        const char *names[3] = {"args", "state", "items"};
        for (int i = 0; i < 3; i++) {
            if (!parts[i])
                continue;
            indent(depth + 1);
            printf("(%s) ", names[i]);
            show(c, parts[i], depth + 1);
        }
        return;
    }
    case CKPT_T_GLOBAL:
        printf("global %s.%s\n", ckpt_global_module(o), ckpt_global_name(o));
        return;
    default:
        cli_value_text(o, buf, 200);
        printf("%s %s\n",
               t == CKPT_T_SIZE || t == CKPT_T_DTYPE || t == CKPT_T_DEVICE ? "torch"
                                                                           : ckpt_type_name(t),
               buf);
        return;
    }
}

static int parse_count(const char *opt, const char *v, long *out)
{
    char *end;
    long x = strtol(v, &end, 10);
    if (!*v || *end || x < 0 || x > 1000000) {
        fprintf(stderr, "ckpt show: %s needs a count, not '%s'\n", opt, v);
        return -1;
    }
    *out = x;
    return 0;
}

int cmd_show(int argc, char **argv)
{
    cli_load lo;
    memset(&lo, 0, sizeof(lo));
    show_ctx c = {8, 64};
    const char *path = NULL, *key = NULL;
    bool json = false, raw = false, code = false;
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
        long v;
        if (strcmp(argv[i], "--json") == 0) {
            json = true; /* ONNX models */
            continue;
        }
        if (strcmp(argv[i], "--raw") == 0 || strcmp(argv[i], "--code") == 0) {
            raw = raw || argv[i][2] == 'r';
            code = code || argv[i][2] == 'c';
            continue;
        }
        if ((strcmp(argv[i], "--depth") == 0 || strcmp(argv[i], "--width") == 0)) {
            if (i + 1 >= argc) {
                fprintf(stderr, "ckpt show: %s needs a value\n", argv[i]);
                return EXIT_ERROR;
            }
            if (parse_count(argv[i], argv[i + 1], &v) < 0)
                return EXIT_ERROR;
            if (argv[i][2] == 'd')
                c.max_depth = (int)v;
            else
                c.width = (size_t)v;
            i++;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "ckpt show: unknown option %s\n\n%s", argv[i], help);
            return EXIT_ERROR;
        } else if (!path) {
            path = argv[i];
        } else if (!key) {
            key = argv[i];
        } else {
            fprintf(stderr, "ckpt show: too many arguments\n");
            return EXIT_ERROR;
        }
    }
    if (!path) {
        fputs(help, stderr);
        return EXIT_ERROR;
    }
    if (!key && cli_onnx_file(path))
        return cli_onnx_show(path, json);
    if (json) {
        fprintf(stderr, "ckpt show: --json is for ONNX models (the model summary)\n");
        return EXIT_ERROR;
    }
    ckpt_error err = {0}; /* h-pt2: the reader saw garbage codes */
    if (!key && !raw && cli_jit_file(path)) {
        ckpt_jit_model *m = ckpt_jit_load(path, NULL, &err);
        if (!m) {
            cli_print_error("show", &err);
            return EXIT_ERROR;
        }
        int jr = cli_jit_show(m, code);
        ckpt_jit_free(m);
        return jr;
    }
    ckpt_doc *doc = cli_load_doc(path, &lo, CKPT_LOAD_MMAP, true, !lo.map_location, &err);
    if (!doc) {
        cli_print_error("show", &err);
        return EXIT_ERROR;
    }
    if (!key && !raw && cli_jit_module_doc(doc)) { /* torch.save(model), when read */
        ckpt_jit_model *m = ckpt_jit_load(path, NULL, NULL);
        if (m) {
            ckpt_doc_free(doc);
            int jr = cli_jit_show(m, code);
            ckpt_jit_free(m);
            return jr;
        }
    }
    const ckpt_obj *o = ckpt_doc_root(doc);
    if (key) {
        char why[512];
        o = cli_resolve(o, key, NULL, NULL, why, sizeof(why));
        if (!o) {
            fprintf(stderr, "ckpt show: %s: %s\n", path, why);
            ckpt_doc_free(doc);
            return EXIT_ERROR;
        }
        printf("%s: ", key);
    }
    show(&c, o, 0);
    /* the format's own metadata (safetensors __metadata__, GGUF key/values,
     * a shard index's metadata), after the tree */
    const ckpt_obj *meta = ckpt_doc_metadata(doc);
    if (!key && meta) {
        printf("format metadata: ");
        show(&c, meta, 0);
    }
    ckpt_doc_free(doc);
    return EXIT_OK;
}
