/* src/core/dtype.c - the dtype table (names, sizes, storage class names). */
#include <string.h>

#include "obj.h"

typedef struct dtype_row {
    const char *name;    /* torch.<name> */
    size_t size;         /* bytes per element */
    const char *storage; /* legacy typed storage class, NULL for "new" dtypes */
    unsigned flags;
} dtype_row;

#define DF_FLOAT 1u
#define DF_COMPLEX 2u
#define DF_QUANT 4u

static const dtype_row rows[CKPT_DTYPE_COUNT] = {
    [CKPT_U8] = {"uint8", 1, "ByteStorage", 0},
    [CKPT_I8] = {"int8", 1, "CharStorage", 0},
    [CKPT_I16] = {"int16", 2, "ShortStorage", 0},
    [CKPT_I32] = {"int32", 4, "IntStorage", 0},
    [CKPT_I64] = {"int64", 8, "LongStorage", 0},
    [CKPT_F16] = {"float16", 2, "HalfStorage", DF_FLOAT},
    [CKPT_F32] = {"float32", 4, "FloatStorage", DF_FLOAT},
    [CKPT_F64] = {"float64", 8, "DoubleStorage", DF_FLOAT},
    [CKPT_C32] = {"complex32", 4, NULL, DF_COMPLEX},
    [CKPT_C64] = {"complex64", 8, "ComplexFloatStorage", DF_COMPLEX},
    [CKPT_C128] = {"complex128", 16, "ComplexDoubleStorage", DF_COMPLEX},
    [CKPT_BOOL] = {"bool", 1, "BoolStorage", 0},
    [CKPT_QI8] = {"qint8", 1, "QInt8Storage", DF_QUANT},
    [CKPT_QU8] = {"quint8", 1, "QUInt8Storage", DF_QUANT},
    [CKPT_QI32] = {"qint32", 4, "QInt32Storage", DF_QUANT},
    [CKPT_BF16] = {"bfloat16", 2, "BFloat16Storage", DF_FLOAT},
    [CKPT_QU4X2] = {"quint4x2", 1, "QUInt4x2Storage", DF_QUANT},
    [CKPT_QU2X4] = {"quint2x4", 1, "QUInt2x4Storage", DF_QUANT},
    [CKPT_BITS1X8] = {"bits1x8", 1, NULL, 0},
    [CKPT_BITS2X4] = {"bits2x4", 1, NULL, 0},
    [CKPT_BITS4X2] = {"bits4x2", 1, NULL, 0},
    [CKPT_BITS8] = {"bits8", 1, NULL, 0},
    [CKPT_BITS16] = {"bits16", 2, NULL, 0},
    [CKPT_F8E5M2] = {"float8_e5m2", 1, NULL, DF_FLOAT},
    [CKPT_F8E4M3FN] = {"float8_e4m3fn", 1, NULL, DF_FLOAT},
    [CKPT_F8E5M2FNUZ] = {"float8_e5m2fnuz", 1, NULL, DF_FLOAT},
    [CKPT_F8E4M3FNUZ] = {"float8_e4m3fnuz", 1, NULL, DF_FLOAT},
    [CKPT_U16] = {"uint16", 2, NULL, 0},
    [CKPT_U32] = {"uint32", 4, NULL, 0},
    [CKPT_U64] = {"uint64", 8, NULL, 0},
    [30] = {"uint1", 0, NULL, 0},
    [31] = {"uint2", 0, NULL, 0},
    [32] = {"uint3", 0, NULL, 0},
    [33] = {"uint4", 0, NULL, 0},
    [34] = {"uint5", 0, NULL, 0},
    [35] = {"uint6", 0, NULL, 0},
    [36] = {"uint7", 0, NULL, 0},
    [37] = {"int1", 0, NULL, 0},
    [38] = {"int2", 0, NULL, 0},
    [39] = {"int3", 0, NULL, 0},
    [40] = {"int4", 0, NULL, 0},
    [41] = {"int5", 0, NULL, 0},
    [42] = {"int6", 0, NULL, 0},
    [43] = {"int7", 0, NULL, 0},
    [CKPT_F8E8M0FNU] = {"float8_e8m0fnu", 1, NULL, DF_FLOAT},
    [CKPT_F4E2M1FNX2] = {"float4_e2m1fn_x2", 1, NULL, DF_FLOAT},
};

/* torch's dtype aliases (torch.float is torch.float32, ...). */
static const struct {
    const char *alias;
    int dtype;
} aliases[] = {
    {"float", CKPT_F32},    {"double", CKPT_F64}, {"half", CKPT_F16}, {"cfloat", CKPT_C64},
    {"cdouble", CKPT_C128}, {"chalf", CKPT_C32},  {"long", CKPT_I64}, {"int", CKPT_I32},
    {"short", CKPT_I16},    {"uint8", CKPT_U8},
};

size_t ckpt_dtype_size(int dtype)
{
    return (dtype >= 0 && dtype < CKPT_DTYPE_COUNT) ? rows[dtype].size : 0;
}

const char *ckpt_dtype_name(int dtype)
{
    return (dtype >= 0 && dtype < CKPT_DTYPE_COUNT) ? rows[dtype].name : NULL;
}

int ckpt_dtype_from_name(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < CKPT_DTYPE_COUNT; i++)
        if (rows[i].name && strcmp(rows[i].name, name) == 0)
            return i;
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (strcmp(aliases[i].alias, name) == 0)
            return aliases[i].dtype;
    return -1;
}

bool ckpt_dtype_is_floating(int dtype)
{
    return dtype >= 0 && dtype < CKPT_DTYPE_COUNT && (rows[dtype].flags & DF_FLOAT);
}

bool ckpt__dtype_is_quantized(int dtype)
{
    return dtype >= 0 && dtype < CKPT_DTYPE_COUNT && (rows[dtype].flags & DF_QUANT);
}

const char *ckpt__dtype_storage_name(int dtype)
{
    return (dtype >= 0 && dtype < CKPT_DTYPE_COUNT) ? rows[dtype].storage : NULL;
}

int ckpt__dtype_from_storage_name(const char *name)
{
    for (int i = 0; i < CKPT_DTYPE_COUNT; i++)
        if (rows[i].storage && strcmp(rows[i].storage, name) == 0)
            return i;
    return -1;
}
