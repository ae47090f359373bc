/*
 * tests/interop/listing_check.c - tier 2 without Python: for every
 * <name>.listing.json in FIXDIR, run `CKPT ls --json FIXDIR/<name>.pt` and
 * compare its JSON with the committed listing (parsed, order included).
 *
 *   listing_check CKPT FIXDIR
 *
 * Exit 0 when every fixture matches and at least one was found.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static char *slurp(FILE *f, size_t *n)
{
    size_t cap = 4096, len = 0;
    char *p = malloc(cap);
    if (!p)
        return NULL;
    for (;;) {
        if (len + 1 >= cap) {
            char *q = realloc(p, cap * 2);
            if (!q) {
                free(p);
                return NULL;
            }
            p = q;
            cap *= 2;
        }
        size_t k = fread(p + len, 1, cap - len - 1, f);
        if (k == 0)
            break;
        len += k;
    }
    p[len] = '\0';
    *n = len;
    return p;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int check_one(const char *ckpt, const char *dir, const char *name)
{
    char path[4096], cmd[9000];
    size_t n;
    snprintf(path, sizeof path, "%s/%s.listing.json", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("FAIL %s: cannot open %s\n", name, path);
        return 1;
    }
    char *want_text = slurp(f, &n);
    fclose(f);
    cJSON *want = want_text ? cJSON_Parse(want_text) : NULL;
    free(want_text);
    if (!want) {
        printf("FAIL %s: %s is not JSON\n", name, path);
        return 1;
    }
    snprintf(cmd, sizeof cmd, "'%s' ls --json '%s/%s.pt'", ckpt, dir, name);
    FILE *p = popen(cmd, "r");
    char *got_text = p ? slurp(p, &n) : NULL;
    int rc = p ? pclose(p) : -1;
    cJSON *got = got_text ? cJSON_Parse(got_text) : NULL;
    int bad = 0;
    if (rc != 0) {
        printf("FAIL %s: `%s` exited with status %d\n", name, cmd, rc);
        bad = 1;
    } else if (!got) {
        printf("FAIL %s: ckpt output is not JSON: %.300s\n", name, got_text ? got_text : "");
        bad = 1;
    } else if (!cJSON_Compare(want, got, 1)) {
        int nw = cJSON_GetArraySize(want), ng = cJSON_IsArray(got) ? cJSON_GetArraySize(got) : -1;
        printf("FAIL %s: listing differs (committed %d entries, ckpt %d)\n", name, nw, ng);
        for (int i = 0; i < nw || i < ng; i++) {
            cJSON *w = cJSON_GetArrayItem(want, i),
                  *g = ng >= 0 ? cJSON_GetArrayItem(got, i) : NULL;
            if (w && g && cJSON_Compare(w, g, 1))
                continue;
            char *ws = w ? cJSON_PrintUnformatted(w) : NULL,
                 *gs = g ? cJSON_PrintUnformatted(g) : NULL;
            printf("  entry %d\n    committed: %s\n    ckpt:      %s\n", i, ws ? ws : "(none)",
                   gs ? gs : "(none)");
            free(ws);
            free(gs);
            break;
        }
        bad = 1;
    }
    cJSON_Delete(want);
    cJSON_Delete(got);
    free(got_text);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: listing_check CKPT FIXDIR\n");
        return 2;
    }
    DIR *d = opendir(argv[2]);
    if (!d) {
        printf("listing_check: cannot open fixture folder %s\n", argv[2]);
        return 1;
    }
    char **names = NULL;
    size_t count = 0;
    struct dirent *e;
    const char *suffix = ".listing.json";
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name), sl = strlen(suffix);
        if (len <= sl || strcmp(e->d_name + len - sl, suffix) != 0)
            continue;
        char **nn = realloc(names, (count + 1) * sizeof *names);
        if (!nn)
            return 1;
        names = nn;
        names[count] = malloc(len - sl + 1);
        if (!names[count])
            return 1;
        memcpy(names[count], e->d_name, len - sl);
        names[count][len - sl] = '\0';
        count++;
    }
    closedir(d);
    if (count)
        qsort(names, count, sizeof *names, cmp_names);
    int bad = 0;
    for (size_t i = 0; i < count; i++) {
        bad += check_one(argv[1], argv[2], names[i]);
        free(names[i]);
    }
    free(names);
    printf("listing_check: %zu fixtures, %d different\n", count, bad);
    return (bad || count == 0) ? 1 : 0;
}
