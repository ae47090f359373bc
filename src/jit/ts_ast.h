/*
 * src/jit/ts_ast.h - the TorchScript source interpreter's syntax tree (private
 * to src/jit/ts_*.c).  ts_parse.c turns the Python subset TorchScript writes
 * in code/ .py records into this tree; ts_interp.c walks it.
 */
#ifndef CKPT_TS_AST_H
#define CKPT_TS_AST_H

#include <stddef.h>
#include <stdint.h>

#include "ckpt/error.h"

enum {
    /* expressions */
    TN_NAME = 1,
    TN_INT,
    TN_FLOAT,
    TN_STR,
    TN_NONE,
    TN_TRUE,
    TN_FALSE,
    TN_ATTR,  /* kids[0] . s */
    TN_CALL,  /* kids[0] callee, kids[1..] args (TN_KW for keywords) */
    TN_KW,    /* s = kids[0] */
    TN_SUB,   /* kids[0] [ kids[1] ] */
    TN_SLICE, /* kids[0..2] lower/upper/step, NULL when absent */
    TN_TUPLE,
    TN_LIST,
    TN_DICT,  /* kids: k0 v0 k1 v1 ... */
    TN_BINOP, /* op: TOK_* */
    TN_UNARY, /* op: '-', '+', '~' */
    TN_NOT,
    TN_AND,
    TN_OR,
    TN_CMP,      /* kids[0] op kids[1] (chains are split into ANDs of pairs by the parser) */
    TN_IFEXP,    /* kids[0] if kids[1] else kids[2] */
    TN_LISTCOMP, /* [kids[0] for kids[1] in kids[2] if kids[3]] (kids[3] may be NULL) */
    TN_DICTCOMP, /* {kids[0]: kids[1] for kids[2] in kids[3] if kids[4]} */
    TN_ELLIPSIS,
    TN_STARRED,
    /* statements */
    TS_EXPR = 64,
    TS_ASSIGN, /* targets kids[0..n-2] = kids[n-1] */
    TS_AUG,    /* kids[0] op= kids[1] */
    TS_ANN,    /* kids[0] : kids[1] [= kids[2]] */
    TS_IF,     /* kids[0] test, kids[1] body, kids[2] else (block or TS_IF) or NULL */
    TS_FOR,    /* for kids[0] in kids[1]: kids[2] */
    TS_WHILE,  /* while kids[0]: kids[1] */
    TS_BREAK,
    TS_CONTINUE,
    TS_RETURN, /* kids[0] or NULL */
    TS_RAISE,  /* kids[0] or NULL */
    TS_ASSERT, /* kids[0], kids[1] message or NULL */
    TS_PASS,
    TS_DEL,
    TS_BLOCK,  /* kids: statements */
    TS_DEF,    /* s name, kids[0] TS_PARAMS, kids[1] body, kids[2] return annotation or NULL */
    TS_PARAMS, /* kids: TS_PARAM */
    TS_PARAM,  /* s name, kids[0] annotation or NULL, kids[1] default or NULL */
    TS_CLASS,  /* s name, kids[0] body */
    TS_IMPORT, /* ignored */
    TS_WITH    /* with kids[0]: kids[1] (no_grad etc.) */
};

/* Operator codes for TN_BINOP / TS_AUG / TN_CMP / TN_UNARY. */
enum {
    TOP_ADD = 1,
    TOP_SUB,
    TOP_MUL,
    TOP_DIV,
    TOP_FLOORDIV,
    TOP_MOD,
    TOP_POW,
    TOP_MATMUL,
    TOP_LSHIFT,
    TOP_RSHIFT,
    TOP_BITAND,
    TOP_BITOR,
    TOP_BITXOR,
    TOP_EQ,
    TOP_NE,
    TOP_LT,
    TOP_LE,
    TOP_GT,
    TOP_GE,
    TOP_IS,
    TOP_ISNOT,
    TOP_IN,
    TOP_NOTIN,
    TOP_NEG,
    TOP_POS,
    TOP_INVERT
};

typedef struct tnode tnode;
struct tnode {
    int kind;
    int op;
    int line; /* 1-based, in the parsed text */
    char *s;  /* names, strings (NUL-terminated; `slen` bytes) */
    size_t slen;
    int64_t i;
    double f;
    tnode **kids;
    size_t n;
};

/* A parsed text: every node and string lives in the arena. */
typedef struct ts_tree {
    tnode *root; /* TS_BLOCK of top-level statements */
    void *arena;
} ts_tree;

#define TS_MAX_NEST 100    /* nested blocks and nested brackets */
#define TS_MAX_PDEPTH 1500 /* parser recursion (about 13 frames per bracket level) */

/* Parse `text` (`len` bytes; its first line may be indented: a def cut out
 * of a class).  `file` and `line0` (the line of text's first line) name
 * errors.  Returns NULL with err set. */
ts_tree *ts_parse(const char *text, size_t len, const char *file, int64_t line0, ckpt_error *err);
void ts_tree_free(ts_tree *t);
void ts_tree_free_v(void *t);

#endif
