/*
 * src/jit/pt2_run.c - run a torch.export graph (read by pt2.c).
 *
 * ExportedProgram semantics (torch/export/exported_program.py,
 * graph_signature.py): the graph's placeholders are, in input_specs order,
 * parameters, buffers, tensor constants and the user inputs; each node is a
 * call of an ATen operator overload ("torch.ops.aten.conv2d.default") on its
 * named arguments; a node with several results lists one output per result
 * (serialize.py GraphModuleSerializer.serialize_outputs: the FX getitem
 * nodes are folded into them); the user outputs are the graph outputs whose
 * output spec is user_output (or loss_output).
 *
 * Every operator goes through jit_aten_call by its name without namespace
 * and overload ("conv2d"); other namespaces as "ns::op".
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "jit/pt2_internal.h"

static jv *list_of(size_t n)
{
    return jv_list_new(n);
}

/* A node argument as a value (new reference); NULL with err set on failure. */
static jv *arg_value(jit_rt *rt, jv **vals, const pt2_arg *a, ckpt_error *err)
{
    jv *v = NULL;
    switch (a->kind) {
    case PA_NONE: return jv_none();
    case PA_TENSOR:
    case PA_SYM_INT:
    case PA_SYM_BOOL:
    case PA_SYM_FLOAT:
        if (a->slot >= 0) {
            if (!vals[a->slot]) {
                jit_fail(rt, err, CKPT_E_FORMAT, "value '%s' was not produced",
                         rt->m && rt->m->pt2 ? ((pt2_program *)rt->m->pt2)->slot_names[a->slot]
                                             : "?");
                return NULL;
            }
            return jv_ref(vals[a->slot]);
        }
        v = a->kind == PA_SYM_FLOAT  ? jv_float(a->f)
            : a->kind == PA_SYM_BOOL ? jv_bool(a->i != 0)
                                     : jv_int(a->i);
        break;
    case PA_INT:
    case PA_SCALAR_TYPE:
    case PA_MEMORY_FORMAT:
    case PA_LAYOUT: v = jv_int(a->i); break;
    case PA_FLOAT: v = jv_float(a->f); break;
    case PA_BOOL: return jv_bool(a->i != 0);
    case PA_STR: v = jv_str0(a->s); break;
    case PA_DEVICE: v = jv_device(a->s, a->i); break;
    case PA_TENSORS:
    case PA_OPT_TENSORS:
    case PA_SYM_INTS:
    case PA_INTS:
    case PA_FLOATS:
    case PA_BOOLS:
    case PA_STRS: {
        jv *l = list_of(a->n);
        if (!l)
            break;
        for (size_t k = 0; k < a->n; k++) {
            jv *e;
            if (a->kind == PA_INTS)
                e = jv_int(a->ints[k]);
            else if (a->kind == PA_FLOATS)
                e = jv_float(a->floats[k]);
            else if (a->kind == PA_BOOLS)
                e = jv_bool(a->ints[k] != 0);
            else if (a->kind == PA_STRS)
                e = jv_str0(a->strs[k]);
            else if (a->slots[k] < 0)
                e = a->kind == PA_SYM_INTS ? jv_int(a->ints[k]) : jv_none();
            else if (!vals[a->slots[k]]) {
                jv_unref(l);
                jit_fail(rt, err, CKPT_E_FORMAT, "value '%s' was not produced",
                         ((pt2_program *)rt->m->pt2)->slot_names[a->slots[k]]);
                return NULL;
            } else
                e = jv_ref(vals[a->slots[k]]);
            if (jv_list_push(l, e, err) < 0) {
                jv_unref(l);
                return NULL;
            }
        }
        return l;
    }
    default: jit_fail(rt, err, CKPT_E_UNSUPPORTED, "argument kind %d", a->kind); return NULL;
    }
    if (!v)
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    return v;
}

static int bind_one(jit_rt *rt, jv **vals, const pt2_arg *o, jv *r, ckpt_error *err)
{
    switch (o->kind) {
    case PA_NONE: return 0;
    case PA_TENSOR:
        if (r->kind != JV_TENSOR && r->kind != JV_NONE) {
            char d[96];
            jv_describe(r, d, sizeof d);
            return jit_fail(rt, err, CKPT_E_FORMAT, "output '%s' is declared a tensor but is %s",
                            ((pt2_program *)rt->m->pt2)->slot_names[o->slot], d);
        }
        break;
    case PA_SYM_INT:
    case PA_SYM_BOOL:
    case PA_SYM_FLOAT:
        if (r->kind != JV_INT && r->kind != JV_BOOL && r->kind != JV_FLOAT)
            return jit_fail(rt, err, CKPT_E_FORMAT,
                            "output '%s' is declared a number but is a %s",
                            ((pt2_program *)rt->m->pt2)->slot_names[o->slot],
                            jv_kind_name(r->kind));
        break;
    case PA_TENSORS:
    case PA_OPT_TENSORS: {
        if (r->kind != JV_LIST && r->kind != JV_TUPLE)
            return jit_fail(rt, err, CKPT_E_FORMAT, "a list output is a %s",
                            jv_kind_name(r->kind));
        if (r->u.seq.n < o->n)
            return jit_fail(rt, err, CKPT_E_FORMAT, "%zu results for %zu declared outputs",
                            r->u.seq.n, o->n);
        for (size_t k = 0; k < o->n; k++)
            if (o->slots[k] >= 0) {
                jv_unref(vals[o->slots[k]]);
                vals[o->slots[k]] = jv_ref(r->u.seq.items[k]);
            }
        return 0;
    }
    default: return jit_fail(rt, err, CKPT_E_FORMAT, "output kind %d", o->kind);
    }
    jv_unref(vals[o->slot]);
    vals[o->slot] = jv_ref(r);
    return 0;
}

static int bind_outputs(jit_rt *rt, jv **vals, const pt2_node *n, jv *r, ckpt_error *err)
{
    if (n->n_out == 0)
        return 0;
    bool seq = r->kind == JV_TUPLE || r->kind == JV_LIST;
    if (n->n_out == 1 &&
        !(seq && n->out[0].kind == PA_TENSOR && r->kind == JV_TUPLE && r->u.seq.n == 1))
        return bind_one(rt, vals, &n->out[0], r, err);
    if (!seq)
        return jit_fail(rt, err, CKPT_E_FORMAT, "%zu outputs declared, one %s returned", n->n_out,
                        jv_kind_name(r->kind));
    if (r->u.seq.n < n->n_out)
        return jit_fail(rt, err, CKPT_E_FORMAT, "%zu outputs declared, %zu returned", n->n_out,
                        r->u.seq.n);
    for (size_t k = 0; k < n->n_out; k++)
        CKPT_TRY(bind_one(rt, vals, &n->out[k], r->u.seq.items[k], err));
    return 0;
}

/* Python's int operators on SymInts (_operator.add, ...). */
static int sym_binop(jit_rt *rt, const char *op, jv *a, jv *b, jv **out, ckpt_error *err)
{
    bool ai = a->kind == JV_INT || a->kind == JV_BOOL,
         bi = b->kind == JV_INT || b->kind == JV_BOOL;
    if ((!ai && a->kind != JV_FLOAT) || (!bi && b->kind != JV_FLOAT))
        return jit_fail(rt, err, CKPT_E_UNSUPPORTED, "_operator.%s on %s and %s", op,
                        jv_kind_name(a->kind), jv_kind_name(b->kind));
    if (ai && bi && strcmp(op, "truediv") != 0) {
        int64_t x = a->kind == JV_INT ? a->u.i : a->u.b, y = b->kind == JV_INT ? b->u.i : b->u.b;
        int64_t r;
        if (strcmp(op, "add") == 0) {
            if (__builtin_add_overflow(x, y, &r))
                return jit_fail(rt, err, CKPT_E_LIMIT, "integer overflow");
        } else if (strcmp(op, "sub") == 0) {
            if (__builtin_sub_overflow(x, y, &r))
                return jit_fail(rt, err, CKPT_E_LIMIT, "integer overflow");
        } else if (strcmp(op, "mul") == 0) {
            if (__builtin_mul_overflow(x, y, &r))
                return jit_fail(rt, err, CKPT_E_LIMIT, "integer overflow");
        } else {
            if (y == 0)
                return jit_fail(rt, err, CKPT_E_ARG, "integer division by zero");
            if (x == INT64_MIN && y == -1)
                return jit_fail(rt, err, CKPT_E_LIMIT, "integer overflow");
            int64_t q = x / y, m = x % y;
            if (m != 0 && ((m < 0) != (y < 0))) {
                q -= 1;
                m += y;
            }
            r = strcmp(op, "floordiv") == 0 ? q : m;
        }
        *out = jv_int(r);
    } else {
        double x = a->kind == JV_FLOAT ? a->u.f : a->kind == JV_INT ? (double)a->u.i : a->u.b;
        double y = b->kind == JV_FLOAT ? b->u.f : b->kind == JV_INT ? (double)b->u.i : b->u.b;
        double r = strcmp(op, "add") == 0        ? x + y
                   : strcmp(op, "sub") == 0      ? x - y
                   : strcmp(op, "mul") == 0      ? x * y
                   : strcmp(op, "truediv") == 0  ? x / y
                   : strcmp(op, "floordiv") == 0 ? floor(x / y)
                                                 : x - floor(x / y) * y;
        *out = jv_float(r);
    }
    return *out ? 0 : CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
}

/* *res = (first, None, ...): a multi-result op whose other results an
 * inference graph never reads (saved statistics, dropout masks). */
static int pad_results(jv *first, size_t n, jv **res, ckpt_error *err)
{
    jv *t = jv_tuple_new(n);
    if (!t) {
        jv_unref(first);
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    if (jv_list_push(t, first, err) < 0) { /* first is stolen even on failure */
        jv_unref(t);
        return err->code;
    }
    for (size_t i = 1; i < n; i++)
        if (jv_list_push(t, jv_none(), err) < 0) {
            jv_unref(t);
            return err->code;
        }
    *res = t;
    return 0;
}

/*
 * Ops torch.export emits under names the op library knows otherwise (ATen
 * IR spellings of what TorchScript calls): used only when the library lacks
 * the exported name.
 */
static int call_op(jit_rt *rt, const pt2_node *n, jv **pos, size_t np, const char **kwn, jv **kwv,
                   size_t nk, jv **res, ckpt_error *err)
{
    const char *op = n->op;
    if (!jit_aten_has(op)) {
        jv *out = NULL;
        if (strcmp(op, "sym_size") == 0) /* sym_size.int(self, dim) */
            op = "size";
        else if (strcmp(op, "sym_numel") == 0)
            op = "numel";
        else if (strcmp(op, "sym_stride") == 0)
            op = "stride";
        else if (strcmp(op, "_to_copy") == 0) /* the same keywords as to(self, *, dtype...) */
            op = "to";
        else if (strcmp(op, "_native_batch_norm_legit_no_training") == 0 && np == 7 && nk == 0) {
            /* (input, weight, bias, running_mean, running_var, momentum, eps)
             * -> (out, save_mean, save_invstd): eval-mode batch_norm */
            jv *f = jv_bool(false);
            jv *a[9] = {pos[0], pos[1], pos[2], pos[3], pos[4], f, pos[5], pos[6], f};
            CKPT_TRY(jit_aten_call(rt, "batch_norm", a, 9, NULL, NULL, 0, &out, err));
            return pad_results(out, 3, res, err);
        } else if (strcmp(op, "native_layer_norm") == 0 && np == 5 && nk == 0) {
            /* (input, normalized_shape, weight, bias, eps) -> (out, mean, rstd) */
            CKPT_TRY(jit_aten_call(rt, "layer_norm", pos, 5, NULL, NULL, 0, &out, err));
            return pad_results(out, 3, res, err);
        } else if (strcmp(op, "native_dropout") == 0 && np == 3 && nk == 0) {
            /* (input, p, train?) -> (out, mask); train None: not training */
            jv *a[3] = {pos[0], pos[1], pos[2]->kind == JV_NONE ? jv_bool(false) : pos[2]};
            CKPT_TRY(jit_aten_call(rt, "dropout", a, 3, NULL, NULL, 0, &out, err));
            return pad_results(out, 2, res, err);
        }
    }
    return jit_aten_call(rt, op, pos, np, kwn, (jv *const *)kwv, nk, res, err);
}

int jit_pt2_run(jit_rt *rt, jv *const *args, size_t n_args, jv **result, ckpt_error *err)
{
    pt2_program *g = rt->m->pt2;
    if (!g)
        return jit_fail(rt, err, CKPT_E_ARG, "the model holds no torch.export program");
    size_t n_user = 0;
    for (size_t i = 0; i < g->n_inputs; i++)
        n_user += g->inputs[i].kind == PT2_IN_USER;
    if (n_args != n_user)
        return jit_fail(rt, err, CKPT_E_ARG, "forward() takes %zu inputs, %zu given", n_user,
                        n_args);
    jv **vals = calloc(g->n_slots ? g->n_slots : 1, sizeof *vals);
    jv **pos = NULL, **kwv = NULL;
    const char **kwn = NULL;
    size_t maxin = 1;
    for (size_t i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].n_in > maxin)
            maxin = g->nodes[i].n_in;
    pos = calloc(maxin, sizeof *pos);
    kwv = calloc(maxin, sizeof *kwv);
    kwn = calloc(maxin, sizeof *kwn);
    int rc = 0;
    jv *out = NULL;
    if (!vals || !pos || !kwv || !kwn) {
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        goto done;
    }
    const char *saved_file = rt->file;
    int64_t saved_line = rt->line;
    /* placeholders */
    size_t ui = 0;
    for (size_t i = 0; i < g->n_inputs; i++) {
        pt2_input *in = &g->inputs[i];
        jv *v;
        if (in->kind == PT2_IN_USER) {
            v = args[ui++];
            if (v->kind != JV_TENSOR && v->kind != JV_INT && v->kind != JV_FLOAT &&
                v->kind != JV_BOOL) {
                rc = jit_fail(rt, err, CKPT_E_ARG, "input '%s' is a %s", in->name,
                              jv_kind_name(v->kind));
                goto done;
            }
            v = jv_ref(v);
        } else if (in->kind == PT2_IN_TOKEN)
            v = jv_none();
        else
            v = jv_ref(in->value);
        if (!v) {
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            goto done;
        }
        vals[in->slot] = v;
    }
    for (size_t k = 0; k < g->n_nodes && rc == 0; k++) {
        const pt2_node *n = &g->nodes[k];
        rt->file = n->label;
        rt->line = (int64_t)k;
        if (++rt->steps > JIT_MAX_STEPS) {
            rc = jit_fail(rt, err, CKPT_E_LIMIT, "more than %llu steps",
                          (unsigned long long)JIT_MAX_STEPS);
            break;
        }
        size_t np = 0, nk = 0;
        for (size_t i = 0; i < n->n_in && rc == 0; i++) {
            jv *v = arg_value(rt, vals, &n->in[i].arg, err);
            if (!v) {
                rc = err->code ? err->code : CKPT_E_NOMEM;
                break;
            }
            if (n->in[i].keyword) {
                kwn[nk] = n->in[i].name;
                kwv[nk++] = v;
            } else {
                pos[np++] = v;
            }
        }
        jv *r = NULL;
        if (rc == 0) {
            if (n->special == PT2_SP_GETITEM) {
                if (np != 2 || (pos[0]->kind != JV_TUPLE && pos[0]->kind != JV_LIST) ||
                    pos[1]->kind != JV_INT || pos[1]->u.i < 0 ||
                    (uint64_t)pos[1]->u.i >= pos[0]->u.seq.n)
                    rc = jit_fail(rt, err, CKPT_E_FORMAT, "getitem: bad arguments");
                else
                    r = jv_ref(pos[0]->u.seq.items[pos[1]->u.i]);
            } else if (n->special == PT2_SP_SYM_BINOP) {
                if (np + nk != 2)
                    rc = jit_fail(rt, err, CKPT_E_FORMAT, "_operator.%s takes 2 arguments",
                                  n->op);
                else
                    rc = sym_binop(rt, n->op, np > 0 ? pos[0] : kwv[0],
                                   np > 1 ? pos[1] : kwv[nk - 1], &r, err);
            } else if (!n->op) {
                rc = jit_fail(rt, err, CKPT_E_UNSUPPORTED,
                              "target '%s' is not an operator ckpt can call", n->target);
            } else {
                rc = call_op(rt, n, pos, np, kwn, kwv, nk, &r, err);
            }
        }
        for (size_t i = 0; i < np; i++)
            jv_unref(pos[i]);
        for (size_t i = 0; i < nk; i++)
            jv_unref(kwv[i]);
        if (rc == 0 && r)
            rc = bind_outputs(rt, vals, n, r, err);
        jv_unref(r);
        /* free what no later node reads */
        if (rc == 0)
            for (size_t i = 0; i < n->n_in; i++) {
                const pt2_arg *a = &n->in[i].arg;
                if (a->slot >= 0 && g->last_use[a->slot] == (int)k) {
                    jv_unref(vals[a->slot]);
                    vals[a->slot] = NULL;
                }
                for (size_t e = 0; a->slots && e < a->n; e++)
                    if (a->slots[e] >= 0 && g->last_use[a->slots[e]] == (int)k) {
                        jv_unref(vals[a->slots[e]]);
                        vals[a->slots[e]] = NULL;
                    }
            }
    }
    rt->file = saved_file;
    rt->line = saved_line;
    if (rc < 0)
        goto done;
    out = jv_tuple_new(g->n_outputs);
    if (!out) {
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < g->n_outputs; i++) {
        if (g->outputs[i].kind != PT2_OUT_USER)
            continue;
        jv *v = arg_value(rt, vals, &g->outputs[i].arg, err);
        if (!v || jv_list_push(out, v, err) < 0) {
            rc = err->code ? err->code : CKPT_E_NOMEM;
            goto done;
        }
    }
    *result = out;
    out = NULL;
done:
    jv_unref(out);
    for (size_t i = 0; vals && i < g->n_slots; i++)
        jv_unref(vals[i]);
    free(vals);
    free(pos);
    free(kwv);
    free(kwn);
    return rc;
}
