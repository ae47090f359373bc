/* tests/unit/api/null_error_test.c - every call of ckpt/error.h with NULL objects, NULL
 * optional arguments, err == NULL and zero sizes: the documented result,
 * never a crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "util/test.h"

TEST(test_api_null_error__error_calls)
{
    ckpt_error_clear(NULL);
    CHECK(ckpt_status_name(12345) != NULL && ckpt_status_name(CKPT_E_ARG) != NULL);
    char buf[32];
    CHECK_STR(ckpt_error_format(NULL, buf, sizeof(buf)), "no error");
    CHECK(ckpt_error_format(NULL, NULL, 0) == NULL);
    CHECK(ckpt_error_format(NULL, buf, 0) == buf);
    ckpt_error err;
    ckpt_error_clear(&err);
    CHECK(ckpt_dict_set(NULL, NULL, NULL, NULL, &err) == CKPT_E_ARG);
    /* a one-byte buffer: just the terminator */
    CHECK(ckpt_error_format(&err, buf, 1) == buf && buf[0] == '\0');
    CHECK(strstr(ckpt_error_format(&err, buf, sizeof(buf)), "ckpt_dict_set") != NULL);
}

TEST_MAIN()
