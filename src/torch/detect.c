/* src/torch/detect.c - name what a file is by its content (never by its
 * extension): torch zip, TorchScript archive, legacy stream, tar, plain
 * pickle, safetensors, GGUF, npy/npz, and the usual accidents (a git-LFS
 * pointer, an HTML page, a truncated download, a version newer than ckpt
 * knows).  Reads a few hundred bytes, plus the zip directory for zips. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/err.h"
#include "torch/tar.h"
#include "torch_internal.h"

#define HEAD 512
#define MAX_ZIP_VERSION 10 /* the highest torch.save file format version ckpt reads */
#define MAX_GGUF_VERSION 3

/* The legacy magic number 0x1950A86A20F9469CFC6C, little-endian, and in decimal. */
static const uint8_t magic_le[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
static const char magic_dec[] = "119547037146038801333356";

static bool has_prefix(const uint8_t *p, size_t n, const char *s)
{
    size_t l = strlen(s);
    return n >= l && memcmp(p, s, l) == 0;
}

/* Does the file start with a pickle holding exactly the legacy magic number?
 * Covers every protocol: text LONG ("L...L\n", 0/1), LONG1 (2+), FRAME (4+). */
static bool legacy_magic(const uint8_t *p, size_t n)
{
    size_t i = 0;
    if (n >= 2 && p[0] == 0x80) {
        if (p[1] > 5)
            return false;
        i = 2;
        if (n >= i + 9 && p[i] == 0x95)
            i += 9;
    }
    if (n >= i + 13 && p[i] == 0x8a && p[i + 1] == 10 && memcmp(p + i + 2, magic_le, 10) == 0)
        return p[i + 12] == '.';
    if (n > i && p[i] == 'L') {
        size_t l = sizeof(magic_dec) - 1;
        i++;
        if (n < i + l || memcmp(p + i, magic_dec, l) != 0)
            return false;
        i += l;
        if (i < n && p[i] == 'L')
            i++;
        return n >= i + 2 && p[i] == '\n' && p[i + 1] == '.';
    }
    return false;
}

static bool all_text(const uint8_t *p, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 && p[i] != '\n' && p[i] != '\r' && p[i] != '\t')
            return false;
    return true;
}

static bool html_page(const uint8_t *p, size_t n)
{
    size_t i = 0;
    if (n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
        i = 3;
    while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t'))
        i++;
    static const char *const tags[] = {"<!doctype html", "<html", "<head", "<body", "<!--"};
    for (size_t t = 0; t < sizeof(tags) / sizeof(tags[0]); t++) {
        size_t l = strlen(tags[t]), k;
        if (n - i < l)
            continue;
        for (k = 0; k < l; k++) {
            char c = (char)p[i + k];
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            if (c != tags[t][k])
                break;
        }
        if (k == l)
            return true;
    }
    return false;
}

/* Copy the value after "key " on its own line of a text buffer. */
static void line_value(const uint8_t *p, size_t n, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key);
    out[0] = '\0';
    for (size_t i = 0; i + kl < n; i++) {
        if ((i == 0 || p[i - 1] == '\n') && memcmp(p + i, key, kl) == 0) {
            size_t j = i + kl, o = 0;
            while (j < n && p[j] != '\n' && p[j] != '\r' && o + 1 < cap)
                out[o++] = (char)p[j++];
            out[o] = '\0';
            return;
        }
    }
}

/* The end of a record written with a data descriptor (sizes 0 in the local
 * header, as torch's miniz does): the offset after the descriptor whose
 * compressed size matches the bytes since `data`, or 0 if the file ends first. */
static uint64_t find_descriptor(const ckpt_source *src, uint64_t data)
{
    uint8_t buf[4096 + 24];
    ckpt_error e;
    for (uint64_t at = data; at < src->size;) {
        uint64_t left = src->size - at;
        size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);
        ckpt_error_clear(&e);
        if (ckpt_source_read(src, at, buf, n, &e) < 0)
            return 0;
        for (size_t i = 0; i + 16 <= n; i++) {
            if (ckpt_rd_u32le(buf + i) != 0x08074b50)
                continue;
            uint64_t len = at + i - data;
            if (ckpt_rd_u32le(buf + i + 8) == len)
                return at + i + 16;
            if (i + 24 <= n && ckpt_rd_u64le(buf + i + 8) == len)
                return at + i + 24;
        }
        if (n < sizeof(buf))
            return 0;
        at += n - 24; /* overlap so a descriptor across the boundary is seen */
    }
    return 0;
}

/* A zip whose directory the reader rejected: walk the local headers to see
 * whether the file simply stops early (a truncated download). */
static const char *zip_truncation(const ckpt_source *src, char *why, size_t n, uint64_t *off,
                                  const char *zip_msg)
{
    uint64_t pos = 0, size = src->size, need = 0;
    size_t records = 0;
    bool inside = false; /* the file ends inside a record whose size only its descriptor tells */
    char last[80] = "";
    uint8_t h[46];
    ckpt_error e;
    for (;;) {
        ckpt_error_clear(&e);
        if (pos + 4 > size)
            break;
        if (ckpt_source_read(src, pos, h, pos + 30 <= size ? 30 : 4, &e) < 0)
            break;
        uint32_t sig = ckpt_rd_u32le(h);
        if (sig == 0x02014b50) { /* central directory: count its entries */
            while (pos + 46 <= size && ckpt_source_read(src, pos, h, 46, &e) == 0 &&
                   ckpt_rd_u32le(h) == 0x02014b50)
                pos += 46u + ckpt_rd_u16le(h + 28) + ckpt_rd_u16le(h + 30) +
                       ckpt_rd_u16le(h + 32);
            last[0] = '\0';
            need = pos + 22; /* at least the end record */
            if (pos + 12 <= size && ckpt_source_read(src, pos, h, 12, &e) == 0 &&
                ckpt_rd_u32le(h) == 0x06064b50) /* zip64 end record, locator, end record */
                need = pos + 12 + ckpt_rd_u64le(h + 4) + 20 + 22;
            break;
        }
        if (sig != 0x04034b50 || pos + 30 > size) {
            if (sig == 0x04034b50)
                need = pos + 30;
            break;
        }
        uint16_t flags = ckpt_rd_u16le(h + 6);
        uint64_t csize = ckpt_rd_u32le(h + 18);
        uint16_t nlen = ckpt_rd_u16le(h + 26), xlen = ckpt_rd_u16le(h + 28);
        uint64_t data = pos + 30 + nlen + xlen;
        size_t nl = nlen < sizeof(last) - 1 ? nlen : sizeof(last) - 1;
        last[0] = '\0';
        if (pos + 30 + nl <= size && ckpt_source_read(src, pos + 30, last, nl, &e) == 0)
            last[nl] = '\0';
        else
            last[0] = '\0';
        if (csize == 0xffffffffu && xlen >= 20 && data <= size) {
            uint8_t x[64];
            size_t xl = xlen < sizeof(x) ? xlen : sizeof(x);
            if (ckpt_source_read(src, pos + 30 + nlen, x, xl, &e) == 0)
                for (size_t k = 0; k + 4 <= xl;) {
                    uint16_t id = ckpt_rd_u16le(x + k), len = ckpt_rd_u16le(x + k + 2);
                    if (id == 1 && len >= 16 && k + 20 <= xl) {
                        csize = ckpt_rd_u64le(x + k + 12);
                        break;
                    }
                    k += 4u + len;
                }
        }
        if ((flags & 8) && csize == 0) { /* sizes only in the data descriptor: find it */
            uint64_t dd = find_descriptor(src, data);
            if (!dd) {
                inside = true;
                break;
            }
            records++;
            pos = dd;
            continue;
        }
        records++;
        if (data > size || csize > size - data) {
            need = data + csize;
            break;
        }
        pos = data + csize;
        if (flags & 8) { /* data descriptor, with or without its signature */
            uint8_t d[4];
            if (pos + 4 <= size && ckpt_source_read(src, pos, d, 4, &e) == 0 &&
                ckpt_rd_u32le(d) == 0x08074b50)
                pos += 4;
            pos += 12;
        }
    }
    *off = size;
    if (need > size) {
        snprintf(why, n,
                 "a zip archive truncated at byte %llu of at least %llu (a partial download?): "
                 "%s%s%sthe end record is missing",
                 (unsigned long long)size, (unsigned long long)need, last[0] ? "record '" : "",
                 last, last[0] ? "' runs past the end of the file; " : "");
        return "truncated-zip";
    }
    if (inside) {
        snprintf(why, n,
                 "a zip archive truncated at byte %llu (a partial download?): the file ends "
                 "inside record '%s' and the end record is missing",
                 (unsigned long long)size, last);
        return "truncated-zip";
    }
    if (records > 0 && pos >= size) {
        snprintf(why, n,
                 "a zip archive truncated at byte %llu after %zu complete records (a partial "
                 "download?): the central directory and end record are missing",
                 (unsigned long long)size, records);
        return "truncated-zip";
    }
    *off = 0;
    snprintf(why, n, "a damaged zip archive: %s", zip_msg);
    return "zip";
}

static const char *zip_kind(const ckpt_source *src, char *why, size_t n, uint64_t *off)
{
    ckpt_error e;
    ckpt_error_clear(&e);
    ckpt_zip *z = ckpt_zip_open(src, NULL, NULL, &e);
    if (!z && e.code == CKPT_E_FORMAT && strstr(e.msg, "not in a subdirectory")) {
        ckpt_zip_opts flat = {0, 0, true}; /* a plain zip or .npz: members at the top */
        ckpt_error_clear(&e);
        z = ckpt_zip_open(src, &flat, NULL, &e);
    }
    if (!z)
        return zip_truncation(src, why, n, off, e.msg);
    const char *kind = "zip";
    size_t cnt = ckpt_zip_count(z), npy = 0;
    bool script = ckpt_zip_find(z, "constants.pkl") || ckpt_zip_find(z, "model.json") ||
                  ckpt_zip_find(z, "bytecode.pkl");
    for (size_t i = 0; i < cnt; i++) {
        const ckpt_zip_entry *en = ckpt_zip_entry_at(z, i);
        size_t l = strlen(en->name);
        if (l > 4 && strcmp(en->name + l - 4, ".npy") == 0)
            npy++;
        if (en->record && strncmp(en->record, "code/", 5) == 0)
            script = true;
    }
    const ckpt_zip_entry *ver = ckpt_zip_find(z, ".data/version");
    if (!ver)
        ver = ckpt_zip_find(z, "version");
    if (script && ckpt_zip_find(z, "bytecode.pkl")) {
        kind = "torchscript-lite";
        snprintf(why, n,
                 "a TorchScript lite-interpreter archive (bytecode.pkl; "
                 "_save_for_lite_interpreter), not a torch.save file");
    } else if (script) {
        kind = "torchscript";
        snprintf(why, n, "a TorchScript archive (torch.jit.save), not a torch.save file");
    } else if (ckpt_zip_find(z, "data.pkl")) {
        kind = "torch-zip";
        snprintf(why, n, "a torch.save zip archive");
    } else if (npy && npy == cnt) {
        kind = "npz";
        snprintf(why, n, "a NumPy .npz archive of %zu arrays, not a torch file", npy);
    } else {
        snprintf(why, n, "a zip archive of %zu members that is not a torch file (no data.pkl)",
                 cnt);
    }
    if (ver && ver->size < 32 && (script || strcmp(kind, "torch-zip") == 0)) {
        char buf[32];
        if (ckpt_zip_read(z, ver, buf, sizeof(buf), false, &e) == 0) {
            buf[ver->size] = '\0';
            unsigned long long v = 0;
            const char *p = buf;
            while (*p == ' ' || *p == '\n')
                p++;
            for (; *p >= '0' && *p <= '9' && v < 1000000; p++)
                v = v * 10 + (unsigned)(*p - '0');
            if (v > MAX_ZIP_VERSION) {
                *off = ver->data_offset;
                snprintf(why, n,
                         "%s with file format version %llu, newer than ckpt knows (1..%d)",
                         script ? "a TorchScript archive" : "a torch.save zip archive", v,
                         MAX_ZIP_VERSION);
                kind = "newer-version";
            }
        }
    }
    ckpt_zip_close(z);
    return kind;
}

/* ---- ONNX: a bounded walk over the top-level protobuf fields (no protobuf
 * library; the graph itself is not parsed).  Every field's tag and length must
 * be valid wire format, of the wire type ONNX's schema gives that field, and
 * end inside the file; the walk reaches the last byte exactly. */

#define PB_MAX_FIELD 32

typedef struct pb_walk {
    uint64_t fields; /* top-level fields read */
    uint32_t seen;   /* bit f: field f present */
    uint64_t first_varint[PB_MAX_FIELD];
    uint64_t str_at[PB_MAX_FIELD]; /* offset and length of the first LEN field f */
    uint64_t str_len[PB_MAX_FIELD];
} pb_walk;

static bool pb_varint(const ckpt_source *src, uint64_t *pos, uint64_t *v)
{
    uint8_t b[10];
    uint64_t left = src->size - *pos;
    size_t k = left < sizeof(b) ? (size_t)left : sizeof(b);
    ckpt_error e;
    ckpt_error_clear(&e);
    if (k == 0 || ckpt_source_read(src, *pos, b, k, &e) < 0)
        return false;
    uint64_t r = 0;
    for (size_t i = 0; i < k; i++) {
        r |= (uint64_t)(b[i] & 0x7f) << (7 * i);
        if (!(b[i] & 0x80)) {
            *pos += i + 1;
            *v = r;
            return true;
        }
    }
    return false;
}

/* `wire[f]`: bit w set when wire type w is allowed for field f (0 = unknown field). */
static bool pb_walk_all(const ckpt_source *src, const uint8_t *wire, pb_walk *w)
{
    uint64_t pos = 0;
    memset(w, 0, sizeof(*w));
    while (pos < src->size) {
        uint64_t tag, v;
        if (!pb_varint(src, &pos, &tag))
            return false;
        uint64_t f = tag >> 3;
        unsigned wt = (unsigned)(tag & 7);
        if (f == 0 || f >= PB_MAX_FIELD || !(wire[f] & (1u << wt)))
            return false;
        switch (wt) {
        case 0:
            if (!pb_varint(src, &pos, &v))
                return false;
            if (!(w->seen & (1u << f)))
                w->first_varint[f] = v;
            break;
        case 1:
        case 5:
            v = wt == 1 ? 8 : 4;
            if (v > src->size - pos)
                return false;
            pos += v;
            break;
        case 2:
            if (!pb_varint(src, &pos, &v) || v > src->size - pos)
                return false;
            if (!(w->seen & (1u << f))) {
                w->str_at[f] = pos;
                w->str_len[f] = v;
            }
            pos += v;
            break;
        default: return false;
        }
        w->seen |= 1u << f;
        w->fields++;
    }
    return w->fields > 0;
}

#define PB_V (1u << 0)
#define PB_64 (1u << 1)
#define PB_LEN (1u << 2)
#define PB_32 (1u << 5)

static const char *onnx_kind(const ckpt_source *src, const uint8_t *h, size_t len, char *why,
                             size_t n)
{
    if (len < 2 || (h[0] != 0x08 && h[0] != 0x10 && h[0] != 0x0a))
        return NULL;
    /* ModelProto (onnx.proto3): 1 ir_version, 2 producer_name, 3 producer_version,
     * 4 domain, 5 model_version, 6 doc_string, 7 graph, 8 opset_import,
     * 14 metadata_props, 20 training_info, 25 functions, 26 configuration */
    static const uint8_t model[PB_MAX_FIELD] = {
        [1] = PB_V,   [2] = PB_LEN, [3] = PB_LEN,  [4] = PB_LEN,  [5] = PB_V,    [6] = PB_LEN,
        [7] = PB_LEN, [8] = PB_LEN, [14] = PB_LEN, [20] = PB_LEN, [25] = PB_LEN, [26] = PB_LEN};
    /* TensorProto: 1 dims, 2 data_type, 3 segment, 4 float_data, 5 int32_data,
     * 6 string_data, 7 int64_data, 8 name, 9 raw_data, 10 double_data,
     * 11 uint64_data, 12 doc_string, 13 external_data, 14 data_location,
     * 16 metadata_props (repeated numbers packed or not) */
    static const uint8_t tensor[PB_MAX_FIELD] = {
        [1] = PB_V | PB_LEN,   [2] = PB_V,           [3] = PB_LEN,
        [4] = PB_32 | PB_LEN,  [5] = PB_V | PB_LEN,  [6] = PB_LEN,
        [7] = PB_V | PB_LEN,   [8] = PB_LEN,         [9] = PB_LEN,
        [10] = PB_64 | PB_LEN, [11] = PB_V | PB_LEN, [12] = PB_LEN,
        [13] = PB_LEN,         [14] = PB_V,          [16] = PB_LEN};
    /* SequenceProto and OptionalProto (ONNX test data): 1 name, 2 elem_type,
     * 3..7 values */
    static const uint8_t value[PB_MAX_FIELD] = {
        [1] = PB_LEN, [2] = PB_V,   [3] = PB_LEN, [4] = PB_LEN,
        [5] = PB_LEN, [6] = PB_LEN, [7] = PB_LEN};
    pb_walk w;
    if (h[0] == 0x08 && pb_walk_all(src, model, &w) && (w.seen & (1u << 7)) &&
        w.first_varint[1] >= 1 && w.first_varint[1] <= 64) {
        char prod[64] = "";
        uint64_t pl = w.str_len[2] < sizeof(prod) - 1 ? w.str_len[2] : sizeof(prod) - 1;
        ckpt_error e;
        ckpt_error_clear(&e);
        if ((w.seen & (1u << 2)) && ckpt_source_read(src, w.str_at[2], prod, (size_t)pl, &e) == 0)
            prod[pl] = '\0';
        else
            prod[0] = '\0';
        for (char *c = prod; *c; c++)
            if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
                *c = '?';
        snprintf(why, n,
                 "an ONNX model (protobuf ModelProto, IR version %llu%s%s%s; %llu top-level "
                 "fields), not a torch file",
                 (unsigned long long)w.first_varint[1], prod[0] ? ", producer '" : "", prod,
                 prod[0] ? "'" : "", (unsigned long long)w.fields);
        return "onnx";
    }
    if (pb_walk_all(src, tensor, &w) && (w.seen & (1u << 2)) && w.first_varint[2] >= 1 &&
        w.first_varint[2] <= 64) {
        snprintf(why, n,
                 "an ONNX TensorProto (serialized tensor, data type %llu; %llu top-level "
                 "fields), not a torch file",
                 (unsigned long long)w.first_varint[2], (unsigned long long)w.fields);
        return "onnx-tensor";
    }
    if (pb_walk_all(src, value, &w) && (w.seen & (1u << 2)) && w.first_varint[2] >= 1 &&
        w.first_varint[2] <= 6) {
        snprintf(why, n,
                 "an ONNX SequenceProto or OptionalProto (serialized value, element type "
                 "%llu; %llu top-level fields), not a torch file",
                 (unsigned long long)w.first_varint[2], (unsigned long long)w.fields);
        return "onnx-tensor";
    }
    return NULL;
}

/* ONNX external data (tensor bytes kept beside a model, TensorProto.external_data
 * location = "<file>") has no header of its own: it is named only when an .onnx
 * file in the same folder names this file as a location (the string, length-
 * prefixed as protobuf writes it).  Bounded: 256 folder entries, 16 models of
 * 64 MiB at most. */
static bool onnx_external_owner(const ckpt_source *src, char *why, size_t n)
{
    const char *path = src->label;
    if (!path || !path[0])
        return false;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t bl = strlen(base), dl = slash ? (size_t)(slash - path) : 0;
    if (bl == 0 || bl > 127 || dl > 3800)
        return false;
    char dir[4096];
    if (slash)
        snprintf(dir, sizeof(dir), "%.*s", (int)(dl ? dl : 1), dl ? path : "/");
    else
        snprintf(dir, sizeof(dir), ".");
    DIR *d = opendir(dir);
    if (!d)
        return false;
    uint8_t pat[130];
    pat[0] = 0x12; /* StringStringEntryProto.value, field 2, LEN */
    pat[1] = (uint8_t)bl;
    memcpy(pat + 2, base, bl);
    size_t patn = bl + 2;
    bool found = false;
    struct dirent *de;
    int models = 0;
    for (int seen = 0; !found && seen < 256 && models < 16 && (de = readdir(d)) != NULL; seen++) {
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".onnx") != 0)
            continue;
        models++; /* at most 16 models of 64 MiB are read */
        char mp[4400];
        snprintf(mp, sizeof(mp), "%s/%s", dir, de->d_name);
        FILE *f = fopen(mp, "rb");
        if (!f)
            continue;
        uint8_t *buf = NULL;
        long sz = -1;
        if (fseek(f, 0, SEEK_END) == 0)
            sz = ftell(f);
        if (sz > 0 && sz <= (64L << 20) && fseek(f, 0, SEEK_SET) == 0 &&
            (buf = malloc((size_t)sz)) != NULL && fread(buf, 1, (size_t)sz, f) == (size_t)sz) {
            for (size_t i = 0; i + patn <= (size_t)sz && !found; i++)
                if (buf[i] == 0x12 && memcmp(buf + i, pat, patn) == 0)
                    found = true;
            if (found)
                snprintf(why, n,
                         "ONNX external data (raw tensor bytes, %llu bytes) named as a location "
                         "by the model '%.200s' beside it; not a torch file",
                         (unsigned long long)src->size, de->d_name);
        }
        free(buf);
        fclose(f);
    }
    closedir(d);
    return found;
}

const char *ckpt__detect(const ckpt_source *src, char *why, size_t n, uint64_t *off)
{
    uint8_t h[HEAD];
    uint64_t dummy;
    char tmp[8];
    if (!off)
        off = &dummy;
    if (!why || n == 0) {
        why = tmp;
        n = sizeof(tmp);
    }
    *off = 0;
    why[0] = '\0';
    size_t len = src->size < HEAD ? (size_t)src->size : HEAD;
    ckpt_error e;
    ckpt_error_clear(&e);
    if (len == 0) {
        snprintf(why, n, "an empty file");
        return "empty";
    }
    if (ckpt_source_read(src, 0, h, len, &e) < 0) {
        snprintf(why, n, "unreadable: %s", e.msg);
        return "unreadable";
    }
    if (has_prefix(h, len, "PK\x03\x04") || has_prefix(h, len, "PK\x05\x06"))
        return zip_kind(src, why, n, off);
    if (has_prefix(h, len, "PYTORCH1")) {
        snprintf(why, n, "an archive of the torch preview release (PYTORCH1), not supported");
        return "torch-preview";
    }
    /* torch.load tries tarfile before the legacy stream (tar.h): a file that
     * Python's tarfile opens is a tar whatever its first pickle says */
    int tar = ckpt__tar_probe(src);
    if (tar == CKPT__TAR_EMPTY) {
        snprintf(why, n,
                 "512 zero bytes: Python's tarfile (which torch.load tries first) "
                 "reads it as an empty tar archive");
        return "tar";
    }
    if (tar == CKPT__TAR_YES && len >= 512) {
        char name[101];
        memcpy(name, h, 100);
        name[100] = '\0';
        if (strcmp(name, "storages") == 0 || strcmp(name, "tensors") == 0 ||
            strcmp(name, "pickle") == 0 || strcmp(name, "sys_info") == 0 || h[156] == 'x' ||
            h[156] == 'g') {
            snprintf(why, n, "a torch.save tar archive (torch <= 0.1)");
            return "torch-tar";
        }
        snprintf(why, n, "a tar archive whose first member is '%.60s', not a torch file", name);
        return "tar";
    }
    if (legacy_magic(h, len)) {
        snprintf(why, n, "a legacy torch.save stream (_use_new_zipfile_serialization=False)");
        return "torch-legacy";
    }
    if (has_prefix(h, len, "GGUF") && len >= 8) {
        uint32_t v = ckpt_rd_u32le(h + 4);
        if (v > MAX_GGUF_VERSION) {
            *off = 4;
            snprintf(why, n,
                     "a GGUF file (llama.cpp) of version %u, newer than ckpt knows "
                     "(1..%d), and not a torch file",
                     v, MAX_GGUF_VERSION);
            return "newer-version";
        }
        snprintf(why, n, "a GGUF file (llama.cpp, version %u), not a torch file", v);
        return "gguf";
    }
    if (has_prefix(h, len, "\x93NUMPY") && len >= 8) {
        snprintf(why, n, "a NumPy .npy array (format %u.%u), not a torch file", h[6], h[7]);
        return "npy";
    }
    if (has_prefix(h, len, "version https://git-lfs.github.com/spec/")) {
        char oid[80], sz[32];
        line_value(h, len, "oid ", oid, sizeof(oid));
        line_value(h, len, "size ", sz, sizeof(sz));
        snprintf(why, n,
                 "a git-LFS pointer file (%llu bytes), not the model itself: the real file "
                 "(%s bytes, %s) was never downloaded; run 'git lfs pull'",
                 (unsigned long long)src->size, sz[0] ? sz : "?", oid[0] ? oid : "no oid");
        return "git-lfs-pointer";
    }
    if (html_page(h, len)) {
        snprintf(why, n,
                 "an HTML page (%llu bytes), not a model: the download saved a web page "
                 "(an error or login page?) instead of the file",
                 (unsigned long long)src->size);
        return "html";
    }
    if (len >= 10 && h[8] == '{') {
        uint64_t hl = ckpt_rd_u64le(h);
        if (hl > 1 && hl <= src->size - 8) {
            snprintf(why, n, "a safetensors file (%llu-byte JSON header), not a torch.save file",
                     (unsigned long long)hl);
            return "safetensors";
        }
        if (hl > src->size - 8 && hl < ((uint64_t)1 << 32)) {
            *off = src->size;
            snprintf(why, n,
                     "a safetensors file truncated at byte %llu: its header alone is "
                     "%llu bytes",
                     (unsigned long long)src->size, (unsigned long long)hl + 8);
            return "truncated-safetensors";
        }
    }
    if (h[0] == 0x80 && len >= 2 && h[1] <= 5) {
        snprintf(why, n, "a plain pickle stream (protocol %u), not a torch.save file", h[1]);
        return "pickle";
    }
    if (h[0] == 0x1f && len >= 2 && h[1] == 0x8b) {
        snprintf(why, n, "a gzip-compressed file: decompress it first");
        return "gzip";
    }
    if (strchr("(]}cNILSVFld)", (char)h[0]) && h[0] && all_text(h, len < 64 ? len : 64)) {
        uint8_t last = 0;
        if (ckpt_source_read(src, src->size - 1, &last, 1, &e) == 0 && last == '.') {
            snprintf(why, n, "a plain pickle stream (protocol 0 or 1), not a torch.save file");
            return "pickle";
        }
    }
    if (all_text(h, len)) {
        char first[61];
        size_t k = 0;
        while (k < len && k + 1 < sizeof(first) && h[k] != '\n' && h[k] != '\r') {
            first[k] = (char)h[k];
            k++;
        }
        first[k] = '\0';
        snprintf(why, n, "a text file, not a model (it begins '%s')", first);
        return "text";
    }
    const char *pb = onnx_kind(src, h, len, why, n);
    if (pb)
        return pb;
    if (onnx_external_owner(src, why, n))
        return "onnx-external-data";
    snprintf(why, n,
             "not a format ckpt knows (first bytes %02x %02x %02x %02x %02x %02x %02x %02x)",
             h[0], len > 1 ? h[1] : 0, len > 2 ? h[2] : 0, len > 3 ? h[3] : 0, len > 4 ? h[4] : 0,
             len > 5 ? h[5] : 0, len > 6 ? h[6] : 0, len > 7 ? h[7] : 0);
    return "unknown";
}

const char *ckpt_detect(const ckpt_source *src, char *why, size_t n, uint64_t *offset)
{
    if (!src || !src->read_at) {
        if (why && n)
            snprintf(why, n, "no source");
        if (offset)
            *offset = 0;
        return "unreadable";
    }
    return ckpt__detect(src, why, n, offset);
}

const char *ckpt_detect_file(const char *path, char *why, size_t n, uint64_t *offset)
{
    ckpt_source src;
    ckpt_error e;
    ckpt_error_clear(&e);
    if (offset)
        *offset = 0;
    if (!path || ckpt_source_open_file(&src, path, true, &e) < 0) {
        if (why && n)
            snprintf(why, n, "unreadable: %s", path ? e.msg : "no path");
        return "unreadable";
    }
    const char *k = ckpt__detect(&src, why, n, offset);
    ckpt_source_close(&src);
    return k;
}
