/*
 * src/jit/pt2_internal.h - a torch.export program as read from a .pt2
 * archive (src/jit/pt2.c) and run (src/jit/pt2_run.c).
 *
 * The JSON is the ExportedProgram of torch/_export/serde/schema.py (schema
 * version 8.x; schema.yaml is its generated form): graph_module.graph has
 * `inputs` (Argument), `nodes` (Node: target, inputs as NamedArgument,
 * outputs as Argument) and `outputs`; graph_module.signature has input_specs
 * / output_specs.  A union (Argument, InputSpec, ...) is a JSON object with
 * exactly one member, named by the union field (serialize.py,
 * _dataclass_to_dict); enums are their integer values (EnumEncoder).
 *
 * Every name a node reads is resolved at read time to a value slot defined
 * earlier (a graph input or an earlier node's output), so the graph is run
 * in file order and a cycle or a dangling name is a read error.
 */
#ifndef CKPT_JIT_PT2_INTERNAL_H
#define CKPT_JIT_PT2_INTERNAL_H

#include "jit/jit_internal.h"

#define PT2_MAX_NODES 1000000
#define PT2_MAX_ARGS 1024       /* named arguments of one node, outputs of one node */
#define PT2_MAX_LIST 1000000    /* elements of one list argument */
#define PT2_MAX_JSON (1u << 30) /* bytes of one JSON record */

/* Argument kinds (schema.py class Argument, the union fields we run). */
enum {
    PA_NONE = 0,
    PA_TENSOR,      /* slot */
    PA_TENSORS,     /* slots[n] */
    PA_OPT_TENSORS, /* slots[n], -1 = None */
    PA_INT,
    PA_INTS,
    PA_FLOAT,
    PA_FLOATS,
    PA_STR,
    PA_STRS,
    PA_BOOL,
    PA_BOOLS,
    PA_SYM_INT,  /* slot >= 0 (a named SymInt) or the literal in i */
    PA_SYM_INTS, /* slots[n] (-1: literal ints[k]) */
    PA_SYM_BOOL,
    PA_SYM_FLOAT,
    PA_SCALAR_TYPE,   /* i: torch ScalarType (c10 numbering) */
    PA_MEMORY_FORMAT, /* i: c10 MemoryFormat numbering */
    PA_LAYOUT,        /* i: c10 Layout numbering */
    PA_DEVICE         /* s: type, i: index (-1 none) */
};

typedef struct pt2_arg {
    int kind;
    int64_t i;
    double f;
    char *s;
    int slot;
    size_t n;
    int *slots;
    int64_t *ints;
    double *floats;
    char **strs;
} pt2_arg;

typedef struct pt2_named {
    char *name; /* schema argument name ("" for higher-order ops) */
    bool keyword;
    pt2_arg arg;
} pt2_named;

typedef struct pt2_node {
    char *target; /* "torch.ops.aten.conv2d.default" */
    char *op;     /* what jit_aten_call gets: "conv2d", "quantized::conv2d" */
    int special;  /* PT2_SP_* */
    pt2_named *in;
    size_t n_in;
    pt2_arg *out; /* PA_TENSOR / PA_TENSORS / PA_SYM_* / PA_NONE */
    size_t n_out;
    char *label; /* "node 3 'relu_1' (torch.ops.aten.relu.default)" for errors */
} pt2_node;

enum { PT2_SP_NONE = 0, PT2_SP_GETITEM, PT2_SP_SYM_BINOP };

/* What binds a graph input (schema.py InputSpec). */
enum {
    PT2_IN_USER = 1,
    PT2_IN_PARAM,
    PT2_IN_BUFFER,
    PT2_IN_CONST_TENSOR,
    PT2_IN_CONST_VALUE,
    PT2_IN_TOKEN
};
typedef struct pt2_input {
    int kind;
    char *name;   /* placeholder name */
    char *target; /* parameter/buffer/constant fqn */
    bool persistent;
    bool is_sym; /* a user input that is a SymInt/SymFloat (an int/float argument) */
    int slot;
    jv *value; /* PARAM/BUFFER/CONST_TENSOR: the tensor; CONST_VALUE: the constant */
} pt2_input;

enum { PT2_OUT_USER = 1, PT2_OUT_SKIP };
typedef struct pt2_output {
    int kind;
    pt2_arg arg;
} pt2_output;

typedef struct pt2_program {
    char *json_record; /* "serialized_exported_program.json", "model/models/model.json" */
    int layout;        /* 1: torch 2.1-2.7 zip, 2: PT2 archive */
    char *schema_version;
    char *torch_version;
    size_t n_slots;
    char **slot_names;
    int *last_use; /* node index of a slot's last read (-1 none; n_nodes: graph output) */
    pt2_input *inputs;
    size_t n_inputs;
    pt2_node *nodes;
    size_t n_nodes;
    pt2_output *outputs;
    size_t n_outputs;
    ckpt_doc *const_doc; /* serialized_constants.pt / data/constants/<model>.pt */
    jv *storages;        /* JV_LIST: raw records of the PT2 archive (uint8 tensors) */
} pt2_program;

void pt2_program_free(void *p);

#endif
