/*
 * src/jit/jit_internal.h - the jit layer's object model and the contract
 * between its readers (TorchScript, lite, full-model pickles, .pt2), its
 * executors (the TorchScript interpreter, the lite bytecode interpreter, the
 * torch.export graph runner, the torch.nn forwards) and the op library.
 *
 * One object model: every reader turns a file into a tree of `jv` values --
 * module instances are JV_OBJECT values of a `jit_class`, tensors are
 * JV_TENSOR values holding an `ox_val` -- and every executor calls ATen
 * operators by name through jit_aten_call(), which runs them on the ONNX
 * kernels (ox_call, src/onnx): the one op library.  A recorder on the
 * ox_callctx turns any run into an ONNX graph (ckpt convert).
 *
 * Values are reference counted: every jv_* constructor returns a new
 * reference; containers steal the references they are given (jv_list_push,
 * jv_dict_set, jv_obj_set); getters return borrowed references.
 */
#ifndef CKPT_JIT_INTERNAL_H
#define CKPT_JIT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt/error.h"
#include "ckpt/jit.h"
#include "onnx/onnx_internal.h"

/* ------------------------------------------------------------ values */

typedef enum jv_kind {
    JV_NONE = 0,
    JV_BOOL,
    JV_INT,
    JV_FLOAT,
    JV_STR,
    JV_TENSOR,
    JV_LIST,
    JV_TUPLE,
    JV_DICT,
    JV_OBJECT, /* a module or TorchScript class instance */
    JV_DEVICE,
    JV_OPAQUE, /* executor-private (a bound method, a function, a custom-class capsule) */
    JV_KIND_COUNT
} jv_kind;

typedef struct jv jv;
typedef struct jit_class jit_class;

/* A tensor: contiguous row-major in `t` (ONNX dtype codes).  `base` is the
 * value whose data `t.data` points into (a view: reshape, select, a slice
 * of a contiguous block), NULL when `t` owns its buffer (`t.buf`) or borrows
 * the model's storage.  torch's scalar types map with jit_st_to_ox(). */
typedef struct jv_tensor {
    ox_val t;
    jv *base;
    bool requires_grad;
    bool is_quantized; /* per-tensor affine: t holds the integer values */
    double q_scale;
    int64_t q_zero_point;
} jv_tensor;

/* Attribute kinds of an object. */
enum { JIT_A_ATTR = 0, JIT_A_PARAM = 1, JIT_A_BUFFER = 2, JIT_A_MODULE = 3 };

struct jv {
    int kind;
    int refs; /* < 0: immortal (None, True, False) */
    union {
        bool b;
        int64_t i;
        double f;
        struct {
            char *s; /* NUL-terminated */
            size_t len;
        } str;
        jv_tensor *t;
        struct {
            jv **items;
            size_t n, cap;
        } seq; /* LIST, TUPLE */
        struct {
            jv **keys, **vals; /* insertion order */
            size_t n, cap;
        } dict;
        struct {
            jit_class *cls; /* borrowed from the model */
            char **names;   /* per instance, in declaration order */
            jv **vals;
            uint8_t *akind; /* JIT_A_* */
            size_t n, cap;
        } obj;
        struct {
            char *type; /* "cpu", "cuda" */
            int64_t index;
        } dev;
        struct {
            void *p;
            void (*free_fn)(void *);
            const char *
                type; /* names it in errors: "bound method", "__torch__.torch.classes.quantized.Conv2dPackedParamsBase" */
        } opaque;
    } u;
};

jv *jv_none(void); /* immortal singletons: ref/unref are no-ops */
jv *jv_bool(bool b);
jv *jv_int(int64_t i);
jv *jv_float(double f);
jv *jv_str(const char *s, size_t len); /* copies; NULL on out of memory */
jv *jv_str0(const char *s);
jv *jv_list_new(size_t cap);
jv *jv_tuple_new(size_t cap);                         /* push items after */
int jv_list_push(jv *seq, jv *item, ckpt_error *err); /* steals `item` (even on failure) */
jv *jv_dict_new(void);
int jv_dict_set(jv *d, jv *key, jv *val,
                ckpt_error *err);            /* steals both; replaces an equal key */
jv *jv_dict_get(const jv *d, const jv *key); /* borrowed; NULL if absent */
jv *jv_dict_get_str(const jv *d, const char *key);
jv *jv_device(const char *type, int64_t index);
jv *jv_opaque(void *p, void (*free_fn)(void *), const char *type);
/* A new tensor value with an empty ox_val (fill it with ox_val_reshape_alloc or ox_call). */
jv *jv_tensor_new(void);
/* A tensor viewing `data` owned by someone else (the model's storage, or
 * `base`'s data: base gets a reference). */
jv *jv_tensor_view(jv *base, int dtype, int rank, const int64_t *dims, void *data);
jv *jv_obj_new(jit_class *cls);
int jv_obj_set(jv *o, const char *name, int akind, jv *val, ckpt_error *err); /* steals val */
jv *jv_obj_get(const jv *o, const char *name);                                /* borrowed */
int jv_obj_find(const jv *o, const char *name);                               /* index or -1 */

jv *jv_ref(jv *v);
void jv_unref(jv *v);
const char *jv_kind_name(int kind);
/* Python equality for hashable values (None, bool, int, float, str, tuple). */
bool jv_equal(const jv *a, const jv *b);
/* Short description for errors: "Tensor[float32, (2, 3)]", "int 3", "list of 4". */
void jv_describe(const jv *v, char *buf, size_t cap);

/* torch ScalarType codes (c10/core/ScalarType.h order) <-> ONNX dtype codes. */
enum {
    JIT_ST_UINT8 = 0,
    JIT_ST_INT8 = 1,
    JIT_ST_INT16 = 2,
    JIT_ST_INT32 = 3,
    JIT_ST_INT64 = 4,
    JIT_ST_HALF = 5,
    JIT_ST_FLOAT = 6,
    JIT_ST_DOUBLE = 7,
    JIT_ST_COMPLEX_HALF = 8,
    JIT_ST_COMPLEX_FLOAT = 9,
    JIT_ST_COMPLEX_DOUBLE = 10,
    JIT_ST_BOOL = 11,
    JIT_ST_QINT8 = 12,
    JIT_ST_QUINT8 = 13,
    JIT_ST_QINT32 = 14,
    JIT_ST_BFLOAT16 = 15
};
int jit_st_to_ox(int64_t st);      /* OX_UNDEFINED when none */
int64_t jit_st_from_ox(int dtype); /* -1 when none */

/* ------------------------------------------------------------ classes and the model */

typedef struct jit_method {
    char *name;
    char *file;   /* record name: "code/__torch__/torch/nn/modules/linear.py" */
    int64_t line; /* 1-based line of the `def`, in `file` */
    int64_t end_line;
    char *source;     /* the def's text (owned), as stored in the archive */
    char **arg_names; /* after self */
    char **arg_types; /* annotations as text ("Tensor", "Optional[int]") */
    size_t n_args;
    char *ret_type;
    void *ast; /* executor-private parse (freed with ast_free) */
    void (*ast_free)(void *);
} jit_method;

struct jit_class {
    char *qualname; /* "__torch__.torch.nn.modules.linear.Linear", "torch.nn.modules.linear.Linear" */
    bool is_module;
    char **params; /* __parameters__, in order */
    size_t n_params;
    char **buffers; /* __buffers__, in order */
    size_t n_buffers;
    char **attr_names; /* declared attributes, in order ("weight : Tensor") */
    char **attr_types;
    size_t n_attrs;
    char **consts_names; /* class-level constants ("__annotations__"/ Final values) */
    jv **consts_vals;
    size_t n_consts;
    jit_method *methods;
    size_t n_methods;
    char *file; /* where the class is defined (NULL for full-model pickles) */
    int64_t line;
    /* fullmodel: buffers registered with persistent=False (the module's
     * _non_persistent_buffers_set): listed by named_buffers, not in state_dict */
    char **nonpersistent;
    size_t n_nonpersistent;
};

/* A source file of the archive (code/...py), with its debug ranges if any. */
typedef struct jit_source {
    char *record; /* "code/__torch__/foo.py" */
    char *text;   /* NUL-terminated */
    size_t len;
} jit_source;

typedef struct jit_rt jit_rt;

struct ckpt_jit_model {
    char *path;
    int format;          /* CKPT_JIT_* */
    int64_t version;     /* the archive's `version` record (0 when none) */
    char *producer;      /* producer info when the file carries any */
    jv *root;            /* the root module object */
    jit_class **classes; /* owned, every class met */
    size_t n_classes, cap_classes;
    jit_source *sources;
    size_t n_sources;
    jv *constants;      /* tuple from constants.pkl (CONSTANTS.c0 ...), or NULL */
    char **extra_names; /* extra/ records */
    size_t n_extra;
    ckpt_doc *doc; /* keeps storages alive: tensors may borrow its data */
    void *lite;    /* lite bytecode (lite executor), freed with lite_free */
    void (*lite_free)(void *);
    void *pt2; /* torch.export program (pt2 executor), freed with pt2_free */
    void (*pt2_free)(void *);
    jit_rt *rt; /* created on first run */
    /* listing cache (ckpt_jit_tensor_count / get_tensor) */
    ckpt_jit_tensor *list;
    char **list_names;
    size_t n_list;
    bool listed;
    /* last run's flattened outputs */
    ckpt_jit_value *outs;
    jv **out_vals;
    size_t n_outs;
    ckpt_jit_load_opts opts;
};

/* The class named `qualname`, created (empty) when absent; NULL on OOM. */
jit_class *jit_class_get(ckpt_jit_model *m, const char *qualname, ckpt_error *err);
jit_class *jit_class_find(const ckpt_jit_model *m, const char *qualname);
const jit_method *jit_class_method(const jit_class *c, const char *name);
void jit_class_free(jit_class *c);
/* fullmodel: true when `name` is one of the class's non-persistent buffers. */
bool jit_class_nonpersistent(const jit_class *c, const char *name);

/* ------------------------------------------------------------ running */

/* What executors share while a model runs. */
struct jit_rt {
    ckpt_jit_model *m;
    ox_callctx *ox;   /* the op library's call context (threads, byte cap, recorder) */
    const char *file; /* current source position, for errors */
    int64_t line;
    int depth;      /* call depth (limit JIT_MAX_DEPTH) */
    uint64_t steps; /* statements/instructions executed (limit JIT_MAX_STEPS) */
    bool grad_enabled;
    uint64_t max_steps; /* from the load options, else JIT_MAX_STEPS */
    void *ts; /* tsinterp: the TorchScript interpreter's parsed code (freed with ts_free) */
    void (*ts_free)(void *);
};

#define JIT_MAX_DEPTH 200
#define JIT_MAX_STEPS 2000000000ull

jit_rt *jit_rt_get(ckpt_jit_model *m, ckpt_error *err); /* m->rt, created on first use */
/* Count one statement / instruction: CKPT_E_LIMIT past rt->max_steps. */
int jit_tick(jit_rt *rt, ckpt_error *err);
void jit_rt_free(jit_rt *rt);

/* Record an error naming the current source line: "FILE:LINE: ...". */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 4, 5)))
#endif
int jit_fail(jit_rt *rt, ckpt_error *err, int code, const char *fmt, ...);

/*
 * Call an operator by name: "add", "linear", "conv2d", "relu_", "size" (aten
 * ops without the "aten::" prefix and without the overload name), or a
 * namespaced one ("quantized::conv2d", "prepacked::linear_clamp_run").
 * `args` are positional, `kw_names`/`kw_vals` keyword arguments; values are
 * borrowed.  *result gets a new reference (JV_NONE for ops returning
 * nothing; a JV_TUPLE for several results).  An op the library lacks:
 * CKPT_E_UNSUPPORTED "operator aten::NAME is not in ckpt's op library" with
 * the source line.  Tensor methods (`x.view(...)`) are the same ops with
 * `self` first.  Implemented in src/jit/aten_*.c over ox_call.
 */
int jit_aten_call(jit_rt *rt, const char *name, jv *const *args, size_t n_args,
                  const char *const *kw_names, jv *const *kw_vals, size_t n_kw, jv **result,
                  ckpt_error *err);
/* True when `name` is in the op library. */
bool jit_aten_has(const char *name);

/* Executors (each in its own file set). */
/* TorchScript source interpreter (src/jit/ts_*.c): run `method` of object `self`. */
int jit_ts_call_method(jit_rt *rt, jv *self, const char *method, jv *const *args, size_t n_args,
                       const char *const *kw_names, jv *const *kw_vals, size_t n_kw, jv **result,
                       ckpt_error *err);
/* Lite bytecode interpreter (src/jit/lite_*.c). */
int jit_lite_call_method(jit_rt *rt, jv *self, const char *method, jv *const *args, size_t n_args,
                         jv **result, ckpt_error *err);
/* torch.nn class forwards for full-model pickles (src/jit/nn_*.c). */
int jit_nn_forward(jit_rt *rt, jv *self, jv *const *args, size_t n_args, jv **result,
                   ckpt_error *err);
/* torch.export graph runner (src/jit/pt2_*.c). */
int jit_pt2_run(jit_rt *rt, jv *const *args, size_t n_args, jv **result, ckpt_error *err);

/* A caller's value as a jv (tensors copied); NULL + err on failure. */
jv *jit_value_to_jv(const ckpt_jit_value *v, ckpt_error *err);
/* Run `method` of the root with bound positional args, whatever the format. */
int jit_call_root(jit_rt *rt, const char *method, jv *const *args, size_t n_args, jv **res,
                  ckpt_error *err);

/* Readers (each fills a model whose `path`/`opts` are set). */
int jit_read_torchscript(ckpt_jit_model *m, ckpt_error *err); /* also lite archives */
int jit_read_lite(ckpt_jit_model *m, ckpt_error *err);        /* bytecode.pkl part */
int jit_read_full_model(ckpt_jit_model *m, ckpt_error *err);
int jit_read_pt2(ckpt_jit_model *m, ckpt_error *err);

#endif
