/*
 * src/jit/lite_internal.h - lite (mobile) bytecode: what jit_read_lite reads
 * from bytecode.pkl (lite_read.c) and the register-machine interpreter runs
 * (lite_run.c).  Facts from torch/csrc/jit/runtime/instruction.h,
 * torch/csrc/jit/mobile/parse_bytecode.cpp and mobile/interpreter.cpp.
 */
#ifndef CKPT_LITE_INTERNAL_H
#define CKPT_LITE_INTERNAL_H

#include "jit/jit_internal.h"

/* Opcodes (instruction.h names; only the ones the interpreter knows). */
enum {
    LITE_OP = 0,
    LITE_OPN,
    LITE_LOAD,
    LITE_LOADC,
    LITE_MOVE,
    LITE_STORE,
    LITE_STOREN,
    LITE_DROP,
    LITE_DROPR,
    LITE_JF,
    LITE_JMP,
    LITE_LOOP,
    LITE_RET,
    LITE_CALL,
    LITE_INTERFACE_CALL,
    LITE_GET_ATTR,
    LITE_SET_ATTR,
    LITE_LIST_UNPACK,
    LITE_TUPLE_CONSTRUCT,
    LITE_NAMED_TUPLE_CONSTRUCT,
    LITE_LIST_CONSTRUCT,
    LITE_DICT_CONSTRUCT,
    LITE_CREATE_OBJECT,
    LITE_ISINSTANCE,
    LITE_TUPLE_SLICE,
    LITE_TUPLE_INDEX,
    LITE_RAISE_EXCEPTION,
    LITE_DICT_INDEX,
    LITE_UNCHECKED_CAST,
    LITE_IS,
    LITE_UN_INITIALIZED,
    LITE_ISNOT,
    LITE_FORMAT,
    LITE_DEVICE,
    LITE_DTYPE,
    LITE_DIM,
    LITE_NOT,
    LITE_TO_LIST,
    LITE_NUM_TO_TENSOR,
    LITE_IS_CUDA,
    LITE_WARN,
    LITE_ENTER,
    LITE_EXIT,
    LITE_N_OPCODES
};

typedef struct lite_ins {
    int op;
    int32_t x, n;
} lite_ins;

/* One operator-table entry: ("aten::add", "Tensor", num_specified_args). */
typedef struct lite_opref {
    char *full;          /* "aten::add.Tensor", for errors */
    char *name;          /* what jit_aten_call gets: "add", "quantized::conv2d", or "prim::X" */
    int n_args;          /* arguments popped; -1: from the schema table at call time */
    int n_ret;           /* results pushed (from the schema; 1 when unknown) */
    const char *argspec; /* schema argument names ("self,other,*alpha"), or NULL */
} lite_opref;

typedef struct lite_fn {
    char *qualname; /* "__torch__.Net.forward" */
    lite_ins *ins;
    size_t n_ins;
    lite_opref *ops;
    size_t n_ops;
    jv **consts;
    size_t n_consts;
    char **types;
    size_t n_types;
    int64_t reg_size;
    /* schema (bytecode v5+): arguments including self, defaults (NULL: none) */
    char **arg_names;
    jv **arg_defaults;
    size_t n_args;
    bool has_schema;
} lite_fn;

typedef struct lite_prog {
    int64_t version;
    lite_fn *fns;
    size_t n_fns;
    ckpt_doc *doc; /* bytecode.pkl document: constant tensors borrow its storages */
} lite_prog;

const lite_fn *lite_find_fn(const lite_prog *p, const char *qualname);
/* The schema-table entry for "aten::add" + "Tensor": returns its argspec and
 * result count, or NULL. */
const char *lite_schema(const char *name, const char *overload, int *n_ret);
/* ckpt_obj (a pickle node of a torch archive) -> jv; used for bytecode constants. */
jv *lite_obj_to_jv(ckpt_jit_model *m, const ckpt_obj *o, int depth, ckpt_error *err);
int lite_opcode(const char *name); /* -1 when unknown */
const char *lite_opcode_name(int op);

#endif
