/* tests/util/testutil.c - harness runner and shared helpers. */
#include <stdlib.h>
#include <sys/stat.h>

#include "util/test.h"

#define MAX_CASES 512
static test_case cases[MAX_CASES];
static int ncases;
int test_failures;
static char skip_reason[512]; /* non-empty: the running case was skipped */

void test_skip(const char *reason)
{
    if (!skip_reason[0])
        snprintf(skip_reason, sizeof(skip_reason), "%s", reason);
}

int test_have_dir(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
        return 1;
    char why[512];
    snprintf(why, sizeof(why), "folder %s is absent (a corpus kept outside the repository)", dir);
    test_skip(why);
    return 0;
}

void test_register(const char *name, test_fn fn)
{
    if (ncases < MAX_CASES)
        cases[ncases++] = (test_case){name, fn};
}

int test_main(int argc, char **argv)
{
    int ran = 0, skipped = 0;
    for (int i = 0; i < ncases; i++) {
        if (argc > 1) {
            int want = 0;
            for (int j = 1; j < argc; j++)
                if (strcmp(argv[j], cases[i].name) == 0)
                    want = 1;
            if (!want)
                continue;
        }
        int before = test_failures;
        skip_reason[0] = '\0';
        cases[i].fn();
        ran++;
        if (test_failures != before)
            printf("FAIL %s\n", cases[i].name);
        else if (skip_reason[0])
            printf("SKIPPED: %s: %s\n", cases[i].name, skip_reason);
        else
            printf("ok   %s\n", cases[i].name);
        skipped += test_failures == before && skip_reason[0];
    }
    if (ran == 0) {
        fprintf(stderr, "no test case matched\n");
        return 2;
    }
    return test_failures ? 1 : skipped ? TEST_SKIP_CODE : 0;
}

unsigned char *test_read_file(const char *path, size_t *len)
{
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(n > 0 ? (size_t)n : 1);
    if (b && n > 0 && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b)
        *len = (size_t)n;
    return b;
}

static void *fa_alloc(void *ctx, size_t n)
{
    test_failing_alloc *fa = ctx;
    fa->count++;
    if (fa->fail_at && fa->count == fa->fail_at)
        return NULL;
    void *p = malloc(n);
    if (p)
        fa->live += (long long)n;
    return p;
}
static void *fa_realloc(void *ctx, void *p, size_t old_n, size_t new_n)
{
    test_failing_alloc *fa = ctx;
    fa->count++;
    if (fa->fail_at && fa->count == fa->fail_at)
        return NULL;
    void *q = realloc(p, new_n);
    if (q)
        fa->live += (long long)new_n - (long long)old_n;
    return q;
}
static void fa_free(void *ctx, void *p, size_t n)
{
    test_failing_alloc *fa = ctx;
    if (p)
        fa->live -= (long long)n;
    free(p);
}

void test_failing_alloc_init(test_failing_alloc *fa, long fail_at)
{
    memset(fa, 0, sizeof(*fa));
    fa->a = (ckpt_alloc){fa_alloc, fa_realloc, fa_free, fa};
    fa->fail_at = fail_at;
}
