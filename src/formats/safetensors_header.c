/* src/formats/safetensors_header.c - recognise a safetensors file by a valid
 * header, not by a byte at offset 8. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/formats_internal.h"

static int say(char *why, size_t whyn, int code, const char *msg)
{
    if (why && whyn)
        snprintf(why, whyn, "%s", msg);
    return code;
}

static size_t st_dtype_size(const char *d)
{
    static const struct {
        const char *name;
        size_t size;
    } t[] = {{"BOOL", 1}, {"U8", 1},  {"I8", 1},   {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"I16", 2},
             {"U16", 2},  {"F16", 2}, {"BF16", 2}, {"I32", 4},     {"U32", 4},     {"F32", 4},
             {"F64", 8},  {"I64", 8}, {"U64", 8},  {"C64", 8},     {"F8_E8M0", 1}};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (strcmp(d, t[i].name) == 0)
            return t[i].size;
    return 0;
}

typedef struct span {
    uint64_t b, e;
} span;

static int cmp_span(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return x->b < y->b ? -1 : x->b > y->b ? 1 : x->e < y->e ? -1 : x->e > y->e;
}

static bool get_u64(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9007199254740992.0 ||
        v->valuedouble != (double)(uint64_t)v->valuedouble)
        return false;
    *out = (uint64_t)v->valuedouble;
    return true;
}

int ckpt__st_header_check(const uint8_t *buf, size_t n, size_t *tensors, char *why, size_t whyn)
{
    if (tensors)
        *tensors = 0;
    if (!buf || n < 10)
        return say(why, whyn, CKPT_ST_NOT, "shorter than a safetensors header");
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = (hl << 8) | buf[i];
    if (buf[8] != '{' || hl < 2 || hl > (100u << 20))
        return say(why, whyn, CKPT_ST_NOT, "no JSON object after the 8-byte length");
    if (hl > n - 8)
        return say(why, whyn, CKPT_ST_TRUNCATED, "safetensors header runs past the end");
    const char *h = (const char *)buf + 8, *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(h, (size_t)hl, &end, 0);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return say(why, whyn, CKPT_ST_NOT, "header is not a JSON object");
    }
    for (const char *p = end; p && p < h + hl; p++)
        if (*p != ' ') {
            cJSON_Delete(root);
            return say(why, whyn, CKPT_ST_INVALID, "bytes after the JSON header");
        }
    uint64_t data = (uint64_t)n - 8 - hl;
    size_t cnt = 0;
    for (const cJSON *e = root->child; e; e = e->next)
        cnt++;
    span *sp = calloc(cnt ? cnt : 1, sizeof(*sp));
    if (!sp) {
        cJSON_Delete(root);
        return say(why, whyn, CKPT_ST_INVALID, "out of memory");
    }
    size_t k = 0;
    int rc = CKPT_ST_VALID;
    const char *msg = NULL;
    for (const cJSON *e = root->child; e && rc == CKPT_ST_VALID; e = e->next) {
        if (e->string && strcmp(e->string, "__metadata__") == 0) {
            if (!cJSON_IsObject(e))
                rc = CKPT_ST_INVALID, msg = "__metadata__ is not an object";
            continue;
        }
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
        const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
        const cJSON *of = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
        size_t isz = cJSON_IsString(dt) ? st_dtype_size(dt->valuestring) : 0;
        if (!cJSON_IsObject(e) || !isz || !cJSON_IsArray(sh) || !cJSON_IsArray(of) ||
            cJSON_GetArraySize(of) != 2) {
            rc = CKPT_ST_INVALID, msg = "tensor entry without dtype, shape and data_offsets";
            break;
        }
        uint64_t numel = 1, b, en;
        for (const cJSON *d = sh->child; d; d = d->next) {
            uint64_t v;
            if (!get_u64(d, &v) || (v && numel > UINT64_MAX / v)) {
                rc = CKPT_ST_INVALID, msg = "shape is not a list of non-negative integers";
                break;
            }
            numel *= v;
        }
        if (rc != CKPT_ST_VALID)
            break;
        if (!get_u64(of->child, &b) || !get_u64(of->child->next, &en) || b > en) {
            rc = CKPT_ST_INVALID, msg = "data_offsets are not [begin, end]";
            break;
        }
        if (numel > UINT64_MAX / isz || en - b != numel * isz) {
            rc = CKPT_ST_INVALID, msg = "data_offsets do not match dtype and shape";
            break;
        }
        sp[k].b = b;
        sp[k].e = en;
        k++;
    }
    if (rc == CKPT_ST_VALID) {
        qsort(sp, k, sizeof(*sp), cmp_span);
        uint64_t at = 0;
        for (size_t i = 0; i < k && rc == CKPT_ST_VALID; i++) {
            if (sp[i].b != at)
                rc = CKPT_ST_INVALID, msg = "tensor data overlaps or leaves a gap";
            at = sp[i].e;
        }
        if (rc == CKPT_ST_VALID && at > data)
            rc = CKPT_ST_TRUNCATED, msg = "file ends before the last tensor's data";
        else if (rc == CKPT_ST_VALID && at != data)
            rc = CKPT_ST_INVALID, msg = "bytes after the last tensor's data";
    }
    free(sp);
    cJSON_Delete(root);
    if (tensors)
        *tensors = k;
    return rc == CKPT_ST_VALID ? rc : say(why, whyn, rc, msg);
}
