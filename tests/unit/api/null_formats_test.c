/* tests/unit/api/null_formats_test.c - every call of ckpt/formats.h with err == NULL,
 * NULL arguments and zero sizes, on valid and invalid input: the documented result,
 * never a crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt/ckpt.h"
#include "util/test.h"

TEST(test_api_null_formats__numpy)
{
    /* loads: NULL arguments, empty and garbage input */
    CHECK(ckpt_numpy_load(NULL, NULL, NULL) == NULL);
    CHECK(ckpt_numpy_load("/nonexistent/dir/x.npz", NULL, NULL) == NULL);
    CHECK(ckpt_numpy_load_mem(NULL, 0, NULL, NULL, NULL) == NULL);
    CHECK(ckpt_numpy_load_mem(NULL, 10, "x", NULL, NULL) == NULL);
    CHECK(ckpt_numpy_load_mem("PK", 2, NULL, NULL, NULL) == NULL);
    CHECK(ckpt_numpy_load_mem("PK\x03\x04garbage", 11, NULL, NULL, NULL) == NULL);
    CHECK(ckpt_numpy_load_mem("\x93NUMPY", 6, NULL, NULL, NULL) == NULL);

    /* saves: NULL arguments and wrong kinds */
    ckpt_doc *doc = ckpt_doc_new(NULL, NULL);
    CHECK(doc != NULL);
    int64_t shape[1] = {3};
    ckpt_obj *t = ckpt_tensor_new_copy(doc, CKPT_I16, 1, shape, NULL, NULL);
    ckpt_obj *d = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    CHECK(t && d);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, d, "t", t, NULL), 0);
    CHECK_EQ_INT(ckpt_npy_save(NULL, NULL, NULL), CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_npz_save(NULL, NULL, NULL), CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_npy_save("/nonexistent/dir/x.npy", t, NULL), CKPT_E_IO);
    CHECK_EQ_INT(ckpt_npz_save("/nonexistent/dir/x.npz", d, NULL), CKPT_E_IO);

    /* valid round trips with err == NULL throughout */
    char path[] = "/tmp/ckpt_null_formats_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK_EQ_INT(ckpt_npy_save(path, t, NULL), 0);
    ckpt_doc *back = ckpt_numpy_load(path, NULL, NULL);
    CHECK(back != NULL && ckpt_obj_type(ckpt_doc_root(back)) == CKPT_T_TENSOR);
    ckpt_doc_free(back);
    CHECK_EQ_INT(ckpt_npz_save(path, d, NULL), 0);
    back = ckpt_numpy_load(path, NULL, NULL);
    CHECK(back != NULL && ckpt_obj_type(ckpt_doc_root(back)) == CKPT_T_DICT);
    ckpt_doc_free(back);
    unlink(path);
    ckpt_doc_free(doc);
}

TEST_MAIN()
