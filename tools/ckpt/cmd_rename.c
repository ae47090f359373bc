/* tools/ckpt/cmd_rename.c - `ckpt rename`: rename the keys of a state dict. */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"

static const char help[] =
    "usage: ckpt rename IN OUT (--strip-prefix P | --add-prefix P | --map REGEX=REPL)...\n"
    "                   [--key PATH] [--dry-run] [--layout 1.13|2.1|2.7|legacy]\n"
    "                   [--no-fsync] [--allow MODULE.NAME]... [--full]\n"
    "\n"
    "Rename the str keys of a state dict and save the result to OUT.  The state dict is\n"
    "the top-level dict of IN, or the dict at the key path PATH (--key model for a\n"
    "training checkpoint {'model': state_dict, ...}).  Order, values, the dict kind\n"
    "(dict, OrderedDict) and everything outside the state dict are kept; the\n"
    "OrderedDict's _metadata (per-module versions) is renamed consistently, as\n"
    "torch.nn.modules.utils.consume_prefix_in_state_dict_if_present does for a prefix:\n"
    "a module name is renamed as if it were followed by a '.', so with --strip-prefix\n"
    "module. the entry 'module' becomes '' and 'module.fc' becomes 'fc'.  When a\n"
    "renamed _metadata entry meets an existing one, the renamed one wins, as in torch.\n"
    "\n"
    "The operations apply to every key, in the order given:\n"
    "  --strip-prefix P   remove P from keys that start with it (others are unchanged);\n"
    "                     P is taken literally, e.g. 'module.' (DataParallel, DDP)\n"
    "  --add-prefix P     put P in front of every key, e.g. 'model.'\n"
    "  --map REGEX=REPL   replace every match of the POSIX extended regular expression\n"
    "                     REGEX (regex(7)) with REPL, in which \\1..\\9 are the groups,\n"
    "                     \\0 or & the whole match, \\\\ and \\& literal; the first '='\n"
    "                     splits REGEX from REPL (write a '=' in REGEX as [=])\n"
    "\n"
    "  --key PATH   the state dict is the dict at this key path (as 'ckpt ls' prints)\n"
    "  --dry-run    print 'old -> new' for every renamed key and write nothing\n"
    "  --layout V   records as torch V writes them (1.13, 2.1, 2.7 default, legacy)\n"
    "  --no-fsync   skip the fsync before the rename of the temporary file\n"
    "  --allow MODULE.NAME, --full   as for 'ckpt ls'\n"
    "\n"
    "Two keys that would get the same name are refused, and nothing is written.  OUT is\n"
    "replaced atomically (temporary file, fsync, rename).\n"
    "\n"
    "Exit status: 0 written, 2 error (unreadable IN, PATH missing or not a dict, bad\n"
    "regular expression, colliding keys, write failed).\n";

#define MAX_OPS 64

typedef struct op {
    int kind; /* 's' strip, 'a' add, 'm' map */
    const char *arg;
    char *re_text, *repl;
    regex_t re;
    bool compiled;
} op;

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static int sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t nc = (b->n + n + 1) * 2;
        char *np = realloc(b->p, nc);
        if (!np)
            return -1;
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
    return 0;
}

/* apply REPL for one match */
static int put_repl(sbuf *b, const char *repl, const char *subject, const regmatch_t *m)
{
    for (const char *r = repl; *r; r++) {
        int g = -1;
        if (*r == '\\' && r[1] >= '0' && r[1] <= '9') {
            g = r[1] - '0';
            r++;
        } else if (*r == '\\' && (r[1] == '\\' || r[1] == '&')) {
            r++;
            if (sb_put(b, r, 1) < 0)
                return -1;
            continue;
        } else if (*r == '&') {
            g = 0;
        }
        if (g < 0) {
            if (sb_put(b, r, 1) < 0)
                return -1;
        } else if (m[g].rm_so >= 0) {
            if (sb_put(b, subject + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so)) < 0)
                return -1;
        }
    }
    return 0;
}

/* every match of o->re in s replaced; malloc'd result */
static char *regex_sub(const op *o, const char *s)
{
    sbuf b = {NULL, 0, 0};
    if (sb_put(&b, "", 0) < 0)
        return NULL;
    const char *p = s;
    int flags = 0;
    regmatch_t m[10];
    while (regexec(&o->re, p, 10, m, flags) == 0) {
        if (sb_put(&b, p, (size_t)m[0].rm_so) < 0 || put_repl(&b, o->repl, p, m) < 0)
            goto fail;
        if (m[0].rm_eo == m[0].rm_so) { /* empty match: keep one character and go on */
            if (!p[m[0].rm_eo])
                break;
            if (sb_put(&b, p + m[0].rm_eo, 1) < 0)
                goto fail;
            p += m[0].rm_eo + 1;
        } else {
            p += m[0].rm_eo;
        }
        flags = REG_NOTBOL;
        if (!*p)
            break;
    }
    if (sb_put(&b, p, strlen(p)) < 0)
        goto fail;
    return b.p;
fail:
    free(b.p);
    return NULL;
}

/* the new name of `key` after every operation; malloc'd */
static char *transform(const op *ops, size_t nops, const char *key)
{
    char *cur = strdup(key);
    for (size_t i = 0; cur && i < nops; i++) {
        const op *o = &ops[i];
        char *next = NULL;
        size_t pl = strlen(o->arg);
        if (o->kind == 's') {
            if (strncmp(cur, o->arg, pl) != 0)
                continue;
            next = strdup(cur + pl);
        } else if (o->kind == 'a') {
            next = malloc(pl + strlen(cur) + 1);
            if (next) {
                memcpy(next, o->arg, pl);
                strcpy(next + pl, cur);
            }
        } else {
            next = regex_sub(o, cur);
        }
        free(cur);
        cur = next;
    }
    return cur;
}

/* a module name in _metadata, renamed as if followed by '.' */
static char *transform_module(const op *ops, size_t nops, const char *name)
{
    size_t n = strlen(name);
    char *dotted = malloc(n + 2);
    if (!dotted)
        return NULL;
    memcpy(dotted, name, n);
    strcpy(dotted + n, n ? "." : "");
    char *r = transform(ops, nops, dotted);
    free(dotted);
    size_t rl = r ? strlen(r) : 0;
    if (r && rl && r[rl - 1] == '.')
        r[rl - 1] = '\0';
    return r;
}

typedef struct named {
    const char *name;
    size_t index;
} named;

static int cmp_named(const void *a, const void *b)
{
    const named *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->index < y->index ? -1 : x->index > y->index);
}

static int fail(const char *msg, ckpt_error *err)
{
    err->code = CKPT_E_NOMEM;
    snprintf(err->msg, sizeof(err->msg), "%s", msg);
    return -1;
}

/* new _metadata-carrying attrs for the renamed dict */
static ckpt_obj *rename_attrs(ckpt_doc *doc, const ckpt_obj *attrs, const op *ops, size_t nops)
{
    const ckpt_obj *meta = ckpt_dict_get(attrs, "_metadata");
    if (!meta || ckpt_obj_type(meta) != CKPT_T_DICT)
        return cli_mut(attrs);
    ckpt_obj *nm = ckpt_dict_new(doc, ckpt_dict_kind_of(meta));
    ckpt_obj *na = ckpt_dict_new(doc, ckpt_dict_kind_of(attrs));
    if (!nm || !na)
        return NULL;
    for (size_t i = 0; i < ckpt_obj_len(meta); i++) {
        const ckpt_obj *k = ckpt_dict_key(meta, i);
        ckpt_obj *nk = cli_mut(k);
        if (ckpt_obj_type(k) == CKPT_T_STR) {
            char *s = transform_module(ops, nops, ckpt_obj_str(k, NULL));
            nk = s ? ckpt_str_new(doc, s) : NULL;
            free(s);
        }
        if (!nk || ckpt_dict_set(doc, nm, nk, cli_mut(ckpt_dict_value(meta, i)), NULL) < 0)
            return NULL;
    }
    for (size_t i = 0; i < ckpt_obj_len(attrs); i++) {
        const ckpt_obj *v = ckpt_dict_value(attrs, i);
        if (ckpt_dict_set(doc, na, cli_mut(ckpt_dict_key(attrs, i)), v == meta ? nm : cli_mut(v),
                          NULL) < 0)
            return NULL;
    }
    return na;
}

/* the renamed copy of `sd`, or NULL (err set) */
static ckpt_obj *rename_dict(ckpt_doc *doc, const ckpt_obj *sd, const op *ops, size_t nops,
                             bool dry, size_t *renamed, ckpt_error *err)
{
    size_t n = ckpt_obj_len(sd);
    char **names = calloc(n + 1, sizeof(*names));
    named *sorted = calloc(n + 1, sizeof(*sorted));
    ckpt_obj *nd = NULL;
    size_t ns = 0;
    if (!names || !sorted) {
        fail("out of memory", err);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const ckpt_obj *k = ckpt_dict_key(sd, i);
        if (ckpt_obj_type(k) != CKPT_T_STR)
            continue;
        names[i] = transform(ops, nops, ckpt_obj_str(k, NULL));
        if (!names[i]) {
            fail("out of memory", err);
            goto out;
        }
        sorted[ns++] = (named){names[i], i};
        if (strcmp(names[i], ckpt_obj_str(k, NULL)) != 0) {
            ++*renamed;
            if (dry)
                printf("%s -> %s\n", ckpt_obj_str(k, NULL), names[i]);
        }
    }
    qsort(sorted, ns, sizeof(*sorted), cmp_named);
    for (size_t i = 1; i < ns; i++) {
        if (strcmp(sorted[i - 1].name, sorted[i].name) == 0) {
            err->code = CKPT_E_ARG;
            snprintf(err->msg, sizeof(err->msg),
                     "keys '%.60s' and '%.60s' would both become '%.60s'",
                     ckpt_obj_str(ckpt_dict_key(sd, sorted[i - 1].index), NULL),
                     ckpt_obj_str(ckpt_dict_key(sd, sorted[i].index), NULL), sorted[i].name);
            goto out;
        }
    }
    nd = ckpt_dict_new(doc, ckpt_dict_kind_of(sd));
    for (size_t i = 0; nd && i < n; i++) {
        ckpt_obj *k = names[i] ? ckpt_str_new(doc, names[i]) : cli_mut(ckpt_dict_key(sd, i));
        if (!k || ckpt_dict_set(doc, nd, k, cli_mut(ckpt_dict_value(sd, i)), err) < 0)
            nd = NULL;
    }
    if (nd && ckpt_dict_attrs(sd)) {
        ckpt_obj *na = rename_attrs(doc, ckpt_dict_attrs(sd), ops, nops);
        if (!na || ckpt_dict_set_attrs(nd, na, err) < 0)
            nd = NULL;
    }
    if (!nd)
        fail("out of memory building the renamed dict", err);
out:
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
    free(sorted);
    return nd;
}

int cmd_rename(int argc, char **argv)
{
    cli_load lo;
    memset(&lo, 0, sizeof(lo));
    ckpt_save_opts so;
    memset(&so, 0, sizeof(so));
    op ops[MAX_OPS];
    size_t nops = 0;
    const char *in = NULL, *out = NULL, *keypath = NULL;
    bool dry = false;
    int code = EXIT_ERROR;
    ckpt_doc *doc = NULL, *nd = NULL;
    memset(ops, 0, sizeof(ops));
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(help, stdout);
            return EXIT_OK;
        }
        int r = cli_load_opt(&lo, argc, argv, &i);
        if (r < 0)
            goto done;
        if (r > 0)
            continue;
        const char *a = argv[i];
        bool takes = strcmp(a, "--strip-prefix") == 0 || strcmp(a, "--add-prefix") == 0 ||
                     strcmp(a, "--map") == 0 || strcmp(a, "--key") == 0 ||
                     strcmp(a, "--layout") == 0;
        if (takes && i + 1 >= argc) {
            fprintf(stderr, "ckpt rename: %s needs a value\n", a);
            goto done;
        }
        if (strcmp(a, "--key") == 0) {
            keypath = argv[++i];
        } else if (strcmp(a, "--layout") == 0) {
            if (cli_parse_layout(argv[++i], &so.layout) < 0) {
                fprintf(stderr, "ckpt rename: unknown layout %s (1.13, 2.1, 2.7 or legacy)\n",
                        argv[i]);
                goto done;
            }
        } else if (takes) {
            if (nops == MAX_OPS) {
                fprintf(stderr, "ckpt rename: at most %d operations\n", MAX_OPS);
                goto done;
            }
            op *o = &ops[nops++];
            o->kind = a[2] == 's' ? 's' : a[2] == 'a' ? 'a' : 'm';
            o->arg = argv[++i];
            if (o->kind == 'm') {
                const char *eq = strchr(o->arg, '=');
                if (!eq) {
                    fprintf(stderr, "ckpt rename: --map needs REGEX=REPLACEMENT, not '%s'\n",
                            o->arg);
                    goto done;
                }
                o->re_text = strndup(o->arg, (size_t)(eq - o->arg));
                o->repl = strdup(eq + 1);
                int rc = o->re_text && o->repl ? regcomp(&o->re, o->re_text, REG_EXTENDED) : -1;
                if (rc != 0) {
                    char msg[256] = "out of memory";
                    if (rc > 0)
                        regerror(rc, &o->re, msg, sizeof(msg));
                    fprintf(stderr, "ckpt rename: bad regular expression '%s': %s\n",
                            o->re_text ? o->re_text : "", msg);
                    goto done;
                }
                o->compiled = true;
            }
        } else if (strcmp(a, "--dry-run") == 0) {
            dry = true;
        } else if (strcmp(a, "--no-fsync") == 0) {
            so.no_fsync = true;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "ckpt rename: unknown option %s\n\n%s", a, help);
            goto done;
        } else if (!in) {
            in = a;
        } else if (!out) {
            out = a;
        } else {
            fprintf(stderr, "ckpt rename: too many arguments\n");
            goto done;
        }
    }
    if (!in || (!out && !dry) || nops == 0) {
        if (in && nops == 0)
            fprintf(stderr, "ckpt rename: give --strip-prefix, --add-prefix or --map\n\n");
        fputs(help, stderr);
        goto done;
    }
    ckpt_error err;
    ckpt_error_clear(&err);
    doc = cli_load_doc(in, &lo, CKPT_LOAD_MMAP, false, !lo.map_location, &err);
    if (!doc) {
        cli_print_error("rename", &err);
        goto done;
    }
    cli_step steps[CLI_MAX_STEPS];
    size_t nsteps = 0;
    char why[512];
    const ckpt_obj *root = ckpt_doc_root(doc);
    const ckpt_obj *sd = cli_resolve(root, keypath ? keypath : "", steps, &nsteps, why,
                                     sizeof(why));
    if (!sd) {
        fprintf(stderr, "ckpt rename: %s: %s\n", in, why);
        goto done;
    }
    if (ckpt_obj_type(sd) != CKPT_T_DICT) {
        fprintf(stderr, "ckpt rename: %s: %s is a %s, not a dict\n", in,
                keypath ? keypath : "the top-level object", cli_kind_name(sd));
        goto done;
    }
    nd = ckpt_doc_new(NULL, &err);
    size_t renamed = 0;
    ckpt_obj *nsd = nd ? rename_dict(nd, sd, ops, nops, dry, &renamed, &err) : NULL;
    ckpt_obj *nroot = nsd ? cli_replace_path(nd, root, steps, nsteps, nsd, &err) : NULL;
    if (!nroot) {
        cli_print_error("rename", &err);
        goto done;
    }
    if (dry) {
        printf("# %zu of %zu keys would be renamed\n", renamed, ckpt_obj_len(sd));
        code = EXIT_OK;
        goto done;
    }
    if (ckpt_save(out, nroot, &so, &err) < 0) {
        cli_print_error("rename", &err);
        goto done;
    }
    printf("%zu of %zu keys renamed\n", renamed, ckpt_obj_len(sd));
    code = EXIT_OK;
done:
    for (size_t i = 0; i < nops; i++) {
        if (ops[i].compiled)
            regfree(&ops[i].re);
        free(ops[i].re_text);
        free(ops[i].repl);
    }
    ckpt_doc_free(nd);
    ckpt_doc_free(doc);
    return code;
}
