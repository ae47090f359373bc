/* tests/unit/api/null_train_test.c - every call of ckpt/train.h with NULL
 * objects, NULL optional arguments, err == NULL and empty states: the
 * documented result, never a crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt/ckpt.h"
#include "ckpt/train.h"
#include "util/test.h"

TEST(test_api_null_train__train_checkpoint)
{
    ckpt_train_state st;
    memset(&st, 0, sizeof st);
    ckpt_doc *d = ckpt_doc_new(NULL, NULL);
    CHECK(d != NULL);
    CHECK(ckpt_train_state_dict(NULL, NULL, NULL, NULL) == NULL);
    CHECK(ckpt_train_state_dict(&st, NULL, NULL, NULL) == NULL);
    CHECK(ckpt_train_state_dict(&st, ckpt_int_new(d, 1), d, NULL) == NULL); /* extras no dict */
    /* an empty state: {"epoch": 0} */
    ckpt_obj *root = ckpt_train_state_dict(&st, NULL, d, NULL);
    CHECK(root != NULL && ckpt_obj_len(root) == 1);
    st.no_epoch = true;
    root = ckpt_train_state_dict(&st, NULL, d, NULL);
    CHECK(root != NULL && ckpt_obj_len(root) == 0);
    CHECK(ckpt_train_save(NULL, &st, NULL, NULL, NULL) == CKPT_E_ARG);
    CHECK(ckpt_train_save("x.pt", NULL, NULL, NULL, NULL) == CKPT_E_ARG);
    CHECK(ckpt_train_load_state_dict(NULL, root, NULL, NULL) == CKPT_E_ARG);
    CHECK(ckpt_train_load_state_dict(&st, NULL, NULL, NULL) == CKPT_E_ARG);
    CHECK(ckpt_train_load_state_dict(&st, root, NULL, NULL) == 0);
    CHECK(st.no_epoch);
    ckpt_doc *out = d;
    CHECK(ckpt_train_load(NULL, &st, NULL, &out, NULL) == CKPT_E_ARG);
    CHECK(out == NULL);
    CHECK(ckpt_train_load("x.pt", NULL, NULL, NULL, NULL) == CKPT_E_ARG);
    CHECK(ckpt_train_load("/nonexistent/x.pt", &st, NULL, NULL, NULL) < 0);
    /* a round trip of the empty state through a file, err == NULL */
    char path[256];
    snprintf(path, sizeof path, "/tmp/ckpt_null_train_%ld.pt", (long)getpid());
    st.no_epoch = false;
    st.epoch = 4;
    CHECK(ckpt_train_save(path, &st, NULL, NULL, NULL) == 0);
    st.epoch = 0;
    CHECK(ckpt_train_load(path, &st, NULL, NULL, NULL) == 0);
    CHECK(st.epoch == 4 && !st.no_epoch);
    /* a piece the file lacks */
    ckpt_grad_scaler gs;
    ckpt_grad_scaler_init(&gs);
    st.scaler = &gs;
    CHECK(ckpt_train_load(path, &st, NULL, NULL, NULL) == CKPT_E_NOT_FOUND);
    remove(path);
    ckpt_doc_free(d);
}

TEST_MAIN()
