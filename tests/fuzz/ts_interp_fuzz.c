/* tests/fuzz/ts_interp_fuzz.c - libFuzzer harness for the TorchScript source
 * interpreter (src/jit/ts_parse.c, ts_interp.c).
 *
 * The input is the text of code/__torch__.py: the harness makes a model whose
 * root is an object of class __torch__.M holding an int, a float and a list
 * attribute and a [2, 3] float tensor parameter, and calls forward(x) with a
 * [2, 3] tensor and again with an int.  Invariants: each call gives a value or
 * fails with a negative status recorded in the error; nothing leaks; calls,
 * statements and nesting are capped (a runaway loop ends at the statement cap). */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "jit/jit_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(c)                                                                           \
    do {                                                                                         \
        if (!(c))                                                                                \
            abort();                                                                             \
    } while (0)

static jv *tensor23(void)
{
    jv *t = jv_tensor_new();
    int64_t dims[2] = {2, 3};
    ckpt_error e;
    ckpt_error_clear(&e);
    if (!t || ox_val_reshape_alloc(&t->u.t->t, OX_FLOAT, 2, dims, &e) < 0) {
        jv_unref(t);
        return NULL;
    }
    for (int i = 0; i < 6; i++)
        ((float *)t->u.t->t.data)[i] = (float)i - 2.5f;
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16)
        return 0;
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_jit_model *m = calloc(1, sizeof *m);
    FUZZ_ASSERT(m);
    m->format = CKPT_JIT_TORCHSCRIPT;
    m->sources = calloc(1, sizeof *m->sources);
    FUZZ_ASSERT(m->sources);
    m->sources[0].record = strdup("code/__torch__.py");
    m->sources[0].text = malloc(size + 1);
    FUZZ_ASSERT(m->sources[0].record && m->sources[0].text);
    memcpy(m->sources[0].text, data, size);
    m->sources[0].text[size] = 0;
    m->sources[0].len = strlen(m->sources[0].text);
    m->n_sources = 1;
    jit_class *c = jit_class_get(m, "__torch__.M", &err);
    FUZZ_ASSERT(c);
    c->is_module = true;
    m->root = jv_obj_new(c);
    FUZZ_ASSERT(m->root);
    jv *lst = jv_list_new(2);
    FUZZ_ASSERT(lst && jv_list_push(lst, jv_int(3), &err) == 0);
    FUZZ_ASSERT(jv_obj_set(m->root, "n", JIT_A_ATTR, jv_int(7), &err) == 0);
    FUZZ_ASSERT(jv_obj_set(m->root, "f", JIT_A_ATTR, jv_float(0.5), &err) == 0);
    FUZZ_ASSERT(jv_obj_set(m->root, "l", JIT_A_ATTR, lst, &err) == 0);
    FUZZ_ASSERT(jv_obj_set(m->root, "weight", JIT_A_PARAM, tensor23(), &err) == 0);
    jit_rt *rt = jit_rt_get(m, &err);
    FUZZ_ASSERT(rt);
    jv *args[2] = {tensor23(), jv_int(2)};
    FUZZ_ASSERT(args[0] && args[1]);
    for (int k = 0; k < 2; k++) {
        jv *res = NULL;
        ckpt_error_clear(&err);
        /* a nested call keeps the statement count it is given: start 200k statements
         * short of the interpreter's 10M cap so a runaway loop ends quickly here */
        rt->depth = 1;
        rt->steps = 10000000ull - 200000ull;
        int rc = jit_ts_call_method(rt, m->root, "forward", &args[k], 1, NULL, NULL, 0, &res,
                                    &err);
        FUZZ_ASSERT(rc == 0 ? res != NULL : (rc < 0 && err.code == rc && res == NULL));
        if (getenv("CKPT_TS_FUZZ_VERBOSE")) { /* what each call gave, for seeding the corpus */
            char d[128] = "";
            if (res)
                jv_describe(res, d, sizeof d);
            fprintf(stderr, "forward(%s): %s\n", k ? "int" : "Tensor", rc ? err.msg : d);
        }
        jv_unref(res);
    }
    jv_unref(args[0]);
    jv_unref(args[1]);
    ckpt_jit_free(m);
    return 0;
}
