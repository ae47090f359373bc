/* tools/ckpt/cmd_verify.c - `ckpt verify`: name the format, check what that
 * format has (zip records and CRC-32s, legacy storages and their sizes, tar
 * members, safetensors header and offsets, tensor bounds), then run the
 * scanner: sound and clean is 0, an unsafe finding 1, unreadable or corrupt 2. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "ckpt/scan.h"
#include "cli.h"
#include "cli_folder.h"
#include "cli_onnx.h"

static const char help[] =
    "usage: ckpt verify FILE [--json] [--allow MODULE.NAME]... [--full]\n"
    "\n"
    "Name what the file is (by content, never by extension), check the structure that\n"
    "format has, then scan its pickles as 'ckpt scan' does:\n"
    "  torch zip, TorchScript (and lite), npz, zip: every record's CRC-32 (torch itself\n"
    "      never checks them); for torch files the pickle is parsed and every tensor must\n"
    "      lie inside its storage and every storage record hold the bytes it declares;\n"
    "      for npz every member's .npy header and the data it declares\n"
    "  npy: the header (as numpy parses it) and the data size it declares\n"
    "  legacy torch.save stream, torch tar: every storage record is read and its size\n"
    "      checked against the pickle; tensor bounds as above\n"
    "  tar: every member header (checksum, size) and its data inside the file\n"
    "  safetensors: the JSON header, every tensor's dtype, shape and data_offsets (inside\n"
    "      the data, sized as dtype x shape, no gaps or overlaps)\n"
    "  ONNX model: the whole ModelProto is read as 'ckpt run' reads it (every initializer\n"
    "      decoded and sized as its dims say, external data inside the model's folder,\n"
    "      every node input defined, no cycle, subgraphs nested 16 deep at most); a node\n"
    "      no kernel of ckpt runs is a warning line (op type, domain, opset), not a\n"
    "      failure; the scan names custom-domain ops and escaping external data\n"
    "  ONNX tensor: every top-level protobuf field inside the file\n"
    "Formats ckpt has no structural check for (GGUF, plain pickle, ONNX external\n"
    "data, ...) are named and reported as not verified (exit 2), never as ok.\n"
    "\n"
    "  --json                one JSON object: file, format, description, structure\n"
    "                        (ok|corrupt|unchecked), counts, error, scan {verdict, pickles,\n"
    "                        findings}, verdict (ok|unsafe|corrupt|unverified)\n"
    "  --allow MODULE.NAME   accept this global besides torch's weights-only allowlist\n"
    "  --full                read in data-only mode from the start\n"
    "\n"
    "Exit status: 0 the structure is sound and the scan is clean; 1 the scan found an\n"
    "unknown or dangerous global or call (whatever the structure: it is also reported);\n"
    "2 the file is unreadable, corrupt, or of a format verify cannot check (the first\n"
    "problem is printed with its byte offset).\n";

typedef struct vres {
    const char *kind;
    char why[320];
    int structure; /* 0 ok, 1 corrupt, 2 unchecked */
    ckpt_error err;
    char detail[400];
    size_t records, tensors, storages, members;
    uint64_t record_bytes, tensor_bytes;
} vres;

static int fail(vres *v, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(vres *v, uint64_t off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    v->err.code = CKPT_E_FORMAT;
    v->err.where = CKPT_WHERE_FILE;
    v->err.offset = off;
    vsnprintf(v->err.msg, sizeof(v->err.msg), fmt, ap);
    va_end(ap);
    v->structure = 1;
    return -1;
}

static int count(void *payload, const char *key, const ckpt_obj *t)
{
    (void)key;
    vres *c = payload;
    ckpt_tensor_info ti;
    if (ckpt_tensor_get_info(t, &ti) < 0)
        return -1;
    c->tensors++;
    c->tensor_bytes += ti.nbytes;
    return 0;
}

/* Zip: every record's CRC-32. */
static int check_zip(const ckpt_source *src, vres *v, bool flat)
{
    ckpt_zip_opts zo = {0, 0, flat}; /* npz and plain zips keep members at the top */
    ckpt_zip *z = ckpt_zip_open(src, &zo, NULL, &v->err);
    if (!z) {
        v->structure = 1;
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < ckpt_zip_count(z); i++) {
        const ckpt_zip_entry *e = ckpt_zip_entry_at(z, i);
        uint32_t crc;
        rc = ckpt_zip_entry_crc(z, e, &crc, &v->err);
        if (rc < 0)
            v->structure = 1;
        else if (crc != e->crc32)
            rc = fail(v, e->data_offset,
                      "CRC-32 mismatch in record %.180s: stored %08x, computed %08x", e->name,
                      e->crc32, crc);
        v->records++;
        v->record_bytes += e->size;
    }
    ckpt_zip_close(z);
    return rc;
}

/* torch files: parse the pickle, check every tensor against its storage. */
static int check_tensors(const char *path, const cli_load *lo, bool zip, vres *v)
{
    ckpt_doc *doc = cli_load_doc(path, lo, zip ? CKPT_LOAD_MMAP : CKPT_LOAD_COPY, true,
                                 !lo->map_location, &v->err);
    if (!doc) {
        v->structure = 1;
        return -1;
    }
    int rc = ckpt_obj_walk_tensors(ckpt_doc_root(doc), count, v, &v->err);
    v->storages = ckpt_doc_storage_count(doc);
    ckpt_doc_free(doc);
    if (rc < 0)
        v->structure = 1;
    return rc;
}

static uint64_t octal_field(const uint8_t *p, size_t n, bool *ok)
{
    uint64_t r = 0;
    size_t i = 0;
    *ok = true;
    while (i < n && p[i] == ' ')
        i++;
    for (; i < n && p[i] >= '0' && p[i] <= '7'; i++) {
        if (r >> 60) {
            *ok = false;
            return 0;
        }
        r = r * 8 + (uint64_t)(p[i] - '0');
    }
    for (; i < n; i++)
        if (p[i] != ' ' && p[i] != '\0')
            *ok = false;
    if (p[0] & 0x80) { /* GNU base-256 size */
        r = 0;
        for (size_t k = 1; k < n; k++) {
            if (r >> 56) {
                *ok = false;
                return 0;
            }
            r = (r << 8) | p[k];
        }
        *ok = (p[0] & 0x7f) == 0;
        return r;
    }
    return r;
}

/* tar: every header's checksum and size, every member's data inside the file,
 * up to the end-of-archive blocks (or the end of the file, as tarfile allows). */
static int check_tar(const ckpt_source *src, vres *v)
{
    uint8_t b[512];
    uint64_t pos = 0;
    for (;;) {
        if (pos + 512 > src->size) {
            if (pos == src->size)
                return 0;
            return fail(v, pos,
                        "tar: the file ends inside a header block (%" PRIu64 " bytes of 512)",
                        src->size - pos);
        }
        if (ckpt_source_read(src, pos, b, 512, &v->err) < 0) {
            v->structure = 1;
            return -1;
        }
        bool zero = true;
        for (size_t i = 0; i < 512 && zero; i++)
            zero = b[i] == 0;
        if (zero)
            return 0;
        uint64_t sum = 0;
        for (size_t i = 0; i < 512; i++)
            sum += (i >= 148 && i < 156) ? (uint64_t)' ' : b[i];
        bool ok;
        uint64_t stored = octal_field(b + 148, 8, &ok);
        if (!ok || stored != sum)
            return fail(v, pos + 148,
                        "tar: member %zu header checksum %" PRIu64
                        " does not match the header's bytes (%" PRIu64 ")",
                        v->members, stored, sum);
        uint64_t size = octal_field(b + 124, 12, &ok);
        if (!ok)
            return fail(v, pos + 124, "tar: member %zu has an invalid size field", v->members);
        pos += 512;
        uint64_t padded = size + (512 - size % 512) % 512;
        if (size > src->size - pos || padded < size)
            return fail(v, pos,
                        "tar: member '%.100s' declares %" PRIu64 " bytes but the file "
                        "has %" PRIu64 " left",
                        (const char *)b, size, src->size - pos);
        v->members++;
        v->record_bytes += size;
        pos += padded > src->size - pos ? src->size - pos : padded;
    }
}

static const char *verdict_name(int v)
{
    return v == CKPT_SCAN_CLEAN ? "clean" : v == CKPT_SCAN_UNSAFE ? "unsafe" : "unreadable";
}

static void detail_text(const vres *v, char *buf, size_t n)
{
    const char *k = v->kind;
    if (v->members)
        snprintf(buf, n,
                 "%zu tar members (%" PRIu64 " bytes), every header checksum and size "
                 "consistent",
                 v->members, v->record_bytes);
    else if (strcmp(k, "safetensors") == 0 || strcmp(k, "gguf") == 0)
        snprintf(buf, n,
                 "%zu tensors (%" PRIu64 " bytes), every dtype, shape and offset "
                 "consistent, the data tiled exactly",
                 v->tensors, v->tensor_bytes);
    else if (strncmp(k, "onnx", 4) == 0)
        snprintf(buf, n,
                 "every top-level protobuf field lies inside the file (the graph is "
                 "not parsed)");
    else if (v->records && v->storages)
        snprintf(buf, n,
                 "%zu records (%" PRIu64 " bytes), every CRC-32 matches; %zu tensors in "
                 "%zu storages (%" PRIu64 " tensor bytes), all within bounds",
                 v->records, v->record_bytes, v->tensors, v->storages, v->tensor_bytes);
    else if (v->records)
        snprintf(buf, n, "%zu records (%" PRIu64 " bytes), every CRC-32 matches%s", v->records,
                 v->record_bytes, v->tensors ? "" : "; no tensors");
    else
        snprintf(buf, n,
                 "%zu tensors in %zu storages (%" PRIu64 " tensor bytes), every storage "
                 "record read and sized as declared, all within bounds",
                 v->tensors, v->storages, v->tensor_bytes);
}

int cmd_verify(int argc, char **argv)
{
    cli_load lo;
    memset(&lo, 0, sizeof(lo));
    const char *path = NULL;
    bool json = false;
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
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
            continue;
        }
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
    if (cli_is_folder(path)) /* sharded and distributed checkpoints */
        return cli_verify_folder(path, &lo, json);
    vres v;
    memset(&v, 0, sizeof(v));
    ckpt_error_clear(&v.err);
    ckpt_source src;
    if (ckpt_source_open_file(&src, path, true, &v.err) < 0) {
        cli_print_error("verify", &v.err);
        return EXIT_ERROR;
    }
    uint64_t at = 0;
    v.kind = ckpt_detect(&src, v.why, sizeof(v.why), &at);
    const char *k = v.kind;
    if (strcmp(k, "onnx") == 0) { /* the whole model is parsed (cli_onnx.c) */
        ckpt_source_close(&src);
        return cli_onnx_verify(path, json);
    }
    bool torch_zip = strcmp(k, "torch-zip") == 0 || strcmp(k, "torchscript") == 0 ||
                     strcmp(k, "torchscript-lite") == 0;
    if (torch_zip || strcmp(k, "npz") == 0 || strcmp(k, "zip") == 0) {
        if (check_zip(&src, &v, !torch_zip) == 0 && torch_zip) {
            /* TorchScript of the model.json era (format 1) has no data.pkl */
            ckpt_zip *z = ckpt_zip_open(&src, NULL, NULL, &v.err);
            bool pkl = z && ckpt_zip_find(z, "data.pkl");
            ckpt_zip_close(z);
            ckpt_error_clear(&v.err);
            if (pkl)
                check_tensors(path, &lo, true, &v);
        } else if (v.structure == 0 && strcmp(k, "npz") == 0) {
            check_tensors(path, &lo, false, &v); /* every member's header and data size */
        }
    } else if (strcmp(k, "npy") == 0) {
        check_tensors(path, &lo, false, &v); /* the header and the data size it declares */
    } else if (strcmp(k, "torch-legacy") == 0 || strcmp(k, "torch-tar") == 0) {
        if (strcmp(k, "torch-tar") != 0 || check_tar(&src, &v) == 0) {
            v.members = 0; /* report the storages, not the tar members */
            check_tensors(path, &lo, false, &v);
        }
    } else if (strcmp(k, "tar") == 0) {
        check_tar(&src, &v);
    } else if (strcmp(k, "safetensors") == 0) {
        check_tensors(path, &lo, false, &v); /* the reader's one validation (header rules,
                                                offsets tiling the data to the end) */
    } else if (strcmp(k, "onnx") == 0 || strcmp(k, "onnx-tensor") == 0) {
        /* the detector walked every top-level field to the last byte */
    } else if (strcmp(k, "gguf") == 0) {
        check_tensors(path, &lo, false, &v); /* every header field, offset and size */
    } else if (strcmp(k, "pickle") == 0 || strcmp(k, "onnx-external-data") == 0) {
        v.structure = 2;
    } else {
        v.structure = 1;
        v.err.code = CKPT_E_FORMAT;
        v.err.where = CKPT_WHERE_FILE;
        v.err.offset = at;
        snprintf(v.err.msg, sizeof(v.err.msg), "%.250s", v.why);
    }
    ckpt_source_close(&src);
    if (v.err.code && !v.err.file[0])
        snprintf(v.err.file, sizeof(v.err.file), "%.250s", path);

    ckpt_scan_opts so;
    memset(&so, 0, sizeof(so));
    so.safe_globals = lo.allow;
    so.safe_global_count = lo.nallow;
    ckpt_scan_report *r = NULL;
    ckpt_error serr;
    /* safetensors and protobuf hold no pickle: once their structure is checked to
     * the last byte there is nothing for the scanner to read */
    bool no_pickle = v.structure == 0 && (strcmp(k, "safetensors") == 0 ||
                                          strcmp(k, "gguf") == 0 || strncmp(k, "onnx", 4) == 0);
    if (no_pickle) {
        r = calloc(1, sizeof(*r));
        if (!r) {
            fprintf(stderr, "ckpt verify: out of memory\n");
            return EXIT_ERROR;
        }
        snprintf(r->format, sizeof(r->format), "%s (no pickle)", k);
    } else if (ckpt_scan_file(path, &so, &r, &serr) < 0) {
        cli_print_error("verify", &serr);
        return EXIT_ERROR;
    }
    int code;
    const char *verdict;
    /* a global the scanner judged unknown or dangerous wins over a later parse
     * error: Python runs the call before it reaches the damage */
    bool finding = r->verdict == CKPT_SCAN_UNSAFE;
    for (size_t i = 0; i < r->count; i++)
        finding = finding || r->findings[i].klass != CKPT_SCAN_ALLOWED;
    if (finding) {
        code = EXIT_FINDING;
        verdict = "unsafe";
    } else if (v.structure == 2) {
        code = EXIT_ERROR;
        verdict = "unverified";
    } else if (v.structure == 1 || r->verdict == CKPT_SCAN_UNREADABLE) {
        code = EXIT_ERROR;
        verdict = "corrupt";
    } else {
        code = EXIT_OK;
        verdict = "ok";
    }
    char detail[600], ebuf[1200];
    detail_text(&v, detail, sizeof(detail));
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "file", path);
        cJSON_AddStringToObject(o, "format", k);
        cJSON_AddStringToObject(o, "description", v.why);
        cJSON_AddStringToObject(o, "structure",
                                v.structure == 0   ? "ok"
                                : v.structure == 1 ? "corrupt"
                                                   : "unchecked");
        if (v.structure == 0)
            cJSON_AddStringToObject(o, "checked", detail);
        cJSON_AddNumberToObject(o, "records", (double)v.records);
        cJSON_AddNumberToObject(o, "record_bytes", (double)v.record_bytes);
        cJSON_AddNumberToObject(o, "members", (double)v.members);
        cJSON_AddNumberToObject(o, "tensors", (double)v.tensors);
        cJSON_AddNumberToObject(o, "storages", (double)v.storages);
        cJSON_AddNumberToObject(o, "tensor_bytes", (double)v.tensor_bytes);
        if (v.structure == 1) {
            cJSON_AddStringToObject(o, "error", ckpt_error_format(&v.err, ebuf, sizeof(ebuf)));
            cJSON_AddNumberToObject(o, "error_offset", (double)v.err.offset);
        }
        cJSON *s = cJSON_AddObjectToObject(o, "scan");
        cJSON_AddStringToObject(s, "format", r->format);
        cJSON_AddStringToObject(s, "verdict", verdict_name(r->verdict));
        cJSON_AddNumberToObject(s, "pickles", (double)r->pickles);
        if (r->verdict == CKPT_SCAN_UNREADABLE)
            cJSON_AddStringToObject(s, "error", ckpt_error_format(&r->error, ebuf, sizeof(ebuf)));
        cJSON *a = cJSON_AddArrayToObject(s, "findings");
        for (size_t i = 0; i < r->count; i++) {
            const ckpt_scan_finding *f = &r->findings[i];
            if (f->klass == CKPT_SCAN_ALLOWED)
                continue;
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "stream", f->stream);
            cJSON_AddNumberToObject(x, "offset", (double)f->offset);
            char g[260];
            snprintf(g, sizeof(g), "%s.%s", f->module, f->name);
            cJSON_AddStringToObject(x, "global", g);
            cJSON_AddStringToObject(x, "class", ckpt_scan_class_name(f->klass));
            cJSON_AddBoolToObject(x, "called", f->called);
            cJSON_AddStringToObject(x, "note", f->note);
            cJSON_AddItemToArray(a, x);
        }
        cJSON_AddStringToObject(o, "verdict", verdict);
        char *txt = cJSON_Print(o);
        if (txt)
            printf("%s\n", txt);
        cJSON_free(txt);
        cJSON_Delete(o);
    } else {
        printf("%s: %s: %s\n", path, verdict, k);
        printf("  format: %s\n", v.why);
        if (v.structure == 0)
            printf("  structure: ok: %s\n", detail);
        else if (v.structure == 1)
            printf("  structure: corrupt: %s\n", ckpt_error_format(&v.err, ebuf, sizeof(ebuf)));
        else
            printf("  structure: not checked: ckpt has no structural check for %s files\n", k);
        if (no_pickle)
            printf("  scan: clean: a %s file holds no pickle\n", k);
        else
            printf("  scan: %s, %zu pickle%s\n", verdict_name(r->verdict), r->pickles,
                   r->pickles == 1 ? "" : "s");
        for (size_t i = 0; i < r->count; i++) {
            const ckpt_scan_finding *f = &r->findings[i];
            if (f->klass == CKPT_SCAN_ALLOWED)
                continue;
            printf("    %-9s %s@%llu %s.%s%s%s%s\n", ckpt_scan_class_name(f->klass), f->stream,
                   (unsigned long long)f->offset, f->module, f->name,
                   f->called ? " [called]" : "", f->note[0] ? " - " : "", f->note);
        }
        if (r->verdict == CKPT_SCAN_UNREADABLE)
            printf("    error: %s\n", ckpt_error_format(&r->error, ebuf, sizeof(ebuf)));
    }
    if (v.structure == 1 && !json)
        cli_print_error("verify", &v.err);
    ckpt_scan_report_free(r);
    return code;
}
