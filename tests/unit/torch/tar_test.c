/* tests/unit/torch/tar_test.c - the tar walker (src/torch/tar.c) against what
 * Python's tarfile made of the same bytes (tests/fixtures/tar, written by
 * tools/gen/make_tar_fixtures.py): numeric fields as nti() reads them, and
 * for every case whether tarfile lists it (or raises TarError, after which
 * torch reads a pickle stream) and which bytes it reads as storages, tensors
 * and pickle. */
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "torch/tar.h"
#include "util/test.h"

#define DIR "tests/fixtures/tar/"

static int unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = strlen(s);
    if (n % 2 || n / 2 > cap)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return (int)(n / 2);
}

TEST(test_torch_tar__nti_matches_python)
{
    FILE *f = fopen(DIR "nti.tsv", "r");
    CHECK(f != NULL);
    char line[512];
    int rows = 0, bad = 0;
    CHECK(fgets(line, sizeof(line), f) != NULL);
    while (fgets(line, sizeof(line), f)) {
        char *save = NULL, *hex = strtok_r(line, "\t\n", &save),
             *want = strtok_r(NULL, "\t\n", &save);
        uint8_t field[32];
        int n = hex && want ? unhex(hex, field, sizeof(field)) : -1;
        if (n <= 0)
            continue;
        rows++;
        int64_t v;
        bool huge;
        int rc = ckpt__tar_nti(field, (size_t)n, &v, &huge);
        bool ok;
        if (strcmp(want, "invalid") == 0) {
            ok = rc < 0;
        } else {
            long double w = strtold(want, NULL);
            if (w >= 4611686018427387904.0L) /* 2^62: only "does not fit" matters */
                ok = rc == 0 && huge;
            else if (w < 0)
                ok = rc == 0 && v < 0 && (field[0] == 0xff || (long double)v == w);
            else
                ok = rc == 0 && !huge && (long double)v == w;
        }
        if (!ok) {
            fprintf(stderr, "nti(%s): python %s, ckpt rc %d value %lld huge %d\n", hex, want, rc,
                    (long long)v, huge);
            bad++;
        }
    }
    fclose(f);
    CHECK(rows >= 25);
    CHECK_EQ_INT(bad, 0);
}

static void member_digest(const ckpt_source *src, const ckpt__tar_member *m, char *out,
                          size_t cap)
{
    if (!m->data) {
        snprintf(out, cap, "nodata");
        return;
    }
    uint8_t *buf = malloc(m->size ? (size_t)m->size : 1);
    ckpt_error err;
    ckpt_error_clear(&err);
    if (!buf || m->data_off > src->size || m->size > src->size - m->data_off ||
        ckpt_source_read(src, m->data_off, buf, (size_t)m->size, &err) < 0)
        snprintf(out, cap, "error");
    else
        snprintf(out, cap, "%llu:%lu", (unsigned long long)m->size,
                 (unsigned long)ckpt_crc32(0, buf, (size_t)m->size));
    free(buf);
}

TEST(test_torch_tar__members_match_python)
{
    static const char *const names[3] = {"storages", "tensors", "pickle"};
    FILE *f = fopen(DIR "EXPECTED.tsv", "r");
    CHECK(f != NULL);
    char line[1024];
    int rows = 0, bad = 0, tars = 0, streams = 0;
    CHECK(fgets(line, sizeof(line), f) != NULL);
    while (fgets(line, sizeof(line), f)) {
        char *save = NULL, *fld[5];
        for (int k = 0; k < 5; k++)
            fld[k] = strtok_r(k ? NULL : line, "\t\n", &save);
        if (!fld[4])
            continue;
        rows++;
        char path[256];
        snprintf(path, sizeof(path), DIR "%s", fld[0]);
        ckpt_source src;
        ckpt_error err;
        ckpt_error_clear(&err);
        if (ckpt_source_open_file(&src, path, true, &err) < 0) {
            fprintf(stderr, "%s: %s\n", path, err.msg);
            bad++;
            continue;
        }
        int probe = ckpt__tar_probe(&src);
        ckpt__tar_walk w;
        ckpt__tar_member m;
        ckpt__tar_begin(&w, &src, NULL);
        char got[3][64] = {"-", "-", "-"};
        int r, seen[3] = {0, 0, 0};
        while ((r = ckpt__tar_next(&w, &m, &err)) == 1)
            for (int k = 0; k < 3; k++)
                if (ckpt__tar_named(&m, names[k])) {
                    if (seen[k]++)
                        snprintf(got[k], sizeof(got[k]), "dup");
                    else
                        member_digest(&src, &m, got[k], sizeof(got[k]));
                }
        const char *why = NULL;
        if (strcmp(fld[1], "stream") == 0) {
            streams++;
            if (probe != CKPT__TAR_NOT && !(r < 0 && w.read_error))
                why = "tarfile raises TarError (torch reads a pickle stream), ckpt reads a tar";
        } else if (strcmp(fld[1], "tar") == 0) {
            tars++;
            if (probe == CKPT__TAR_NOT || r < 0)
                why = "tarfile lists it, ckpt does not";
            for (int k = 0; !why && k < 3; k++)
                if (strcmp(got[k], fld[2 + k]) != 0 && strcmp(got[k], "dup") != 0)
                    why = names[k];
        }
        if (why) {
            fprintf(stderr, "%s: %s (python %s %s %s %s; ckpt probe %d walk %d: %s %s %s; %s)\n",
                    fld[0], why, fld[1], fld[2], fld[3], fld[4], probe, r, got[0], got[1], got[2],
                    r < 0 ? err.msg : "");
            bad++;
        }
        ckpt_source_close(&src);
    }
    fclose(f);
    CHECK(rows >= 20 && tars >= 10 && streams >= 3);
    CHECK_EQ_INT(bad, 0);
}

TEST_MAIN()
