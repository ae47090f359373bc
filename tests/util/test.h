/* tests/util/test.h - a tiny clar-style harness.
 *
 * A test file defines cases with TEST(test_<layer>_<file>__<case>) { ... }
 * and ends with TEST_MAIN().  CMake registers each case as its own CTest
 * entry; the executable runs the case named on its command line, or all
 * cases when none is named. */
#ifndef CKPT_TEST_H
#define CKPT_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*test_fn)(void);
typedef struct test_case {
    const char *name;
    test_fn fn;
} test_case;

void test_register(const char *name, test_fn fn);
int test_main(int argc, char **argv);
extern int test_failures;

/* Exit status of a run whose cases passed but one was skipped; CMake registers it as
 * every unit case's SKIP_RETURN_CODE, so CTest reports the case "Skipped". */
#define TEST_SKIP_CODE 77
/* Mark the running case skipped: the runner prints "SKIPPED: <case>: <reason>" (one line)
 * and exits TEST_SKIP_CODE unless some case failed.  Checks made before still count. */
void test_skip(const char *reason);
/* 1 when `dir` is a folder; otherwise marks the running case skipped, naming `dir`.
 * Used for the real-world corpus ../shared/fixtures/real, which a clean clone lacks. */
int test_have_dir(const char *dir);
#define SKIP_UNLESS_DIR(dir)                                                                     \
    do {                                                                                         \
        if (!test_have_dir(dir))                                                                 \
            return;                                                                              \
    } while (0)

#define TEST(name)                                                                               \
    static void name(void);                                                                      \
    __attribute__((constructor)) static void name##_reg(void)                                    \
    {                                                                                            \
        test_register(#name, name);                                                              \
    }                                                                                            \
    static void name(void)

#define TEST_MAIN()                                                                              \
    int main(int argc, char **argv)                                                              \
    {                                                                                            \
        return test_main(argc, argv);                                                            \
    }

#define CHECK(cond)                                                                              \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);             \
            test_failures++;                                                                     \
            return;                                                                              \
        }                                                                                        \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                       \
    do {                                                                                         \
        long long a_ = (long long)(a), b_ = (long long)(b);                                      \
        if (a_ != b_) {                                                                          \
            fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, #a,  \
                    a_, #b, b_);                                                                 \
            test_failures++;                                                                     \
            return;                                                                              \
        }                                                                                        \
    } while (0)

#define CHECK_STR(a, b)                                                                          \
    do {                                                                                         \
        const char *a_ = (a), *b_ = (b);                                                         \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                                 \
            fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a,    \
                    a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                     \
            test_failures++;                                                                     \
            return;                                                                              \
        }                                                                                        \
    } while (0)

/* Check a ckpt call returned 0; print the error otherwise. */
#define CHECK_OK(expr, errp)                                                                     \
    do {                                                                                         \
        int rc_ = (expr);                                                                        \
        if (rc_ != 0) {                                                                          \
            char b_[1024];                                                                       \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr,                 \
                    ckpt_error_format((errp), b_, sizeof(b_)));                                  \
            test_failures++;                                                                     \
            return;                                                                              \
        }                                                                                        \
    } while (0)

/* Read a whole file into malloc'd memory; NULL (and *len = 0) on failure. */
unsigned char *test_read_file(const char *path, size_t *len);
/* An allocator that fails the N-th allocation (1-based; 0 = never) and
 * counts live bytes, for out-of-memory sweeps. */
#include "ckpt/alloc.h"
typedef struct test_failing_alloc {
    ckpt_alloc a;
    long fail_at;
    long count;
    long long live;
} test_failing_alloc;
void test_failing_alloc_init(test_failing_alloc *fa, long fail_at);

#endif
