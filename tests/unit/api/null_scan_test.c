/* tests/unit/api/null_scan_test.c - every call of ckpt/scan.h with
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

TEST(test_api_null_scan__scan)
{
    CHECK(ckpt_scan_class_name(-1) != NULL && ckpt_scan_class_name(99) != NULL);
    ckpt_scan_report_free(NULL);
    ckpt_scan_report *r = NULL;
    CHECK(ckpt_scan_mem("x", 1, NULL, NULL, NULL, NULL) < 0); /* no out */
    CHECK(ckpt_scan_file(NULL, NULL, &r, NULL) < 0 || r != NULL);
    ckpt_scan_report_free(r);
    r = NULL;
    CHECK(ckpt_scan_file("/tmp/x", NULL, NULL, NULL) < 0);
    CHECK(ckpt_scan_mem(NULL, 4, NULL, NULL, &r, NULL) < 0 || r != NULL);
    ckpt_scan_report_free(r);
    const struct {
        const char *p;
        size_t n;
        int verdict;
    } in[] = {
        {"", 0, CKPT_SCAN_UNREADABLE},
        {"\x80\x02"
         "2.",
         4, CKPT_SCAN_UNREADABLE},
        {"\x80\x02K\x01.", 5, CKPT_SCAN_CLEAN},
        {"\x80\x02"
         "cos\nsystem\nX\x02\x00\x00\x00id\x85R.",
         23, CKPT_SCAN_UNSAFE},
    };
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        r = NULL;
        CHECK_EQ_INT(ckpt_scan_mem(in[i].p, in[i].n, NULL, NULL, &r, NULL), 0);
        CHECK(r != NULL);
        CHECK_EQ_INT(r->verdict, in[i].verdict);
        ckpt_scan_report_free(r);
    }
    r = NULL;
    CHECK_EQ_INT(ckpt_scan_file("/nonexistent/ckpt/file", NULL, &r, NULL) <= 0, 1);
    if (r)
        CHECK_EQ_INT(r->verdict, CKPT_SCAN_UNREADABLE);
    ckpt_scan_report_free(r);
}

TEST_MAIN()
