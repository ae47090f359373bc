/* tools/ckpt/cmd_verify.c - `ckpt verify`: every record's CRC-32 and every
 * tensor's bounds against its storage. */
#include <inttypes.h>
#include <string.h>

#include "cli.h"

static const char help[] =
    "usage: ckpt verify FILE [--allow MODULE.NAME]... [--full]\n"
    "\n"
    "Read every record of the archive and check its CRC-32 (torch itself never does),\n"
    "then parse the pickle and check that every tensor lies inside its storage and\n"
    "every storage record holds the bytes the pickle declares.  Prints a summary.\n"
    "\n"
    "Exit status: 0 the file is sound, 2 it is not (the first problem is printed with\n"
    "its byte offset).\n";

typedef struct vctx {
    size_t tensors;
    uint64_t bytes;
} vctx;

static int count(void *payload, const char *key, const ckpt_obj *t)
{
    (void)key;
    vctx *c = payload;
    ckpt_tensor_info ti;
    if (ckpt_tensor_get_info(t, &ti) < 0)
        return -1;
    c->tensors++;
    c->bytes += ti.nbytes;
    return 0;
}

int cmd_verify(int argc, char **argv)
{
    cli_load lo;
    memset(&lo, 0, sizeof(lo));
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(help, stdout);
            return EXIT_OK;
        }
        int r = cli_load_opt(&lo, argc, argv, &i);
        if (r < 0)
            return EXIT_ERROR;
        if (r > 0)
            continue;
        if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "ckpt verify: unknown option %s\n\n%s", argv[i], help);
            return EXIT_ERROR;
        }
        if (path) {
            fprintf(stderr, "ckpt verify: one FILE only\n");
            return EXIT_ERROR;
        }
        path = argv[i];
    }
    if (!path) {
        fputs(help, stderr);
        return EXIT_ERROR;
    }
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_source src;
    if (ckpt_source_open_file(&src, path, true, &err) < 0) {
        cli_print_error("verify", &err);
        return EXIT_ERROR;
    }
    ckpt_zip *z = ckpt_zip_open(&src, NULL, NULL, &err);
    size_t records = 0;
    uint64_t record_bytes = 0;
    int rc = z ? 0 : -1;
    for (size_t i = 0; z && rc == 0 && i < ckpt_zip_count(z); i++) {
        const ckpt_zip_entry *e = ckpt_zip_entry_at(z, i);
        uint32_t crc;
        rc = ckpt_zip_entry_crc(z, e, &crc, &err);
        if (rc == 0 && crc != e->crc32) {
            err.code = CKPT_E_FORMAT;
            err.where = CKPT_WHERE_FILE;
            err.offset = e->data_offset;
            snprintf(err.msg, sizeof(err.msg), "CRC-32 mismatch in record %.180s: stored %08x, "
                     "computed %08x", e->name, e->crc32, crc);
            snprintf(err.file, sizeof(err.file), "%.250s", path);
            rc = -1;
        }
        records++;
        record_bytes += e->size;
    }
    ckpt_zip_close(z);
    ckpt_source_close(&src);
    if (rc < 0) {
        cli_print_error("verify", &err);
        return EXIT_ERROR;
    }
    ckpt_doc *doc = cli_load_doc(path, &lo, CKPT_LOAD_MMAP, true, !lo.map_location, &err);
    if (!doc) {
        cli_print_error("verify", &err);
        return EXIT_ERROR;
    }
    vctx c = {0, 0};
    rc = ckpt_walk_tensors(ckpt_doc_root(doc), count, &c, &err);
    size_t nst = ckpt_doc_storage_count(doc);
    ckpt_doc_free(doc);
    if (rc < 0) {
        cli_print_error("verify", &err);
        return EXIT_ERROR;
    }
    printf("%s: ok: %zu records (%" PRIu64 " bytes), every CRC-32 matches; %zu tensors in %zu "
           "storages (%" PRIu64 " tensor bytes), all within bounds\n",
           path, records, record_bytes, c.tensors, nst, c.bytes);
    return EXIT_OK;
}
