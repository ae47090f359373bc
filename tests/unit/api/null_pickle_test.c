/* tests/unit/api/null_pickle_test.c - every call of ckpt/pickle.h with
 * err == NULL, NULL options and out-parameters, NULL objects and zero sizes,
 * on valid and invalid input: the documented result, never a crash. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt/ckpt.h"
#include "util/test.h"

TEST(test_api_null_pickle__pickle)
{
    CHECK(ckpt_pickle_op_name(-1) == NULL && ckpt_pickle_op_name(0x100) == NULL);
    CHECK(ckpt_pickle_load(NULL, (const uint8_t *)"K\x01.", 3, NULL, NULL, NULL, NULL) == NULL);
    ckpt_doc *doc = ckpt_doc_new(NULL, NULL);
    CHECK(doc != NULL);
    CHECK(ckpt_pickle_load(doc, NULL, 0, NULL, NULL, NULL, NULL) == NULL);
    CHECK(ckpt_pickle_load(doc, NULL, 3, NULL, NULL, NULL, NULL) == NULL);
    const uint8_t ok[] = "\x80\x02K\x01.";
    CHECK(ckpt_pickle_load(doc, ok, 5, NULL, NULL, NULL, NULL) != NULL);
    size_t used = 0;
    CHECK(ckpt_pickle_load(doc, ok, 5, NULL, NULL, &used, NULL) != NULL && used == 5);
    /* every opcode byte alone and after a protocol header, no hooks, err NULL */
    for (int op = 0; op < 256; op++) {
        uint8_t p[4] = {0x80, 0x02, (uint8_t)op, '.'};
        ckpt_pickle_load(doc, p + 2, 2, NULL, NULL, NULL, NULL);
        ckpt_pickle_load(doc, p, 4, NULL, NULL, NULL, NULL);
        ckpt_pickle_load(doc, p, 3, NULL, NULL, NULL, NULL);
    }
    /* globals and calls with no hooks are refused, not crashed on */
    const uint8_t call[] = "\x80\x02"
                           "cos\nsystem\nX\x02\x00\x00\x00id\x85R.";
    CHECK(ckpt_pickle_load(doc, call, sizeof(call) - 1, NULL, NULL, NULL, NULL) == NULL);
    ckpt_pickle_opts o;
    memset(&o, 0, sizeof(o));
    o.max_depth = 1;
    CHECK(ckpt_pickle_load(doc, (const uint8_t *)"((K\x01t.", 6, NULL, &o, NULL, NULL) == NULL);
    ckpt_doc_free(doc);
}

TEST_MAIN()
