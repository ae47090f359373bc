/* tests/fuzz/zip_fuzz.c - libFuzzer harness for the zip reader.
 *
 * The input is the archive itself, opened as a memory source.  Every entry is
 * read with CRC checks; invariants: every entry's header and data ranges lie
 * inside the input, stored data pointers point into it, lookups by record
 * name find the entry, and each read either succeeds or fails with a status. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/zip.h"

#include "fuzz_util.h"

/* The same calls with err == NULL: no crash, the same success or failure.
 * Returns -1 when the open fails, else the number of entries. */
static long run_null_err(const uint8_t *data, size_t size, const ckpt_zip_opts *opts,
                         const int *read_rc, const int *crc_rc)
{
    ckpt_source src;
    ckpt_source_init_mem(&src, data, size, "fuzz");
    ckpt_zip *z = ckpt_zip_open(&src, opts, NULL, NULL);
    if (!z)
        return -1;
    size_t n = ckpt_zip_count(z);
    for (size_t i = 0; i < n && read_rc; i++) {
        const ckpt_zip_entry *e = ckpt_zip_entry_at(z, i);
        if (read_rc[i] != 1) {
            uint8_t *buf = malloc(e->size ? (size_t)e->size : 1);
            if (buf) {
                int rc = ckpt_zip_read(z, e, buf, (size_t)e->size, true, NULL);
                FUZZ_ASSERT((rc == 0) == (read_rc[i] == 0));
                free(buf);
            }
            uint32_t crc = 0;
            FUZZ_ASSERT((ckpt_zip_entry_crc(z, e, &crc, NULL) == 0) == (crc_rc[i] == 0));
        }
    }
    ckpt_zip_close(z);
    return (long)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ckpt_source src;
    ckpt_source_init_mem(&src, data, size, "fuzz");
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_zip_opts opts = {.max_entries = 4096, .max_inflated = 1u << 24};
    ckpt_zip *z = ckpt_zip_open(&src, &opts, NULL, &err);
    if (!z) {
        FUZZ_ASSERT(err.code < 0);
        FUZZ_ASSERT(run_null_err(data, size, &opts, NULL, NULL) == -1);
        return 0;
    }
    size_t n = ckpt_zip_count(z);
    /* per entry: 1 skipped (too large or no memory), 0 ok, -1 failed */
    int *read_rc = calloc(n ? n : 1, sizeof(int)), *crc_rc = calloc(n ? n : 1, sizeof(int));
    FUZZ_ASSERT(read_rc && crc_rc);
    FUZZ_ASSERT(n > 0 && ckpt_zip_prefix(z) != NULL);
    for (size_t i = 0; i < n; i++) {
        const ckpt_zip_entry *e = ckpt_zip_entry_at(z, i);
        FUZZ_ASSERT(e && e->name);
        FUZZ_ASSERT(e->header_offset < e->data_offset);
        FUZZ_ASSERT(e->data_offset <= size && e->comp_size <= size - e->data_offset);
        if (e->method == 0)
            FUZZ_ASSERT(e->comp_size == e->size);
        const uint8_t *p = ckpt_zip_data_ptr(z, e);
        FUZZ_ASSERT(p == NULL || (p == data + e->data_offset && e->method == 0));
        if (e->record)
            FUZZ_ASSERT(ckpt_zip_find(z, e->record) == e);
        read_rc[i] = 1;
        if (e->size > (1u << 24))
            continue;
        uint8_t *buf = malloc(e->size ? (size_t)e->size : 1);
        if (!buf)
            continue;
        ckpt_error_clear(&err);
        int rc = ckpt_zip_read(z, e, buf, (size_t)e->size, true, &err);
        FUZZ_ASSERT(rc == 0 || (rc < 0 && err.code == rc));
        read_rc[i] = rc == 0 ? 0 : -1;
        if (rc == 0 && p)
            FUZZ_ASSERT(memcmp(buf, p, (size_t)e->size) == 0);
        free(buf);
        uint32_t crc = 0;
        ckpt_error_clear(&err);
        rc = ckpt_zip_entry_crc(z, e, &crc, &err);
        FUZZ_ASSERT(rc == 0 || (rc < 0 && err.code == rc));
        crc_rc[i] = rc == 0 ? 0 : -1;
    }
    ckpt_zip_close(z);
    FUZZ_ASSERT(run_null_err(data, size, &opts, read_rc, crc_rc) == (long)n);
    free(read_rc);
    free(crc_rc);
    return 0;
}
