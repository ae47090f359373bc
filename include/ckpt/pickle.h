/*
 * ckpt/pickle.h - a pickle VM (protocols 0-5) that never runs anything.
 *
 * The VM builds ckpt_obj nodes in a document for every plain value (None,
 * bools, ints up to 64 bits, floats, str, bytes, tuples, lists, dicts, sets)
 * and asks the caller, through hooks, what a global, a persistent id, a
 * call (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST), a BUILD or an extension code
 * means.  It knows nothing about torch: the torch layer's hooks turn
 * torch._utils._rebuild_tensor_v2 into a tensor, and so on.
 *
 * The VM keeps an explicit stack and a hashed memo (memo indices may be
 * sparse and large; BINGET is O(1) and shares the node, so a memo "billion
 * laughs" stays small).  APPEND(S)/SETITEM(S)/ADDITEMS are applied only to
 * lists, dicts and sets the VM created (or to OBJECT nodes, recorded as
 * items); anything else is CKPT_E_UNSAFE.  Every length, index and stack
 * operation is bounds-checked.  Errors name the opcode and its byte offset.
 */
#ifndef CKPT_PICKLE_H
#define CKPT_PICKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opcode bytes (pickletools names). */
enum {
    CKPT_OP_MARK = '(',
    CKPT_OP_STOP = '.',
    CKPT_OP_POP = '0',
    CKPT_OP_POP_MARK = '1',
    CKPT_OP_DUP = '2',
    CKPT_OP_FLOAT = 'F',
    CKPT_OP_INT = 'I',
    CKPT_OP_BININT = 'J',
    CKPT_OP_BININT1 = 'K',
    CKPT_OP_LONG = 'L',
    CKPT_OP_BININT2 = 'M',
    CKPT_OP_NONE = 'N',
    CKPT_OP_PERSID = 'P',
    CKPT_OP_BINPERSID = 'Q',
    CKPT_OP_REDUCE = 'R',
    CKPT_OP_STRING = 'S',
    CKPT_OP_BINSTRING = 'T',
    CKPT_OP_SHORT_BINSTRING = 'U',
    CKPT_OP_UNICODE = 'V',
    CKPT_OP_BINUNICODE = 'X',
    CKPT_OP_APPEND = 'a',
    CKPT_OP_BUILD = 'b',
    CKPT_OP_GLOBAL = 'c',
    CKPT_OP_DICT = 'd',
    CKPT_OP_EMPTY_DICT = '}',
    CKPT_OP_APPENDS = 'e',
    CKPT_OP_GET = 'g',
    CKPT_OP_BINGET = 'h',
    CKPT_OP_INST = 'i',
    CKPT_OP_LONG_BINGET = 'j',
    CKPT_OP_LIST = 'l',
    CKPT_OP_EMPTY_LIST = ']',
    CKPT_OP_OBJ = 'o',
    CKPT_OP_PUT = 'p',
    CKPT_OP_BINPUT = 'q',
    CKPT_OP_LONG_BINPUT = 'r',
    CKPT_OP_SETITEM = 's',
    CKPT_OP_TUPLE = 't',
    CKPT_OP_EMPTY_TUPLE = ')',
    CKPT_OP_SETITEMS = 'u',
    CKPT_OP_BINFLOAT = 'G',
    CKPT_OP_PROTO = 0x80,
    CKPT_OP_NEWOBJ = 0x81,
    CKPT_OP_EXT1 = 0x82,
    CKPT_OP_EXT2 = 0x83,
    CKPT_OP_EXT4 = 0x84,
    CKPT_OP_TUPLE1 = 0x85,
    CKPT_OP_TUPLE2 = 0x86,
    CKPT_OP_TUPLE3 = 0x87,
    CKPT_OP_NEWTRUE = 0x88,
    CKPT_OP_NEWFALSE = 0x89,
    CKPT_OP_LONG1 = 0x8a,
    CKPT_OP_LONG4 = 0x8b,
    CKPT_OP_BINBYTES = 'B',
    CKPT_OP_SHORT_BINBYTES = 'C',
    CKPT_OP_SHORT_BINUNICODE = 0x8c,
    CKPT_OP_BINUNICODE8 = 0x8d,
    CKPT_OP_BINBYTES8 = 0x8e,
    CKPT_OP_EMPTY_SET = 0x8f,
    CKPT_OP_ADDITEMS = 0x90,
    CKPT_OP_FROZENSET = 0x91,
    CKPT_OP_NEWOBJ_EX = 0x92,
    CKPT_OP_STACK_GLOBAL = 0x93,
    CKPT_OP_MEMOIZE = 0x94,
    CKPT_OP_FRAME = 0x95,
    CKPT_OP_BYTEARRAY8 = 0x96,
    CKPT_OP_NEXT_BUFFER = 0x97,
    CKPT_OP_READONLY_BUFFER = 0x98
};

/* Name of an opcode byte ("BINPUT"), or NULL if the byte is not an opcode. */
CKPT_API const char *ckpt_pickle_op_name(int op);

/*
 * Hooks.  Each receives the byte offset of the opcode that triggered it and
 * the opcode itself, and returns a node in `doc` (or 0) on success, NULL
 * (or < 0) after filling `err`.  A NULL hook means "refuse" for calls and
 * "make a GLOBAL node" for find_class.
 */
typedef struct ckpt_pickle_hooks {
    void *ctx;
    ckpt_obj *(*find_class)(void *ctx, ckpt_doc *doc, const char *module, const char *name,
                            int op, uint64_t off, ckpt_error *err);
    ckpt_obj *(*persistent_load)(void *ctx, ckpt_doc *doc, ckpt_obj *pid, int op, uint64_t off,
                                 ckpt_error *err);
    /* REDUCE: callable(*args) */
    ckpt_obj *(*reduce)(void *ctx, ckpt_doc *doc, ckpt_obj *callable, ckpt_obj *args, int op,
                        uint64_t off, ckpt_error *err);
    /* NEWOBJ (kwargs NULL), NEWOBJ_EX, OBJ and INST: cls.__new__(cls, *args, **kwargs) */
    ckpt_obj *(*newobj)(void *ctx, ckpt_doc *doc, ckpt_obj *cls, ckpt_obj *args, ckpt_obj *kwargs,
                        int op, uint64_t off, ckpt_error *err);
    /* BUILD: apply `state` to `obj` */
    int (*build)(void *ctx, ckpt_doc *doc, ckpt_obj *obj, ckpt_obj *state, int op, uint64_t off,
                 ckpt_error *err);
    /* EXT1/2/4: the object registered under an extension code */
    ckpt_obj *(*ext)(void *ctx, ckpt_doc *doc, int64_t code, int op, uint64_t off,
                     ckpt_error *err);
} ckpt_pickle_hooks;

typedef struct ckpt_pickle_opts {
    const char *name;     /* stream name for errors ("data.pkl"); NULL = "<pickle>" */
    uint32_t max_depth;   /* MARK nesting; 0 = 1000 */
    uint64_t max_objects; /* nodes in the document; 0 = 64M */
    uint64_t max_stack;   /* stack entries; 0 = 16M */
    bool bytes_strings;   /* STRING/BINSTRING/SHORT_BINSTRING give bytes (encoding='bytes'),
                              otherwise str (torch.load's encoding='utf-8') */
    bool latin1_strings;  /* ...give str decoded as latin-1 (encoding='latin1', the usual
                              choice for Python-2 checkpoints holding numpy data) */
    bool big_ints;        /* integers beyond 64 bits become OBJECT nodes with how "bigint"
                              and args (bytes: little-endian two's complement) instead of
                              failing with CKPT_E_UNSUPPORTED (the legacy magic number is 80
                              bits) */
} ckpt_pickle_opts;

/*
 * Run the pickle in `buf` until STOP.  Returns the object on top of the
 * stack, owned by `doc`.  `consumed` (may be NULL) receives the number of
 * bytes read including STOP, so consecutive pickles can be read from one
 * buffer.  Fails when the stream ends before STOP.
 */
CKPT_API ckpt_obj *ckpt_pickle_load(ckpt_doc *doc, const uint8_t *buf, size_t n,
                                    const ckpt_pickle_hooks *hooks, const ckpt_pickle_opts *opts,
                                    size_t *consumed, ckpt_error *err);

#ifdef __cplusplus
}
#endif
#endif
