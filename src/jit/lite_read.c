/*
 * src/jit/lite_read.c - read bytecode.pkl of a lite-interpreter archive
 * (torch.jit._save_for_lite_interpreter) into m->lite, bytecode versions 4-8.
 *
 * bytecode.pkl is a tuple (version, fn, fn, ...); each fn is
 *   (qualname, (("instructions", ((OPNAME, X, N), ...)),
 *               ("operators", ((name, overload[, num_specified_args]), ...)),
 *               ("constants", (...)), ("types", (str, ...)),
 *               ("register_size", int))
 *    [, (("arguments", (arg, ...)), ("returns", (arg, ...)))])
 * with arg = (("name", str), ("type", str), ("default_value", v)).
 * num_specified_args appears from version 6; the schema from version 5
 * (parse_bytecode.cpp, export_module.cpp).  Every index an instruction
 * carries is checked here, once, against the tables it indexes.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/torch.h"
#include "core/err.h"
#include "jit/lite_internal.h"

static const char *const opnames[LITE_N_OPCODES] = {"OP",
                                                    "OPN",
                                                    "LOAD",
                                                    "LOADC",
                                                    "MOVE",
                                                    "STORE",
                                                    "STOREN",
                                                    "DROP",
                                                    "DROPR",
                                                    "JF",
                                                    "JMP",
                                                    "LOOP",
                                                    "RET",
                                                    "CALL",
                                                    "INTERFACE_CALL",
                                                    "GET_ATTR",
                                                    "SET_ATTR",
                                                    "LIST_UNPACK",
                                                    "TUPLE_CONSTRUCT",
                                                    "NAMED_TUPLE_CONSTRUCT",
                                                    "LIST_CONSTRUCT",
                                                    "DICT_CONSTRUCT",
                                                    "CREATE_OBJECT",
                                                    "ISINSTANCE",
                                                    "TUPLE_SLICE",
                                                    "TUPLE_INDEX",
                                                    "RAISE_EXCEPTION",
                                                    "DICT_INDEX",
                                                    "UNCHECKED_CAST",
                                                    "__IS__",
                                                    "UN_INITIALIZED",
                                                    "__ISNOT__",
                                                    "FORMAT",
                                                    "DEVICE",
                                                    "DTYPE",
                                                    "DIM",
                                                    "__NOT__",
                                                    "TO_LIST",
                                                    "NUM_TO_TENSOR",
                                                    "IS_CUDA",
                                                    "WARN",
                                                    "ENTER",
                                                    "EXIT"};

int lite_opcode(const char *name)
{
    for (int i = 0; i < LITE_N_OPCODES; i++)
        if (strcmp(opnames[i], name) == 0)
            return i;
    return -1;
}

const char *lite_opcode_name(int op)
{
    return op >= 0 && op < LITE_N_OPCODES ? opnames[op] : "?";
}

/* ------------------------------------------------------------ schema table */

typedef struct schema_row {
    const char *name, *overload;
    int n_ret;
    const char *args;
} schema_row;

static const schema_row schemas[] = {
#include "jit/lite_schemas.inc"
};

const char *lite_schema(const char *name, const char *overload, int *n_ret)
{
    size_t lo = 0, hi = sizeof schemas / sizeof schemas[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(schemas[mid].name, name);
        if (c == 0)
            c = strcmp(schemas[mid].overload, overload);
        if (c == 0) {
            *n_ret = schemas[mid].n_ret;
            return schemas[mid].args;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ------------------------------------------------------------ pickle nodes -> jv */

static jv *tensor_to_jv(const ckpt_obj *o, ckpt_error *err)
{
    ckpt_tensor_info ti;
    if (ckpt_tensor_get_info(o, &ti) < 0) {
        CKPT_FAIL(err, CKPT_E_FORMAT, "bytecode constant: bad tensor");
        return NULL;
    }
    int dt = ox_dtype_from_ckpt(ti.dtype);
    if (dt <= 0 || ti.ndim < 0 || ti.ndim > OX_MAX_RANK) {
        CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "bytecode constant: tensor of %s with %d dims",
                  ckpt_dtype_name(ti.dtype), ti.ndim);
        return NULL;
    }
    const void *data = ckpt_tensor_data(o);
    if (!data && ti.numel > 0) {
        CKPT_FAIL(err, CKPT_E_FORMAT, "bytecode constant: tensor without data");
        return NULL;
    }
    jv *v = NULL;
    if (ti.contiguous || ti.numel <= 1) {
        v = jv_tensor_view(NULL, dt, ti.ndim, ti.shape, (void *)(uintptr_t)data);
        if (!v)
            CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    } else {
        v = jv_tensor_new();
        if (!v || ox_val_reshape_alloc(&v->u.t->t, dt, ti.ndim, ti.shape, err) < 0) {
            if (!v)
                CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            jv_unref(v);
            return NULL;
        }
        if (ckpt_tensor_copy_into(o, v->u.t->t.data, ox_val_nbytes(&v->u.t->t), err) < 0) {
            jv_unref(v);
            return NULL;
        }
    }
    if (v) {
        v->u.t->requires_grad = ti.requires_grad;
        v->u.t->is_quantized = ti.quantized;
    }
    return v;
}

static jv *seq_to_jv(ckpt_jit_model *m, const ckpt_obj *o, bool tuple, int depth, ckpt_error *err)
{
    size_t n = ckpt_obj_len(o);
    jv *s = tuple ? jv_tuple_new(n) : jv_list_new(n);
    if (!s) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        jv *it = lite_obj_to_jv(m, ckpt_obj_item(o, i), depth + 1, err);
        if (!it || jv_list_push(s, it, err) < 0) {
            jv_unref(s);
            return NULL;
        }
    }
    return s;
}

jv *lite_obj_to_jv(ckpt_jit_model *m, const ckpt_obj *o, int depth, ckpt_error *err)
{
    if (depth > JIT_MAX_DEPTH) {
        CKPT_FAIL(err, CKPT_E_LIMIT, "bytecode constant nested deeper than %d", JIT_MAX_DEPTH);
        return NULL;
    }
    if (!o) {
        CKPT_FAIL(err, CKPT_E_FORMAT, "bytecode: missing value");
        return NULL;
    }
    jv *v = NULL;
    switch (ckpt_obj_type(o)) {
    case CKPT_T_NONE: return jv_none();
    case CKPT_T_BOOL: return jv_bool(ckpt_obj_bool(o));
    case CKPT_T_INT: v = jv_int(ckpt_obj_int(o)); break;
    case CKPT_T_FLOAT: v = jv_float(ckpt_obj_float(o)); break;
    case CKPT_T_STR:
    case CKPT_T_BYTES: {
        size_t len = 0;
        const char *s = ckpt_obj_str(o, &len);
        v = jv_str(s ? s : "", s ? len : 0);
        break;
    }
    case CKPT_T_TUPLE: return seq_to_jv(m, o, true, depth, err);
    case CKPT_T_LIST:
    case CKPT_T_SET: return seq_to_jv(m, o, false, depth, err);
    case CKPT_T_DICT: {
        v = jv_dict_new();
        if (!v)
            break;
        for (size_t i = 0; i < ckpt_obj_len(o); i++) {
            jv *k = lite_obj_to_jv(m, ckpt_dict_key(o, i), depth + 1, err);
            jv *val = k ? lite_obj_to_jv(m, ckpt_dict_value(o, i), depth + 1, err) : NULL;
            if (!k || !val) {
                jv_unref(k);
                jv_unref(v);
                return NULL;
            }
            if (jv_dict_set(v, k, val, err) < 0) {
                jv_unref(v);
                return NULL;
            }
        }
        return v;
    }
    case CKPT_T_TENSOR: return tensor_to_jv(o, err);
    case CKPT_T_SIZE: {
        size_t n = 0;
        const int64_t *d = ckpt_size_dims(o, &n);
        v = jv_tuple_new(n);
        for (size_t i = 0; v && i < n; i++)
            if (jv_list_push(v, jv_int(d[i]), err) < 0) {
                jv_unref(v);
                return NULL;
            }
        break;
    }
    case CKPT_T_DTYPE: v = jv_int(ckpt_obj_dtype(o)); break;
    case CKPT_T_DEVICE: v = jv_device(ckpt_device_type(o), ckpt_device_index(o)); break;
    case CKPT_T_OBJECT: {
        const char *mod = ckpt_global_module(o), *name = ckpt_global_name(o);
        const ckpt_obj *args = ckpt_object_args(o);
        if (mod && name && strcmp(mod, "torch.jit._pickle") == 0 && args &&
            ckpt_obj_len(args) >= 1)
            /* build_intlist / build_doublelist / build_boollist / build_tensorlist /
             * restore_type_tag: the first argument is the value */
            return lite_obj_to_jv(m, ckpt_obj_item(args, 0), depth + 1, err);
        /* a TorchScript or custom class instance (xnnpack.Conv2dOpContext ...): an
         * object of that class; its __setstate__ state is the attribute "__state__" */
        char qn[512];
        snprintf(qn, sizeof qn, "%s.%s", mod ? mod : "?", name ? name : "?");
        jit_class *c = jit_class_get(m, qn, err);
        if (!c)
            return NULL;
        v = jv_obj_new(c);
        if (!v)
            break;
        const ckpt_obj *st = ckpt_object_state(o);
        if (st && ckpt_obj_type(st) == CKPT_T_DICT) {
            for (size_t i = 0; i < ckpt_obj_len(st); i++) {
                const char *key = ckpt_obj_str(ckpt_dict_key(st, i), NULL);
                jv *val = lite_obj_to_jv(m, ckpt_dict_value(st, i), depth + 1, err);
                if (!val || jv_obj_set(v, key ? key : "?", JIT_A_ATTR, val, err) < 0) {
                    jv_unref(v);
                    return NULL;
                }
            }
        } else if (st) {
            jv *val = lite_obj_to_jv(m, st, depth + 1, err);
            if (!val || jv_obj_set(v, "__state__", JIT_A_ATTR, val, err) < 0) {
                jv_unref(v);
                return NULL;
            }
        }
        return v;
    }
    case CKPT_T_GLOBAL: {
        char qn[512];
        snprintf(qn, sizeof qn, "%s.%s", ckpt_global_module(o) ? ckpt_global_module(o) : "?",
                 ckpt_global_name(o) ? ckpt_global_name(o) : "?");
        v = jv_str0(qn);
        break;
    }
    default:
        CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "bytecode constant of type %s",
                  ckpt_type_name(ckpt_obj_type(o)));
        return NULL;
    }
    if (!v)
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    return v;
}

/* ------------------------------------------------------------ the function table */

static void fn_free(lite_fn *f)
{
    free(f->qualname);
    free(f->ins);
    for (size_t i = 0; i < f->n_ops; i++) {
        free(f->ops[i].full);
        free(f->ops[i].name);
    }
    free(f->ops);
    for (size_t i = 0; i < f->n_consts; i++)
        jv_unref(f->consts[i]);
    free(f->consts);
    for (size_t i = 0; i < f->n_types; i++)
        free(f->types[i]);
    free(f->types);
    for (size_t i = 0; i < f->n_args; i++) {
        free(f->arg_names[i]);
        if (f->arg_defaults[i])
            jv_unref(f->arg_defaults[i]);
    }
    free(f->arg_names);
    free(f->arg_defaults);
}

static void prog_free(void *p)
{
    lite_prog *P = p;
    if (!P)
        return;
    for (size_t i = 0; i < P->n_fns; i++)
        fn_free(&P->fns[i]);
    free(P->fns);
    ckpt_doc_free(P->doc);
    free(P);
}

const lite_fn *lite_find_fn(const lite_prog *p, const char *qualname)
{
    for (size_t i = 0; p && i < p->n_fns; i++)
        if (strcmp(p->fns[i].qualname, qualname) == 0)
            return &p->fns[i];
    return NULL;
}

typedef struct rd {
    ckpt_jit_model *m;
    const char *fn; /* function being read, for errors */
    ckpt_error *err;
} rd;

static int bad(rd *R, const char *what)
{
    return CKPT_FAIL(R->err, CKPT_E_FORMAT, "bytecode.pkl: function %s: %s", R->fn ? R->fn : "?",
                     what);
}

static bool is_seq(const ckpt_obj *o)
{
    int t = o ? ckpt_obj_type(o) : -1;
    return t == CKPT_T_TUPLE || t == CKPT_T_LIST;
}

static const char *str_of(const ckpt_obj *o)
{
    return o && ckpt_obj_type(o) == CKPT_T_STR ? ckpt_obj_str(o, NULL) : NULL;
}

static bool int_of(const ckpt_obj *o, int64_t *v)
{
    if (!o || ckpt_obj_type(o) != CKPT_T_INT)
        return false;
    *v = ckpt_obj_int(o);
    return true;
}

/* ("name", value) -> value, checking the name. */
static const ckpt_obj *field(const ckpt_obj *tbl, size_t i, const char *name)
{
    if (!is_seq(tbl) || i >= ckpt_obj_len(tbl))
        return NULL;
    const ckpt_obj *row = ckpt_obj_item(tbl, i);
    if (!is_seq(row) || ckpt_obj_len(row) != 2)
        return NULL;
    const char *k = str_of(ckpt_obj_item(row, 0));
    if (!k || strcmp(k, name) != 0)
        return NULL;
    return ckpt_obj_item(row, 1);
}

static char *dupstr(const char *s)
{
    return strdup(s ? s : "");
}

static int read_ops(rd *R, lite_fn *f, const ckpt_obj *ops)
{
    size_t n = ckpt_obj_len(ops);
    f->ops = calloc(n ? n : 1, sizeof *f->ops);
    if (!f->ops)
        return CKPT_FAIL(R->err, CKPT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const ckpt_obj *row = ckpt_obj_item(ops, i);
        size_t rl = is_seq(row) ? ckpt_obj_len(row) : 0;
        const char *name = rl >= 2 ? str_of(ckpt_obj_item(row, 0)) : NULL;
        const char *ov = rl >= 2 ? str_of(ckpt_obj_item(row, 1)) : NULL;
        if (!name || !ov || rl > 3)
            return bad(R, "an operator entry is not (name, overload[, num_args])");
        lite_opref *o = &f->ops[f->n_ops++];
        o->n_args = -1;
        o->n_ret = 1;
        if (rl == 3) {
            int64_t na = 0;
            const ckpt_obj *x = ckpt_obj_item(row, 2);
            if (x && ckpt_obj_type(x) == CKPT_T_NONE)
                na = -1;
            else if (!int_of(x, &na) || na < -1 || na > 256)
                return bad(R, "an operator's argument count is not an int in [0, 256]");
            o->n_args = (int)na;
        }
        size_t fl = strlen(name) + strlen(ov) + 2;
        o->full = malloc(fl);
        if (!o->full)
            return CKPT_FAIL(R->err, CKPT_E_NOMEM, "out of memory");
        snprintf(o->full, fl, "%s%s%s", name, ov[0] ? "." : "", ov);
        o->name = dupstr(strncmp(name, "aten::", 6) == 0 ? name + 6 : name);
        if (!o->name)
            return CKPT_FAIL(R->err, CKPT_E_NOMEM, "out of memory");
        int nr = 1;
        o->argspec = lite_schema(name, ov, &nr);
        if (o->argspec)
            o->n_ret = nr;
    }
    return 0;
}

static int read_schema(rd *R, lite_fn *f, const ckpt_obj *sch)
{
    const ckpt_obj *args = field(sch, 0, "arguments");
    if (!args || !is_seq(args))
        return bad(R, "schema has no arguments table");
    size_t n = ckpt_obj_len(args);
    if (n > 256)
        return bad(R, "schema has more than 256 arguments");
    f->arg_names = calloc(n ? n : 1, sizeof *f->arg_names);
    f->arg_defaults = calloc(n ? n : 1, sizeof *f->arg_defaults);
    if (!f->arg_names || !f->arg_defaults)
        return CKPT_FAIL(R->err, CKPT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const ckpt_obj *a = ckpt_obj_item(args, i);
        const char *name = str_of(field(a, 0, "name"));
        const ckpt_obj *def = field(a, 2, "default_value");
        if (!name)
            return bad(R, "a schema argument has no name");
        f->arg_names[i] = dupstr(name);
        f->n_args++;
        if (!f->arg_names[i])
            return CKPT_FAIL(R->err, CKPT_E_NOMEM, "out of memory");
        if (def && ckpt_obj_type(def) != CKPT_T_NONE) {
            f->arg_defaults[i] = lite_obj_to_jv(R->m, def, 0, R->err);
            if (!f->arg_defaults[i])
                return R->err->code;
        }
    }
    f->has_schema = true;
    return 0;
}

/* Every index an instruction carries, checked against the tables it indexes. */
static int check_ins(rd *R, const lite_fn *f, size_t pc, const lite_ins *in)
{
    char msg[160];
    int64_t x = in->x, n = in->n, nins = (int64_t)f->n_ins;
    bool ok = true;
    switch (in->op) {
    case LITE_OP:
    case LITE_OPN: ok = x >= 0 && (size_t)x < f->n_ops && n >= 0; break;
    case LITE_LOAD:
    case LITE_MOVE:
    case LITE_STORE:
    case LITE_DROPR: ok = x >= 1 && x <= f->reg_size; break;
    case LITE_STOREN: ok = x >= 1 && n >= 0 && x + n - 1 <= f->reg_size; break;
    case LITE_LOADC:
    case LITE_INTERFACE_CALL: ok = x >= 0 && (size_t)x < f->n_consts && n >= 0; break;
    case LITE_JF:
    case LITE_JMP:
    case LITE_LOOP:
        ok = (int64_t)pc + x >= 0 && (int64_t)pc + x < nins && (in->op != LITE_LOOP || n >= 2);
        break;
    case LITE_LIST_CONSTRUCT:
    case LITE_DICT_CONSTRUCT:
    case LITE_NAMED_TUPLE_CONSTRUCT: ok = x >= 0 && (size_t)x < f->n_types && n >= 0; break;
    case LITE_CREATE_OBJECT: ok = x >= 0 && (size_t)x < f->n_types; break;
    case LITE_ISINSTANCE: ok = x >= 0 && n >= 0 && (size_t)(x + n) <= f->n_types; break;
    default: ok = x >= -(1 << 20) && n >= 0;
    }
    if (ok)
        return 0;
    snprintf(msg, sizeof msg, "instruction %zu (%s %" PRId64 ", %" PRId64 ") is out of range", pc,
             lite_opcode_name(in->op), x, n);
    return bad(R, msg);
}

static int read_fn(rd *R, lite_fn *f, const ckpt_obj *row)
{
    size_t rl = is_seq(row) ? ckpt_obj_len(row) : 0;
    const char *qn = rl >= 2 ? str_of(ckpt_obj_item(row, 0)) : NULL;
    if (!qn)
        return CKPT_FAIL(R->err, CKPT_E_FORMAT,
                         "bytecode.pkl: a function entry is not (name, code)");
    R->fn = qn;
    f->qualname = dupstr(qn);
    if (!f->qualname)
        return CKPT_FAIL(R->err, CKPT_E_NOMEM, "out of memory");
    const ckpt_obj *code = ckpt_obj_item(row, 1);
    const ckpt_obj *ins = field(code, 0, "instructions");
    const ckpt_obj *ops = field(code, 1, "operators");
    const ckpt_obj *consts = field(code, 2, "constants");
    const ckpt_obj *types = field(code, 3, "types");
    const ckpt_obj *rs = field(code, 4, "register_size");
    if (!is_seq(ins) || !is_seq(ops) || !is_seq(consts) || !is_seq(types) ||
        !int_of(rs, &f->reg_size))
        return bad(R, "code is not (instructions, operators, constants, types, register_size)");
    if (f->reg_size < 0 || f->reg_size > (1 << 20))
        return bad(R, "register_size out of range");
    CKPT_TRY(read_ops(R, f, ops));
    size_t nc = ckpt_obj_len(consts);
    f->consts = calloc(nc ? nc : 1, sizeof *f->consts);
    if (!f->consts)
        return CKPT_FAIL(R->err, CKPT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < nc; i++) {
        f->consts[i] = lite_obj_to_jv(R->m, ckpt_obj_item(consts, i), 0, R->err);
        if (!f->consts[i])
            return R->err->code;
        f->n_consts++;
    }
    size_t nt = ckpt_obj_len(types);
    f->types = calloc(nt ? nt : 1, sizeof *f->types);
    if (!f->types)
        return CKPT_FAIL(R->err, CKPT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < nt; i++) {
        const char *t = str_of(ckpt_obj_item(types, i));
        if (!t)
            return bad(R, "a type is not a string");
        f->types[i] = dupstr(t);
        if (!f->types[i])
            return CKPT_FAIL(R->err, CKPT_E_NOMEM, "out of memory");
        f->n_types++;
    }
    size_t ni = ckpt_obj_len(ins);
    f->ins = calloc(ni ? ni : 1, sizeof *f->ins);
    if (!f->ins)
        return CKPT_FAIL(R->err, CKPT_E_NOMEM, "out of memory");
    f->n_ins = ni;
    for (size_t i = 0; i < ni; i++) {
        const ckpt_obj *it = ckpt_obj_item(ins, i);
        const char *opn = is_seq(it) && ckpt_obj_len(it) == 3 ? str_of(ckpt_obj_item(it, 0))
                                                              : NULL;
        int64_t x = 0, n = 0;
        if (!opn || !int_of(ckpt_obj_item(it, 1), &x) || !int_of(ckpt_obj_item(it, 2), &n))
            return bad(R, "an instruction is not (OPNAME, X, N)");
        int op = lite_opcode(opn);
        if (op < 0) {
            char msg[128];
            snprintf(msg, sizeof msg, "instruction %zu: opcode %.40s is not supported", i, opn);
            return CKPT_FAIL(R->err, CKPT_E_UNSUPPORTED, "bytecode.pkl: function %s: %s", qn,
                             msg);
        }
        if (x < INT32_MIN || x > INT32_MAX || n < INT32_MIN || n > INT32_MAX)
            return bad(R, "an instruction operand does not fit 32 bits");
        f->ins[i].op = op;
        f->ins[i].x = (int32_t)x;
        f->ins[i].n = (int32_t)n;
    }
    if (ni == 0 || f->ins[ni - 1].op != LITE_RET)
        return bad(R, "the last instruction is not RET");
    for (size_t i = 0; i < ni; i++)
        CKPT_TRY(check_ins(R, f, i, &f->ins[i]));
    if (rl >= 3 && ckpt_obj_type(ckpt_obj_item(row, 2)) != CKPT_T_NONE)
        CKPT_TRY(read_schema(R, f, ckpt_obj_item(row, 2)));
    return 0;
}

int jit_read_lite(ckpt_jit_model *m, ckpt_error *err)
{
    ckpt_load_opts lo = {.unsafe_full = true,
                         .pickle_record = "bytecode.pkl",
                         .verify_crc = m->opts.verify_crc,
                         .mode = CKPT_LOAD_MMAP};
    lo.limits.max_alloc_bytes = m->opts.max_bytes;
    lite_prog *P = calloc(1, sizeof *P);
    if (!P)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    m->lite = P;
    m->lite_free = prog_free;
    P->doc = ckpt_load(m->path, &lo, err);
    if (!P->doc)
        return err->code ? err->code : CKPT_E_FORMAT;
    const ckpt_obj *root = ckpt_doc_root(P->doc);
    size_t n = is_seq(root) ? ckpt_obj_len(root) : 0;
    if (n < 1 || !int_of(ckpt_obj_item(root, 0), &P->version))
        return CKPT_FAIL(err, CKPT_E_FORMAT, "bytecode.pkl is not (version, functions...)");
    if (P->version < 3 || P->version > 8)
        return CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                         "bytecode.pkl: bytecode version %" PRId64 " (ckpt reads 3 to 8)",
                         P->version);
    P->fns = calloc(n, sizeof *P->fns);
    if (!P->fns)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    rd R = {.m = m, .err = err};
    for (size_t i = 1; i < n; i++) {
        lite_fn *f = &P->fns[P->n_fns++];
        CKPT_TRY(read_fn(&R, f, ckpt_obj_item(root, i)));
    }
    return 0;
}
