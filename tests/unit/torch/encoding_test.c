/* tests/unit/torch/encoding_test.c - Python-2 byte strings under torch.load's
 * `encoding` (utf-8 default, latin1, bytes): ckpt gives what torch 1.13 gave
 * for the same file (tests/fixtures/encoding, tools/gen/make_encoding_fixture.py). */
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "util/test.h"

static void hex(const char *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", (unsigned char)p[i]);
    out[2 * n] = '\0';
}

TEST(test_torch_encoding__matches_torch)
{
    FILE *f = fopen("tests/fixtures/encoding/py2.expected", "r");
    CHECK(f != NULL);
    char line[512];
    int checked = 0;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        char enc[16], kind[16], rest[400] = "";
        if (sscanf(line, "%15s %15s %399s", enc, kind, rest) < 2)
            continue;
        ckpt_load_opts o;
        memset(&o, 0, sizeof(o));
        o.encoding = strcmp(enc, "latin1") == 0 ? 1 : strcmp(enc, "bytes") == 0 ? 2 : 0;
        ckpt_error err;
        ckpt_doc *doc = ckpt_load("tests/fixtures/encoding/py2.pt", &o, &err);
        if (strcmp(kind, "error") == 0) {
            CHECK(doc == NULL);
            CHECK_EQ_INT(err.code, CKPT_E_FORMAT);
            checked++;
            continue;
        }
        CHECK(doc != NULL);
        const ckpt_obj *root = ckpt_doc_root(doc);
        char got[400] = "";
        size_t n = ckpt_obj_len(root);
        for (size_t i = 0; i < n; i++) {
            const ckpt_obj *k = ckpt_dict_key(root, i), *v = ckpt_dict_value(root, i);
            CHECK_EQ_INT(ckpt_obj_type(k),
                         strcmp(kind, "bytes") == 0 ? CKPT_T_BYTES : CKPT_T_STR);
            size_t kl, vl;
            const char *ks = ckpt_obj_str(k, &kl);
            char kh[128], vh[128];
            hex(ks, kl, kh);
            if (ckpt_obj_type(v) == CKPT_T_INT) {
                snprintf(vh, sizeof(vh), "%lld", (long long)ckpt_obj_int(v));
            } else {
                const char *vs = ckpt_obj_str(v, &vl);
                CHECK(vs != NULL);
                hex(vs, vl, vh);
            }
            snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s=%s", i ? "," : "", kh,
                     vh);
        }
        CHECK_STR(got, rest);
        ckpt_doc_free(doc);
        checked++;
    }
    fclose(f);
    CHECK_EQ_INT(checked, 3);
}

TEST_MAIN()
