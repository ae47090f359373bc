/* tests/interop/container_tool.c - what ckpt's container readers resolve, for
 * tests/interop/container_differential.py.
 *
 * Reads requests from stdin, one per line, fields separated by TABs:
 *   zip <TAB> FILE <TAB> RECORD <TAB> RECORD ...   the zip reader (torch layout)
 *   tar <TAB> FILE                                 the tar walker (tar.h)
 * and answers each with one line of JSON:
 *   zip: {"ok":true,"prefix":P,"lookups":{R:"LEN:CRC"|null|"error"},"mismatch":[names]}
 *        or {"ok":false,"error":MSG}
 *   tar: {"probe":"not"|"empty"|"yes","walk":"end"|"read_error"|"error","error":MSG,
 *         "members":{"storages":"LEN:CRC"|"nodata"|"dup",...}}   (names absent: not found)
 * LEN:CRC is the byte count and the CRC-32 of the bytes, in decimal. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "ckpt/zip.h"
#include "torch/tar.h"

static void json_str(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void digest(const uint8_t *p, uint64_t n)
{
    printf("\"%llu:%lu\"", (unsigned long long)n, (unsigned long)ckpt_crc32(0, p, (size_t)n));
}

static void do_zip(const char *path, char **names, int nn)
{
    ckpt_source src;
    ckpt_error err;
    ckpt_error_clear(&err);
    if (ckpt_source_open_file(&src, path, true, &err) < 0) {
        printf("{\"ok\":false,\"error\":");
        json_str(err.msg, strlen(err.msg));
        printf("}\n");
        return;
    }
    ckpt_zip *z = ckpt_zip_open(&src, NULL, NULL, &err);
    if (!z) {
        printf("{\"ok\":false,\"error\":");
        json_str(err.msg, strlen(err.msg));
        printf("}\n");
        ckpt_source_close(&src);
        return;
    }
    printf("{\"ok\":true,\"prefix\":");
    json_str(ckpt_zip_prefix(z), strlen(ckpt_zip_prefix(z)));
    printf(",\"lookups\":{");
    for (int i = 0; i < nn; i++) {
        printf("%s", i ? "," : "");
        json_str(names[i], strlen(names[i]));
        putchar(':');
        const ckpt_zip_entry *e = ckpt_zip_find(z, names[i]);
        uint8_t *buf = e ? malloc(e->size ? (size_t)e->size : 1) : NULL;
        if (!e)
            printf("null");
        else if (!buf || ckpt_zip_read(z, e, buf, (size_t)e->size, false, &err) < 0)
            printf("\"error\"");
        else
            digest(buf, e->size);
        free(buf);
    }
    printf("},\"mismatch\":[");
    int k = 0;
    for (size_t i = 0; i < ckpt_zip_count(z); i++) {
        const ckpt_zip_entry *e = ckpt_zip_entry_at(z, i);
        if (e->local_name_differs) {
            printf("%s", k++ ? "," : "");
            json_str(e->name, strlen(e->name));
        }
    }
    printf("]}\n");
    ckpt_zip_close(z);
    ckpt_source_close(&src);
}

static void do_tar(const char *path)
{
    static const char *const want[] = {"storages", "tensors", "pickle"};
    ckpt_source src;
    ckpt_error err;
    ckpt_error_clear(&err);
    if (ckpt_source_open_file(&src, path, true, &err) < 0) {
        printf("{\"probe\":\"not\",\"walk\":\"error\",\"error\":");
        json_str(err.msg, strlen(err.msg));
        printf(",\"members\":{}}\n");
        return;
    }
    int probe = ckpt__tar_probe(&src);
    printf("{\"probe\":\"%s\"", probe == CKPT__TAR_NOT     ? "not"
                                : probe == CKPT__TAR_EMPTY ? "empty"
                                                           : "yes");
    char member[3][64];
    int seen[3] = {0, 0, 0};
    ckpt__tar_walk w;
    ckpt__tar_member m;
    ckpt_error_clear(&err);
    ckpt__tar_begin(&w, &src, NULL);
    int r;
    while ((r = ckpt__tar_next(&w, &m, &err)) == 1) {
        for (int k = 0; k < 3; k++) {
            if (!ckpt__tar_named(&m, want[k]))
                continue;
            if (seen[k]++) {
                snprintf(member[k], sizeof(member[k]), "\"dup\"");
            } else if (!m.data) {
                snprintf(member[k], sizeof(member[k]), "\"nodata\"");
            } else if (m.data_off > src.size || m.size > src.size - m.data_off) {
                snprintf(member[k], sizeof(member[k]), "\"short\"");
            } else {
                uint8_t *buf = malloc(m.size ? (size_t)m.size : 1);
                if (buf && ckpt_source_read(&src, m.data_off, buf, (size_t)m.size, &err) == 0)
                    snprintf(member[k], sizeof(member[k]), "\"%llu:%lu\"",
                             (unsigned long long)m.size,
                             (unsigned long)ckpt_crc32(0, buf, (size_t)m.size));
                else
                    snprintf(member[k], sizeof(member[k]), "\"error\"");
                free(buf);
            }
        }
    }
    printf(",\"walk\":\"%s\",\"error\":", r == 0 ? "end" : w.read_error ? "read_error" : "error");
    json_str(r < 0 ? err.msg : "", r < 0 ? strlen(err.msg) : 0);
    printf(",\"members\":{");
    int first = 1;
    for (int k = 0; k < 3; k++) {
        if (!seen[k])
            continue;
        printf("%s\"%s\":%s", first ? "" : ",", want[k], member[k]);
        first = 0;
    }
    printf("}}\n");
    ckpt_source_close(&src);
}

int main(void)
{
    static char line[1 << 16];
    while (fgets(line, sizeof(line), stdin)) {
        line[strcspn(line, "\n")] = '\0';
        char *f[256];
        int n = 0;
        char *save = NULL;
        for (char *t = strtok_r(line, "\t", &save); t && n < 256; t = strtok_r(NULL, "\t", &save))
            f[n++] = t;
        if (n >= 2 && strcmp(f[0], "zip") == 0)
            do_zip(f[1], f + 2, n - 2);
        else if (n == 2 && strcmp(f[0], "tar") == 0)
            do_tar(f[1]);
        else
            printf("{\"error\":\"bad request\"}\n");
        fflush(stdout);
    }
    return 0;
}
