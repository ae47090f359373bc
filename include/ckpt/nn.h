/*
 * ckpt/nn.h - models in C: a module tree bound to memory, state_dict and
 * load_state_dict exactly as torch.nn.Module does them, and a layer library
 * whose names, shapes, initialisation and forward math match torch.nn.
 *
 * A module has a type name ("Linear"), named children, named parameters and
 * buffers (persistent or not), typed attributes (in_features = 3) and a
 * _metadata version.  Parameters and buffers are either bound to caller
 * memory (`_borrow`: the memory must outlive the module) or owned by the
 * module tree.  Everything a module holds is freed with its root.
 *
 * state_dict returns references, not copies: the tensors in the returned
 * OrderedDict point at the module's memory (borrowed storages), in torch's
 * order and key naming, with `_metadata` as torch writes it.
 * load_state_dict copies in place (caller pointers stay valid), converting
 * dtypes as torch's copy_ does, or adopts the file's memory (`assign`).
 *
 * Layers register themselves with torch's parameter names and describe
 * themselves (type name, attributes, parameters) so exporters can walk the
 * tree.  Forward kernels work on float32, use OpenBLAS for matrix products,
 * and never allocate behind the caller's back: activations live in ckpt_nn_act
 * buffers the caller owns.
 *
 * Thread-safety: a module tree belongs to one thread at a time.
 */
#ifndef CKPT_NN_H
#define CKPT_NN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt/autograd.h"
#include "ckpt/core.h"
#include "ckpt/error.h"
#include "ckpt/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ckpt_module ckpt_module;

/* ------------------------------------------------------------------ tree */

/* A root module of the given type name ("Net").  Free with ckpt_module_free. */
CKPT_API ckpt_module *ckpt_module_new(const char *type_name, ckpt_error *err);
/*
 * A root whose whole tree allocates through `a` (NULL = libc, as
 * ckpt_module_new; `a` is copied, its ctx must outlive the tree).  Every
 * module added below it (ckpt_module_add, the ckpt_nn_* constructors with
 * this root or a descendant as parent) inherits it, and so does everything
 * the tree allocates: modules, names, attributes, slots and owned slot
 * memory, layer state and forward scratch, parameter gradients (allocated by
 * backward, freed by ckpt_module_zero_grad / ckpt_optim_zero_grad /
 * ckpt_module_free), and the temporaries and report lists of
 * ckpt_module_state_dict / ckpt_module_load_state_dict / ckpt_module_save /
 * ckpt_module_load.  A layer constructor with parent NULL makes a libc root:
 * to give a single layer an allocator, build it as the child of such a root.
 * An adopted tree keeps the allocator it was built with.  Not covered: the
 * caller's ckpt_nn_act buffers (their own `alloc`), POSIX regcomp of key
 * rules, and a tensor document the caller passes in (its own allocator).
 * Every allocation failure is CKPT_E_NOMEM and leaves the tree usable.
 */
CKPT_API ckpt_module *ckpt_module_new_alloc(const char *type_name, const ckpt_alloc *a,
                                            ckpt_error *err);
/* The allocator `m`'s tree uses (a copy owned by the module), NULL for libc. */
CKPT_API const ckpt_alloc *ckpt_module_alloc(const ckpt_module *m);
/* Free a root module and everything below it.  NULL is fine. */
CKPT_API void ckpt_module_free(ckpt_module *root);
/* Add a child named `name` ("0", "fc1", "layer1") of type `type_name`; owned by
 * the tree.  Adding a name twice is CKPT_E_ARG. */
CKPT_API ckpt_module *ckpt_module_add(ckpt_module *parent, const char *name,
                                      const char *type_name, ckpt_error *err);
/* Register an existing module tree (built with ckpt_module_new) as a child:
 * ownership moves to `parent`. */
CKPT_API int ckpt_module_adopt(ckpt_module *parent, const char *name, ckpt_module *child,
                               ckpt_error *err);
CKPT_API const char *ckpt_module_type(const ckpt_module *m);
CKPT_API const char *ckpt_module_name(const ckpt_module *m); /* "" for a root */
CKPT_API ckpt_module *ckpt_module_parent(const ckpt_module *m);
CKPT_API size_t ckpt_module_child_count(const ckpt_module *m);
CKPT_API ckpt_module *ckpt_module_child(const ckpt_module *m, size_t i);
/* Child by dotted path ("layer1.0.conv1"); NULL if absent. */
CKPT_API ckpt_module *ckpt_module_find(const ckpt_module *m, const char *path);
/* The class's _version recorded in state_dict()'s _metadata (default 1;
 * BatchNorm uses 2). */
CKPT_API void ckpt_module_set_version(ckpt_module *m, int version);
CKPT_API int ckpt_module_version(const ckpt_module *m);
/* train()/eval(): sets the flag on the module and every descendant.  Modules
 * start in training mode, as torch's do: call ckpt_module_train(m, false)
 * before inference (BatchNorm statistics, Dropout). */
CKPT_API void ckpt_module_train(ckpt_module *m, bool training);
CKPT_API bool ckpt_module_training(const ckpt_module *m);

/* ----------------------------------------------------- attributes (describe) */

/* Typed attributes a layer describes itself with (in_features, stride, ...).
 * Setting a name again replaces it.  Arrays are copied.  CKPT_E_ARG (NULL
 * module, NULL or empty name, NULL value), CKPT_E_NOMEM; recorded in `err`. */
CKPT_API int ckpt_module_set_attr_int(ckpt_module *m, const char *name, int64_t v,
                                      ckpt_error *err);
CKPT_API int ckpt_module_set_attr_ints(ckpt_module *m, const char *name, size_t n,
                                       const int64_t *v, ckpt_error *err);
CKPT_API int ckpt_module_set_attr_float(ckpt_module *m, const char *name, double v,
                                        ckpt_error *err);
CKPT_API int ckpt_module_set_attr_bool(ckpt_module *m, const char *name, bool v, ckpt_error *err);
CKPT_API int ckpt_module_set_attr_str(ckpt_module *m, const char *name, const char *v,
                                      ckpt_error *err);
/* Getters return false (and leave *out alone) when the attribute is absent. */
CKPT_API bool ckpt_module_attr_int(const ckpt_module *m, const char *name, int64_t *out);
CKPT_API bool ckpt_module_attr_ints(const ckpt_module *m, const char *name, size_t *n,
                                    const int64_t **v);
CKPT_API bool ckpt_module_attr_float(const ckpt_module *m, const char *name, double *out);
CKPT_API bool ckpt_module_attr_bool(const ckpt_module *m, const char *name, bool *out);
CKPT_API const char *ckpt_module_attr_str(const ckpt_module *m, const char *name);
CKPT_API size_t ckpt_module_attr_count(const ckpt_module *m);
CKPT_API const char *ckpt_module_attr_name(const ckpt_module *m, size_t i);

/* ----------------------------------------------------- parameters, buffers */

/* One parameter or buffer slot of a module. */
typedef struct ckpt_slot {
    const char *name; /* local name ("weight") */
    ckpt_dtype dtype;
    int ndim;
    const int64_t *shape;
    void *data; /* contiguous, row-major; NULL for a None slot */
    uint64_t nbytes;
    bool is_param;           /* parameter (true) or buffer (false) */
    bool persistent;         /* buffers: saved in state_dict; parameters: always true */
    bool requires_grad;      /* parameters */
    bool owned;              /* memory owned by the module tree */
    float *grad;             /* gradient buffer (float32 params), NULL until allocated */
    const ckpt_alloc *alloc; /* the tree's allocator (ckpt_module_alloc; NULL = libc): `data`
                                when owned and `grad` are exact-size blocks of it (nbytes) */
} ckpt_slot;

/* Register a parameter with memory owned by the tree, zero-filled.  Returns
 * the slot (borrowed from the module) or NULL. */
CKPT_API ckpt_slot *ckpt_module_param(ckpt_module *m, const char *name, ckpt_dtype dtype,
                                      int ndim, const int64_t *shape, ckpt_error *err);
/* Register a parameter over caller memory (not copied; must outlive the module). */
CKPT_API ckpt_slot *ckpt_module_param_borrow(ckpt_module *m, const char *name, ckpt_dtype dtype,
                                             int ndim, const int64_t *shape, void *data,
                                             ckpt_error *err);
/* Buffers: same, with `persistent` as torch's register_buffer(persistent=). */
CKPT_API ckpt_slot *ckpt_module_buffer(ckpt_module *m, const char *name, ckpt_dtype dtype,
                                       int ndim, const int64_t *shape, bool persistent,
                                       ckpt_error *err);
CKPT_API ckpt_slot *ckpt_module_buffer_borrow(ckpt_module *m, const char *name, ckpt_dtype dtype,
                                              int ndim, const int64_t *shape, void *data,
                                              bool persistent, ckpt_error *err);
/* A parameter registered as None (e.g. bias=False): never saved, never expected. */
CKPT_API int ckpt_module_param_none(ckpt_module *m, const char *name, ckpt_error *err);
/* A buffer registered as None (register_buffer(name, None), e.g. BatchNorm's
 * running stats with track_running_stats=False): never saved, never expected.
 * Added with the module tree (not in the first header draft). */
CKPT_API int ckpt_module_buffer_none(ckpt_module *m, const char *name, bool persistent,
                                     ckpt_error *err);
/* Slot lookup: local name on `m`, or a dotted path from `m` ("layer1.0.bn1.weight"). */
CKPT_API ckpt_slot *ckpt_module_slot(const ckpt_module *m, const char *path);
CKPT_API size_t ckpt_module_slot_count(const ckpt_module *m);
CKPT_API ckpt_slot *ckpt_module_slot_at(const ckpt_module *m, size_t i);

/* ---------------------------------------------------------------- walking */

/* What a walk visits (bits). */
#define CKPT_WALK_PARAMS 1u
#define CKPT_WALK_BUFFERS 2u
#define CKPT_WALK_PERSISTENT_ONLY 4u /* skip non-persistent buffers (state_dict's view) */

/* Called per slot with its full key ("layer1.0.conv1.weight").  Return 0 to go on,
 * non-zero to stop (returned as is; record why in your payload or pass the
 * same `err`).  The walk itself fails only with CKPT_E_ARG (no module or
 * callback) or CKPT_E_NOMEM, recorded in `err`. */
typedef int (*ckpt_slot_fn)(void *payload, const char *key, ckpt_module *owner, ckpt_slot *s);
/* named_parameters() / named_buffers(): pre-order, own slots first, then
 * children; a slot whose memory was already visited (shared parameters) is
 * skipped, as torch removes duplicates. */
CKPT_API int ckpt_module_walk(ckpt_module *m, uint32_t what, ckpt_slot_fn fn, void *payload,
                              ckpt_error *err);
/* named_modules(): pre-order with dotted prefixes ("" for `m`), duplicates removed. */
typedef int (*ckpt_module_fn)(void *payload, const char *prefix, ckpt_module *m);
CKPT_API int ckpt_module_walk_modules(ckpt_module *m, ckpt_module_fn fn, void *payload,
                                      ckpt_error *err);

/* ------------------------------------------------------------ state dict */

/*
 * module.state_dict(): an OrderedDict in `doc` whose tensors borrow the
 * module's memory (no copy), in torch's order, with `_metadata` versions as
 * torch writes them.  `prefix` is prepended to every key (NULL = "").  The
 * module must outlive every use of the result (saving included).
 */
CKPT_API ckpt_obj *ckpt_module_state_dict(ckpt_module *m, ckpt_doc *doc, const char *prefix,
                                          ckpt_error *err);

/* Key rewriting applied to a checkpoint's keys before matching. */
typedef enum ckpt_key_rule_kind {
    CKPT_KEY_STRIP_PREFIX = 0, /* "module." from DataParallel / DDP files */
    CKPT_KEY_ADD_PREFIX = 1,
    CKPT_KEY_REGEX = 2 /* POSIX extended regex -> replacement with \1..\9 */
} ckpt_key_rule_kind;

typedef struct ckpt_key_rule {
    ckpt_key_rule_kind kind;
    const char *from; /* prefix or regex */
    const char *to;   /* added prefix or replacement */
} ckpt_key_rule;

typedef struct ckpt_load_state_dict_opts {
    bool non_strict;            /* strict=False: missing/unexpected keys are reported, not
                                    errors */
    bool assign;                /* adopt the checkpoint's memory instead of copying (the
                                    document must outlive the module); dtype must match */
    const ckpt_key_rule *rules; /* applied in order to every checkpoint key */
    size_t rule_count;
    const char *prefix;  /* flat keys only: load the entries whose key starts with this
                            prefix ("encoder." of one flat state dict), prefix stripped;
                            it does not enter nested dicts (use sub_key) */
    const char *sub_key; /* a nested dict: "model" loads checkpoint["model"] (a
                            torch.save({'model': model.state_dict(), ...}) file); dotted for
                            deeper ("ckpt.model" = checkpoint["ckpt"]["model"]; a key that
                            itself contains dots is matched whole first).  NULL = the
                            dict itself.  Applied before rules and prefix.  A missing key
                            or a value that is no dict is CKPT_E_NOT_FOUND / CKPT_E_ARG
                            naming the key and listing the keys there. */
} ckpt_load_state_dict_opts;

/* torch's IncompatibleKeys, plus the size mismatches. */
typedef struct ckpt_state_dict_report {
    char **missing; /* keys the module expects that the checkpoint lacks */
    size_t missing_count;
    char **unexpected; /* checkpoint keys the module does not have */
    size_t unexpected_count;
    char **errors; /* per-tensor messages ("size mismatch for fc.weight: ...") */
    size_t error_count;
    ckpt_alloc alloc; /* a copy of the module tree's allocator the lists and message come
                         from (zero = libc); ckpt_state_dict_report_free uses it, so the report
                         may outlive the module */
    char *message;    /* torch's whole message: "Error(s) in loading state_dict for Net:\n\t..."
                           or NULL when everything matched */
} ckpt_state_dict_report;

/*
 * Notes on torch parity (see docs and tests/interop/nn_state_dict.py):
 *  - missing and unexpected keys are always computed (torch 1.13 passes
 *    strict=True to every _load_from_state_dict); `non_strict` only keeps them
 *    out of the error.  Unexpected keys follow torch 2.x's rule: a key with a
 *    further dot must name a child module, a key without one a local
 *    parameter/persistent buffer (1.13 silently ignored "fc" for a child fc and
 *    "fc.weight.x").
 *  - tensors that match are copied even when the call then fails, as torch does.
 *  - key rules run first, then `prefix` selects (and strips) a sub-dict; keys
 *    outside it are ignored and reported keys are the rewritten ones.
 *    _metadata prefixes go through the same rules (as "a.b." with the dot).
 *  - BatchNorm1d/2d/3d/SyncBatchNorm: a missing num_batches_tracked with
 *    _metadata version < 2 (or none) is set to 0 and not reported.
 *  - `assign`: slot->data points into the checkpoint document (contiguous
 *    tensors of the slot's dtype only); the document must outlive the module,
 *    and memory of an mmap-loaded document is read-only.
 *  - err->msg holds at most 255 bytes of torch's message; report->message has
 *    all of it.
 *
 * module.load_state_dict(sd, strict): copies every matching tensor into the
 * module's memory (converting dtype as copy_ does), computing missing and
 * unexpected keys exactly as torch does.  Returns 0, or CKPT_E_SHAPE with
 * err->msg holding torch's message when strict and anything is missing or
 * unexpected, or on any size mismatch (strict or not).  `report` (may be NULL)
 * receives the lists; free it with ckpt_state_dict_report_free.
 */
CKPT_API int ckpt_module_load_state_dict(ckpt_module *m, const ckpt_obj *sd,
                                         const ckpt_load_state_dict_opts *opts,
                                         ckpt_state_dict_report *report, ckpt_error *err);
CKPT_API void ckpt_state_dict_report_free(ckpt_state_dict_report *r);

/*
 * torch.save(model.state_dict(), path): module.state_dict() written to `path`
 * atomically, in torch's zip format (ckpt_save's default layout, which torch
 * 1.6+ loads).  Returns 0 or < 0 (err names the file).
 */
CKPT_API int ckpt_module_save(ckpt_module *m, const char *path, ckpt_error *err);
/*
 * model.load_state_dict(torch.load(path)): load `path` (weights-only) and
 * ckpt_module_load_state_dict it with `opts` (NULL = strict; `sub_key`
 * "model" for a training checkpoint).  `assign` is CKPT_E_ARG here (the
 * document is freed before returning: use ckpt_load and
 * ckpt_module_load_state_dict).  `report` as ckpt_module_load_state_dict.
 */
CKPT_API int ckpt_module_load(ckpt_module *m, const char *path,
                              const ckpt_load_state_dict_opts *opts,
                              ckpt_state_dict_report *report, ckpt_error *err);

/* A deep copy of every slot's bytes into a new document (a snapshot rather
 * than references): state_dict() whose storages the document owns. */
CKPT_API ckpt_obj *ckpt_module_state_dict_copy(ckpt_module *m, ckpt_doc *doc, const char *prefix,
                                               ckpt_error *err);

/* ------------------------------------------------ autograd (ckpt/autograd.h) */

/* A module's own forward (torch's `def forward(self, x)`): call children
 * with ckpt_module_call / ckpt_module_call_child, parameters through
 * ckpt_module_var, and any ckpt_f_* op.  Return the output var or NULL with
 * `err` set.  `ctx` is the pointer given to ckpt_module_set_forward. */
typedef ckpt_var *(*ckpt_forward_fn)(ckpt_module *self, ckpt_var *x, void *ctx, ckpt_error *err);
/* Give `m` a forward function (replacing a layer's built-in one); `ctx` is
 * borrowed and passed to every call.  Such modules nest anywhere. */
CKPT_API int ckpt_module_set_forward(ckpt_module *m, ckpt_forward_fn fn, void *ctx,
                                     ckpt_error *err);
/* module(x): the module's forward on x's tape, in the module's train/eval
 * mode; recorded for backward when grad mode is on.  Layers, Sequential and
 * modules with a forward function can be called; others fail with CKPT_E_ARG. */
CKPT_API ckpt_var *ckpt_module_call(ckpt_module *m, ckpt_var *x, ckpt_error *err);
/* ckpt_module_call on the descendant at dotted `path` ("layer1.0"). */
CKPT_API ckpt_var *ckpt_module_call_child(ckpt_module *m, const char *path, ckpt_var *x,
                                          ckpt_error *err);
/* The parameter or buffer at dotted `path` as a var on tape `t`: it borrows
 * the slot's float32 memory (no copy); a parameter with requires_grad
 * accumulates its gradient into slot->grad, which is allocated (zeroed) by
 * the first backward that reaches it, through the tree's allocator
 * (slot->alloc, whatever the tape's), and freed with the module.  NULL with
 * CKPT_E_NOT_FOUND (no such slot, or a None slot) or CKPT_E_ARG (not float32). */
CKPT_API ckpt_var *ckpt_module_var(ckpt_module *m, const char *path, ckpt_tape *t,
                                   ckpt_error *err);
/* module.zero_grad(set_to_none): every parameter's grad freed (set_to_none,
 * torch 2.x's default: the optimizer then skips it) or zero-filled.
 * Allocates nothing, so it cannot fail. */
CKPT_API void ckpt_module_zero_grad(ckpt_module *m, bool set_to_none);

/* ================================================================ layers */

/* A seeded generator of our own (xoshiro256**), passed explicitly. */
typedef struct ckpt_rng {
    uint64_t s[4];
} ckpt_rng;
/* A NULL `r`: seeding does nothing and both draws return 0. */
CKPT_API void ckpt_rng_seed(ckpt_rng *r, uint64_t seed);
CKPT_API double ckpt_rng_uniform(ckpt_rng *r); /* [0, 1) */
CKPT_API double ckpt_rng_normal(ckpt_rng *r);  /* N(0, 1) */

/* A float32 activation, contiguous row-major, memory owned by the caller;
 * zero-initialise it (alloc NULL = libc) or set `alloc` before the first
 * resize (ckpt_module_alloc(m) puts it with a tree's memory). */
#define CKPT_NN_MAX_DIMS 8
typedef struct ckpt_nn_act {
    float *data;
    int ndim;
    int64_t shape[CKPT_NN_MAX_DIMS];
    size_t cap;              /* capacity of data, in floats */
    const ckpt_alloc *alloc; /* allocator of `data` (NULL = libc), an exact-size block of
                                cap * sizeof(float) bytes; layers' scratch uses the tree's */
} ckpt_nn_act;
/* (Re)size an activation, growing its buffer (through a->alloc) when needed;
 * CKPT_E_NOMEM leaves it as it was. */
CKPT_API int ckpt_nn_act_resize(ckpt_nn_act *a, int ndim, const int64_t *shape, ckpt_error *err);
CKPT_API void ckpt_nn_act_free(ckpt_nn_act *a);
CKPT_API size_t ckpt_nn_act_numel(const ckpt_nn_act *a);

/* Conv padding given as a string (torch's padding='same' / 'valid'). */
typedef enum ckpt_conv_padding {
    CKPT_CONV_PAD_EXPLICIT = 0, /* the numbers in `padding` */
    CKPT_CONV_PAD_SAME,         /* output size = input size; stride must be 1; an odd total
                                   padding puts the extra row/column at the end, as torch */
    CKPT_CONV_PAD_VALID         /* no padding */
} ckpt_conv_padding;
/* torch's padding_mode of Conv1d/Conv2d (ConvTranspose2d: zeros only). */
typedef enum ckpt_padding_mode {
    CKPT_PADMODE_ZEROS = 0,
    CKPT_PADMODE_REFLECT, /* padding < input size */
    CKPT_PADMODE_REPLICATE,
    CKPT_PADMODE_CIRCULAR /* padding <= input size */
} ckpt_padding_mode;

/* Convolution options; zeros mean torch's defaults (stride 1, padding 0,
 * dilation 1, groups 1, with bias, padding_mode 'zeros'). */
typedef struct ckpt_conv_opts {
    int64_t stride[2];
    int64_t padding[2];
    int64_t dilation[2];
    int64_t output_padding[2]; /* ConvTranspose2d */
    int64_t groups;
    bool no_bias;
    ckpt_conv_padding padding_kind; /* 'same' / 'valid' instead of `padding` */
    ckpt_padding_mode padding_mode;
} ckpt_conv_opts;

/* Activation kinds for ckpt_nn_activation. */
typedef enum ckpt_act_kind {
    CKPT_ACT_RELU = 0,
    CKPT_ACT_GELU,      /* exact (erf) */
    CKPT_ACT_GELU_TANH, /* approximate='tanh' */
    CKPT_ACT_SILU,
    CKPT_ACT_TANH,
    CKPT_ACT_SIGMOID,
    CKPT_ACT_SOFTMAX,    /* over `dim` */
    CKPT_ACT_LOGSOFTMAX, /* over `dim` */
    CKPT_ACT_IDENTITY
} ckpt_act_kind;

/*
 * Layer constructors add a child `name` to `parent` (or make a root when
 * `parent` is NULL), register torch's parameters/buffers with torch's names
 * and shapes, initialise them with torch's default distributions drawn from
 * `rng` (NULL = leave zeros), record their attributes, and return the module.
 *
 * One design for every layer:
 *  - the sizes torch takes positionally (in_features, num_features, ...) are
 *    arguments; everything torch gives a default is a field of an options
 *    struct whose zero value is torch's default, and a NULL options pointer
 *    means all defaults;
 *  - a flag whose torch default is True is negated (`no_bias`, `no_affine`,
 *    `no_running_stats`, `no_dropout`) so that zero keeps the default;
 *  - a number whose zero would be a legal non-default value (eps,
 *    momentum) is written as CKPT_NN_ZERO for an explicit 0;
 *  - parameters are float32 (CKPT_F32), contiguous row-major; inputs are
 *    float32 activations (ckpt_nn_act) or tape vars (ckpt_module_call);
 *  - modules start in training mode, as torch's do (ckpt_module_train(m,
 *    false) is torch's eval()).
 */

/* An explicit zero for an option whose zero value means torch's default
 * (`.eps = CKPT_NN_ZERO`, `.momentum = CKPT_NN_ZERO`): a negative zero. */
#define CKPT_NN_ZERO (-0.0)
/* BatchNorm `momentum=None` (a cumulative moving average). */
#define CKPT_NN_MOMENTUM_NONE (-1.0)

/* nn.Linear options; zero = torch's default (bias=True). */
typedef struct ckpt_linear_opts {
    bool no_bias; /* bias=False: `bias` registered as None */
} ckpt_linear_opts;

/* Options of the normalisation layers; zero = torch's defaults.
 *   eps              0: 1e-5 (CKPT_NN_ZERO for 0)           all
 *   momentum         0: 0.1 (CKPT_NN_ZERO for 0,
 *                    CKPT_NN_MOMENTUM_NONE for None)         BatchNorm
 *   no_affine        affine / elementwise_affine=False:
 *                    weight and bias registered as None      all
 *   no_running_stats track_running_stats=False: the running
 *                    buffers registered as None, batch
 *                    statistics used in eval mode too        BatchNorm
 * Fields a layer does not have are ignored. */
typedef struct ckpt_norm_opts {
    double eps;
    double momentum;
    bool no_affine;
    bool no_running_stats;
} ckpt_norm_opts;

/* nn.Embedding options; zero = torch's defaults (padding_idx=None).
 * torch's max_norm, norm_type (recorded as 2.0), scale_grad_by_freq and
 * sparse (recorded as False) are not supported. */
typedef struct ckpt_embedding_opts {
    bool has_padding_idx; /* padding_idx given (0 is a valid index) */
    int64_t padding_idx;  /* in [-num_embeddings, num_embeddings); negative counts
                             from the end and is stored normalised, as torch */
} ckpt_embedding_opts;

/* nn.MultiheadAttention options; zero = torch's defaults (dropout 0.0,
 * bias=True, batch_first=False).  torch's add_bias_kv, add_zero_attn, kdim
 * and vdim are not supported (kdim = vdim = embed_dim). */
typedef struct ckpt_multihead_attention_opts {
    double dropout; /* on the attention weights, in training mode */
    bool no_bias;   /* bias=False: in_proj_bias and out_proj.bias None */
    bool batch_first;
} ckpt_multihead_attention_opts;

/* Options of the transformer layers (TransformerEncoderLayer,
 * TransformerEncoder, TransformerDecoderLayer); the zero value is torch's
 * default. */
typedef struct ckpt_transformer_opts {
    int64_t dim_feedforward; /* 0: 2048 */
    double dropout;          /* 0: torch's 0.1; set no_dropout for none */
    bool no_dropout;
    ckpt_act_kind activation; /* CKPT_ACT_RELU (0, "relu") or CKPT_ACT_GELU ("gelu") */
    double layer_norm_eps;    /* 0: 1e-5 */
    bool batch_first;
    bool norm_first;
    bool final_norm; /* TransformerEncoder: a LayerNorm `norm` after the stack */
} ckpt_transformer_opts;

/* nn.Linear(in_features, out_features): weight (out, in), bias (out), both
 * U(-1/sqrt(in), 1/sqrt(in)).  Input (*, in) -> (*, out). */
CKPT_API ckpt_module *ckpt_nn_linear(ckpt_module *parent, const char *name, int64_t in_features,
                                     int64_t out_features, const ckpt_linear_opts *o,
                                     ckpt_rng *rng, ckpt_error *err);
/* nn.Conv1d / nn.Conv2d / nn.ConvTranspose2d(in_ch, out_ch, kernel):
 * options in ckpt_conv_opts (zero = torch's defaults, `no_bias` for
 * bias=False).  Input (N, C, L) / (N, C, H, W) (batched only). */
CKPT_API ckpt_module *ckpt_nn_conv1d(ckpt_module *parent, const char *name, int64_t in_ch,
                                     int64_t out_ch, int64_t kernel, const ckpt_conv_opts *o,
                                     ckpt_rng *rng, ckpt_error *err);
CKPT_API ckpt_module *ckpt_nn_conv2d(ckpt_module *parent, const char *name, int64_t in_ch,
                                     int64_t out_ch, int64_t kh, int64_t kw,
                                     const ckpt_conv_opts *o, ckpt_rng *rng, ckpt_error *err);
CKPT_API ckpt_module *ckpt_nn_conv_transpose2d(ckpt_module *parent, const char *name,
                                               int64_t in_ch, int64_t out_ch, int64_t kh,
                                               int64_t kw, const ckpt_conv_opts *o, ckpt_rng *rng,
                                               ckpt_error *err);
/* nn.BatchNorm1d (dims 1: input (N, C) or (N, C, L)) / nn.BatchNorm2d
 * (dims 2: input (N, C, H, W)) over num_features channels; options
 * ckpt_norm_opts (eps 1e-5, momentum 0.1, affine, track_running_stats).
 * weight 1, bias 0, running_mean 0, running_var 1, num_batches_tracked 0
 * (int64); _metadata version 2. */
CKPT_API ckpt_module *ckpt_nn_batchnorm(ckpt_module *parent, const char *name, int dims,
                                        int64_t num_features, const ckpt_norm_opts *o,
                                        ckpt_error *err);
/* nn.LayerNorm(normalized_shape) over the last `ndims` dims (1..8) of any
 * input ending with normalized_shape; options ckpt_norm_opts (eps 1e-5,
 * elementwise_affine; no_affine registers weight and bias as None). */
CKPT_API ckpt_module *ckpt_nn_layernorm(ckpt_module *parent, const char *name, int ndims,
                                        const int64_t *normalized_shape, const ckpt_norm_opts *o,
                                        ckpt_error *err);
/* nn.GroupNorm(num_groups, num_channels): input (N, C, *) with C =
 * num_channels divisible by num_groups; options ckpt_norm_opts (eps 1e-5,
 * affine). */
CKPT_API ckpt_module *ckpt_nn_groupnorm(ckpt_module *parent, const char *name, int64_t num_groups,
                                        int64_t num_channels, const ckpt_norm_opts *o,
                                        ckpt_error *err);
/* nn.Embedding(num_embeddings, embedding_dim): weight N(0, 1), the
 * padding_idx row zeroed and given no gradient.  Indices are int64. */
CKPT_API ckpt_module *ckpt_nn_embedding(ckpt_module *parent, const char *name,
                                        int64_t num_embeddings, int64_t embedding_dim,
                                        const ckpt_embedding_opts *o, ckpt_rng *rng,
                                        ckpt_error *err);
/* nn.Dropout(p), p in [0, 1]; identity in eval mode. */
CKPT_API ckpt_module *ckpt_nn_dropout(ckpt_module *parent, const char *name, double p,
                                      ckpt_error *err);
/* nn.ReLU / GELU / SiLU / Tanh / Sigmoid / Softmax / LogSoftmax / Identity:
 * any input shape; `dim` is used by SOFTMAX/LOGSOFTMAX (negative counts from
 * the end) and ignored by the others. */
CKPT_API ckpt_module *ckpt_nn_activation(ckpt_module *parent, const char *name,
                                         ckpt_act_kind kind, int dim, ckpt_error *err);
/* nn.MaxPool2d / nn.AvgPool2d with every torch option (ckpt_pool_opts of
 * ckpt/autograd.h; `kernel` is required, zeros elsewhere mean torch's
 * defaults: stride = kernel, padding 0, dilation 1, ceil_mode off,
 * count_include_pad on, no divisor_override).  Input (N, C, H, W).
 * Padding must be at most half the kernel; dilation applies to max pooling,
 * exclude_pad and divisor_override to average pooling.  An attribute whose
 * two entries agree is recorded as an int (torch's MaxPool2d(2)), otherwise
 * as an (h, w) pair.  NULL options are CKPT_E_ARG. */
CKPT_API ckpt_module *ckpt_nn_maxpool2d(ckpt_module *parent, const char *name,
                                        const ckpt_pool_opts *o, ckpt_error *err);
CKPT_API ckpt_module *ckpt_nn_avgpool2d(ckpt_module *parent, const char *name,
                                        const ckpt_pool_opts *o, ckpt_error *err);
/* nn.AdaptiveAvgPool2d((out_h, out_w)): input (N, C, H, W). */
CKPT_API ckpt_module *ckpt_nn_adaptive_avgpool2d(ckpt_module *parent, const char *name,
                                                 int64_t out_h, int64_t out_w, ckpt_error *err);
/* nn.Flatten(start_dim, end_dim); negative dims count from the end. */
CKPT_API ckpt_module *ckpt_nn_flatten(ckpt_module *parent, const char *name, int start_dim,
                                      int end_dim, ckpt_error *err);
/* Containers: children are added with the constructors above (Sequential and
 * ModuleList children are named "0", "1", ...). */
CKPT_API ckpt_module *ckpt_nn_sequential(ckpt_module *parent, const char *name, ckpt_error *err);
CKPT_API ckpt_module *ckpt_nn_module_list(ckpt_module *parent, const char *name, ckpt_error *err);
CKPT_API ckpt_module *ckpt_nn_module_dict(ckpt_module *parent, const char *name, ckpt_error *err);
/* nn.MultiheadAttention(embed_dim, num_heads): in_proj_weight (3E, E)
 * xavier-uniform, in_proj_bias (3E) 0, out_proj (a
 * NonDynamicallyQuantizableLinear) with bias 0.  embed_dim divisible by
 * num_heads.  Inputs (L, B, E), (B, L, E) with batch_first, or (L, E). */
CKPT_API ckpt_module *ckpt_nn_multihead_attention(ckpt_module *parent, const char *name,
                                                  int64_t embed_dim, int64_t num_heads,
                                                  const ckpt_multihead_attention_opts *o,
                                                  ckpt_rng *rng, ckpt_error *err);
/* nn.TransformerEncoderLayer(d_model, nhead): children self_attn, linear1,
 * dropout, linear2, norm1, norm2, dropout1, dropout2; options
 * ckpt_transformer_opts (final_norm ignored); activation relu or gelu. */
CKPT_API ckpt_module *ckpt_nn_transformer_encoder_layer(ckpt_module *parent, const char *name,
                                                        int64_t d_model, int64_t nhead,
                                                        const ckpt_transformer_opts *o,
                                                        ckpt_rng *rng, ckpt_error *err);

/*
 * Forward of a layer or a Sequential, in the module's current train/eval
 * mode (BatchNorm statistics, Dropout).  `out` is resized as needed.
 * `rng` drives Dropout masks in training mode (NULL: dropout acts as identity).
 * Scratch memory: the kernels never allocate, but a few layers keep scratch
 * activations inside the module (from the tree's allocator), grown on first
 * use and reused by later calls (freed with the module): Sequential (its intermediate activations),
 * Conv1d/Conv2d (im2col columns), ConvTranspose2d, BatchNorm (batch
 * statistics), MultiheadAttention and TransformerEncoderLayer (projections,
 * scores, feed-forward hidden).  Element-wise layers (activations, Dropout,
 * BatchNorm, LayerNorm, GroupNorm, Flatten) accept `out == in`; the others
 * fail with CKPT_E_ARG when they alias.
 */
CKPT_API int ckpt_nn_forward(ckpt_module *m, const ckpt_nn_act *in, ckpt_nn_act *out,
                             ckpt_rng *rng, ckpt_error *err);
/* Embedding forward: `idx` holds n indices (int64); out gets shape (n, dim)
 * or the index shape + (dim) when given. */
CKPT_API int ckpt_nn_embedding_forward(ckpt_module *m, const int64_t *idx, int idx_ndim,
                                       const int64_t *idx_shape, ckpt_nn_act *out,
                                       ckpt_error *err);
/* MultiheadAttention(query, key, value) without masks; output only. */
CKPT_API int ckpt_nn_multihead_attention_forward(ckpt_module *m, const ckpt_nn_act *q,
                                                 const ckpt_nn_act *k, const ckpt_nn_act *v,
                                                 ckpt_nn_act *out, ckpt_error *err);

/* ================================================================ losses
 * Losses over raw float32 pointers, mean reduction, torch 1.13 semantics.  The
 * backward calls ADD dloss * d(loss)/d(input) into their gradient; the layer
 * forward and backward kernels are the explicit tier of ckpt/kernels.h.
 *
 * Cross-entropy over logits (N,C) with class-index targets (N): with
 * p = log_softmax(logits) and M the count of targets != ignore_index,
 *   loss = (1-eps) * sum_i -p[i,t_i] / M + eps * sum_i mean_c(-p[i,c]) / M,
 * ignored rows counting in neither sum nor M (M = 0 gives NaN, as torch).
 * eps is label_smoothing in [0, 1].  Both return 0, or (writing nothing, and
 * recording why in `err`) CKPT_E_ARG when a target is neither ignore_index
 * nor in [0, C) (the message names the row and value), a pointer is NULL or
 * label_smoothing is outside [0, 1], and CKPT_E_SHAPE when N < 0 or C < 1. */
CKPT_API int ckpt_nn_cross_entropy_forward(float *loss, const float *logits,
                                           const int64_t *target, int64_t n, int64_t c,
                                           double label_smoothing, int64_t ignore_index,
                                           ckpt_error *err);
/* dlogits (N,C) += dloss * d(loss)/d(logits). */
CKPT_API int ckpt_nn_cross_entropy_backward(float *dlogits, float dloss, const float *logits,
                                            const int64_t *target, int64_t n, int64_t c,
                                            double label_smoothing, int64_t ignore_index,
                                            ckpt_error *err);
/* loss = mean((x - y)^2) over n values (n = 0 gives NaN). */
CKPT_API float ckpt_nn_mse_loss_forward(const float *x, const float *y, size_t n);
/* dx (N) += dloss * 2 (x - y) / n; dy (N) gets the negation; either may be NULL. */
CKPT_API void ckpt_nn_mse_loss_backward(float *dx, float *dy, float dloss, const float *x,
                                        const float *y, size_t n);

/* ========================================================= recurrent layers */
/* torch.nn.LSTM / torch.nn.GRU (proj_size 0).  Options: ckpt_rnn_opts (in
 * ckpt/autograd.h), NULL or zero = torch's defaults.  Parameters, in torch's
 * order, for each layer k and direction (suffix "" then "_reverse"):
 * weight_ih_l{k} (G, input_size or dirs*hidden_size), weight_hh_l{k} (G, H),
 * bias_ih_l{k} (G), bias_hh_l{k} (G) (no biases with no_bias), G = 4H for
 * LSTM (gates i, f, g, o) and 3H for GRU (r, z, n); all drawn from
 * U(-1/sqrt(H), 1/sqrt(H)) (rng NULL: zeros).  Dropout between layers acts
 * in training mode only.  ckpt_module_call(m, x) returns the output only. */
CKPT_API ckpt_module *ckpt_nn_lstm(ckpt_module *parent, const char *name, int64_t input_size,
                                   int64_t hidden_size, const ckpt_rnn_opts *o, ckpt_rng *rng,
                                   ckpt_error *err);
CKPT_API ckpt_module *ckpt_nn_gru(ckpt_module *parent, const char *name, int64_t input_size,
                                  int64_t hidden_size, const ckpt_rnn_opts *o, ckpt_rng *rng,
                                  ckpt_error *err);
/* output, (h_n, c_n) = lstm(x, (h0, c0)): h0/c0 NULL = zeros (both or
 * neither); h_n, c_n may be NULL.  Shapes as ckpt_f_lstm. */
CKPT_API ckpt_var *ckpt_nn_lstm_call(ckpt_module *m, ckpt_var *x, ckpt_var *h0, ckpt_var *c0,
                                     ckpt_var **h_n, ckpt_var **c_n, ckpt_error *err);
/* output, h_n = gru(x, h0). */
CKPT_API ckpt_var *ckpt_nn_gru_call(ckpt_module *m, ckpt_var *x, ckpt_var *h0, ckpt_var **h_n,
                                    ckpt_error *err);

/* ============================================ attention on the tape (masks) */
/* Masks of one attention call; every member optional.  A mask is float32
 * (added to the attention scores; -inf masks) or int64 (torch's bool:
 * nonzero = masked).  Masks carry no gradient.
 *   attn_mask        (L, S) or (B*num_heads, L, S) (unbatched: (num_heads, L, S))
 *   key_padding_mask (B, S) (unbatched: (S)); a float one is added to the
 *                    scores, as torch 2.x does (1.13 only without attn_mask)
 *   is_causal        key j > query i masked (torch 2.x's argument; combined
 *                    with the masks above when both are given). */
typedef struct ckpt_attn_masks {
    ckpt_var *attn_mask;
    ckpt_var *key_padding_mask;
    bool is_causal;
} ckpt_attn_masks;
/* MultiheadAttention(query, key, value, need_weights=False) on the tape:
 * inputs (L,B,E) ((B,L,E) with batch_first, (L,E) unbatched); key/value
 * NULL mean query (self-attention).  Dropout on the weights in training.
 * ckpt_module_call(mha, x) is self-attention without masks. */
CKPT_API ckpt_var *ckpt_nn_multihead_attention_call(ckpt_module *m, ckpt_var *query,
                                                    ckpt_var *key, ckpt_var *value,
                                                    const ckpt_attn_masks *masks,
                                                    ckpt_error *err);
/* torch.nn.TransformerEncoder(TransformerEncoderLayer(d_model, nhead, ...),
 * num_layers, norm=LayerNorm(d_model) if final_norm): children `layers`
 * (a ModuleList of layers "0".."n-1", all starting with layer 0's weights as
 * torch's deep copies do) and `norm`.  ckpt_module_call runs it unmasked. */
CKPT_API ckpt_module *ckpt_nn_transformer_encoder(ckpt_module *parent, const char *name,
                                                  int64_t d_model, int64_t nhead,
                                                  int64_t num_layers,
                                                  const ckpt_transformer_opts *o, ckpt_rng *rng,
                                                  ckpt_error *err);
/* torch.nn.TransformerDecoderLayer: children self_attn, multihead_attn,
 * linear1, dropout, linear2, norm1, norm2, norm3, dropout1..3. */
CKPT_API ckpt_module *ckpt_nn_transformer_decoder_layer(ckpt_module *parent, const char *name,
                                                        int64_t d_model, int64_t nhead,
                                                        const ckpt_transformer_opts *o,
                                                        ckpt_rng *rng, ckpt_error *err);
/* TransformerEncoderLayer or TransformerEncoder forward on the tape with
 * src_mask / src_key_padding_mask / is_causal (masks may be NULL). */
CKPT_API ckpt_var *ckpt_nn_transformer_encoder_call(ckpt_module *m, ckpt_var *src,
                                                    const ckpt_attn_masks *masks,
                                                    ckpt_error *err);
/* TransformerDecoderLayer(tgt, memory, tgt_mask, memory_mask,
 * tgt_key_padding_mask, memory_key_padding_mask): tgt_masks apply to the
 * self-attention, memory_masks to the attention over memory. */
CKPT_API ckpt_var *ckpt_nn_transformer_decoder_layer_call(ckpt_module *m, ckpt_var *tgt,
                                                          ckpt_var *memory,
                                                          const ckpt_attn_masks *tgt_masks,
                                                          const ckpt_attn_masks *memory_masks,
                                                          ckpt_error *err);

#ifdef __cplusplus
}
#endif
#endif
