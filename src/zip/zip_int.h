/* src/zip/zip_int.h - zip record layout shared by the writer and its unit tests.
 *
 * The layout of one local header depends only on the header's offset
 * (`cursor`), the record size, the full name length and the alignment
 * (spec 1.4, 1.5, 1.7); it is computed here as a pure function so the zip64
 * branches can be tested without writing 4 GiB. */
#ifndef CKPT_ZIP_INT_H
#define CKPT_ZIP_INT_H

#include <stddef.h>
#include <stdint.h>

#define CKPT_ZIP_SIG_LOCAL 0x04034b50u
#define CKPT_ZIP_SIG_CENTRAL 0x02014b50u
#define CKPT_ZIP_SIG_DESC 0x08074b50u
#define CKPT_ZIP_SIG_EOCD 0x06054b50u
#define CKPT_ZIP_SIG_Z64_EOCD 0x06064b50u
#define CKPT_ZIP_SIG_Z64_LOC 0x07064b50u

#define CKPT_ZIP_LOCAL_LEN 30u
#define CKPT_ZIP_CENTRAL_LEN 46u
#define CKPT_ZIP_EOCD_LEN 22u
#define CKPT_ZIP_Z64_EOCD_LEN 56u
#define CKPT_ZIP_Z64_LOC_LEN 20u
#define CKPT_ZIP_SAT32 0xFFFFFFFFu
#define CKPT_ZIP_SAT16 0xFFFFu
#define CKPT_ZIP_FB_ID 0x4246u
#define CKPT_ZIP_Z64_ID 0x0001u
#define CKPT_ZIP_MAX_ALIGN 32768u

/* Where the pieces of one stored record go. */
typedef struct ckpt_zip__layout {
    uint64_t cursor;      /* local header offset */
    uint64_t size;        /* record size (stored: compressed == uncompressed) */
    uint16_t flags;       /* 0x0808, or 0x0800 for an empty record */
    uint16_t z64_len;     /* bytes of the local zip64 field incl. its 4-byte header, or 0 */
    uint16_t pad;         /* 'Z' bytes in the FB field */
    uint16_t extra_len;   /* local extra length: z64_len + 4 + pad */
    uint32_t header_len;  /* 30 + name + extra */
    uint32_t desc_len;    /* data descriptor: 0, 16 or 24 */
    uint64_t data_offset; /* cursor + header_len, a multiple of the alignment */
    uint64_t end;         /* data_offset + size + desc_len (next header) */
} ckpt_zip__layout;

/* Compute the layout; returns 0, or -1 when it cannot be represented
 * (name_len > 65535, alignment 0 or > CKPT_ZIP_MAX_ALIGN, offsets overflow). */
int ckpt_zip__layout_of(ckpt_zip__layout *out, uint64_t cursor, uint64_t size, size_t name_len,
                        uint32_t alignment);

/* Bytes ckpt_zip__put_local writes for `l` and a name of `name_len` bytes. */
size_t ckpt_zip__local_len(const ckpt_zip__layout *l);

/* Write the local header (fixed part, name = prefix '/' record, extras) into
 * `out`, which holds at least ckpt_zip__local_len(l) bytes; returns that length. */
size_t ckpt_zip__put_local(uint8_t *out, const ckpt_zip__layout *l, const char *prefix,
                           size_t prefix_len, const char *record, size_t record_len);

/* Write the data descriptor for `l` with `crc`; returns l->desc_len (<= 24). */
size_t ckpt_zip__put_desc(uint8_t *out, const ckpt_zip__layout *l, uint32_t crc);

/* Length of the central-directory entry ckpt_zip__put_central writes. */
size_t ckpt_zip__central_len(size_t name_len, uint64_t offset, uint64_t size);

/* Write one central-directory entry for a stored record (sizes and offset
 * saturated to 0xFFFFFFFF, real values in a zip64 field, when >= 0xFFFFFFFF);
 * returns its length. */
size_t ckpt_zip__put_central(uint8_t *out, const char *prefix, size_t prefix_len,
                             const char *record, size_t record_len, uint64_t offset,
                             uint64_t size, uint32_t crc, uint16_t flags);

/* Length of the end records: ZIP64 end record, locator, classic end record. */
#define CKPT_ZIP_END_LEN (CKPT_ZIP_Z64_EOCD_LEN + CKPT_ZIP_Z64_LOC_LEN + CKPT_ZIP_EOCD_LEN)

/* Write the end records for `count` entries whose central directory of
 * `cd_size` bytes starts at `cd_off` (the ZIP64 end record follows it
 * directly); returns CKPT_ZIP_END_LEN. */
size_t ckpt_zip__put_end(uint8_t *out, uint64_t count, uint64_t cd_off, uint64_t cd_size);

#endif
