/* src/store/any.c - one entry point for every checkpoint format: name a
 * file or folder by its content, load it, save a document in a chosen
 * format.  The readers and writers themselves live next to this file. */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ckpt/formats.h"
#include "core/err.h"

static const char *const names[CKPT_FMT_COUNT] = {
    [CKPT_FMT_UNKNOWN] = NULL,    [CKPT_FMT_ZIP] = "zip",
    [CKPT_FMT_LEGACY] = "legacy", [CKPT_FMT_SAFETENSORS] = "safetensors",
    [CKPT_FMT_GGUF] = "gguf",     [CKPT_FMT_NPY] = "npy",
    [CKPT_FMT_NPZ] = "npz",       [CKPT_FMT_HF] = "hf",
    [CKPT_FMT_HF_BIN] = "hf-bin", [CKPT_FMT_DCP] = "dcp",
    [CKPT_FMT_ONNX] = "onnx"};

const char *ckpt_format_name(int format)
{
    return format > 0 && format < CKPT_FMT_COUNT ? names[format] : NULL;
}

int ckpt_format_from_name(const char *name)
{
    if (!name)
        return CKPT_FMT_UNKNOWN;
    for (int f = 1; f < CKPT_FMT_COUNT; f++)
        if (strcmp(names[f], name) == 0)
            return f;
    return CKPT_FMT_UNKNOWN;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    if (n < m)
        return false;
    for (size_t i = 0; i < m; i++)
        if (tolower((unsigned char)s[n - m + i]) != suffix[i])
            return false;
    return true;
}

int ckpt_format_from_extension(const char *path)
{
    if (!path)
        return CKPT_FMT_UNKNOWN;
    static const struct {
        const char *ext;
        int fmt;
    } t[] = {{".pt", CKPT_FMT_ZIP},    {".pth", CKPT_FMT_ZIP},
             {".bin", CKPT_FMT_ZIP},   {".ckpt", CKPT_FMT_ZIP},
             {".tar", CKPT_FMT_ZIP},   {".safetensors", CKPT_FMT_SAFETENSORS},
             {".gguf", CKPT_FMT_GGUF}, {".npy", CKPT_FMT_NPY},
             {".npz", CKPT_FMT_NPZ},   {".onnx", CKPT_FMT_ONNX}};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (ends_with(path, t[i].ext))
            return t[i].fmt;
    return CKPT_FMT_UNKNOWN;
}

static void say(char *why, size_t whyn, const char *a)
{
    if (why && whyn)
        snprintf(why, whyn, "%s", a);
}

static bool file_in(const char *dir, const char *name)
{
    char p[4096];
    struct stat st;
    if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, name) >= sizeof(p))
        return false;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* A folder: DCP by its .metadata, a sharded checkpoint by its index (the
 * transformers names first, then any *.safetensors.index.json /
 * *.bin.index.json), an unsharded one by its single weights file. */
static int detect_dir(const char *path, char *why, size_t whyn)
{
    if (file_in(path, ".metadata")) {
        say(why, whyn, "a torch.distributed.checkpoint folder (.metadata and .distcp files)");
        return CKPT_FMT_DCP;
    }
    if (file_in(path, "model.safetensors.index.json")) {
        say(why, whyn, "a sharded safetensors checkpoint (model.safetensors.index.json)");
        return CKPT_FMT_HF;
    }
    if (file_in(path, "pytorch_model.bin.index.json")) {
        say(why, whyn, "a sharded torch checkpoint (pytorch_model.bin.index.json)");
        return CKPT_FMT_HF_BIN;
    }
    int found = CKPT_FMT_UNKNOWN;
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL && found == CKPT_FMT_UNKNOWN) {
            if (ends_with(e->d_name, ".safetensors.index.json"))
                found = CKPT_FMT_HF;
            else if (ends_with(e->d_name, ".bin.index.json"))
                found = CKPT_FMT_HF_BIN;
        }
        closedir(d);
    }
    if (found != CKPT_FMT_UNKNOWN) {
        say(why, whyn, "a sharded checkpoint folder (an *.index.json)");
        return found;
    }
    if (file_in(path, "model.safetensors")) {
        say(why, whyn, "a Hugging Face folder with one model.safetensors");
        return CKPT_FMT_HF;
    }
    if (file_in(path, "pytorch_model.bin")) {
        say(why, whyn, "a Hugging Face folder with one pytorch_model.bin");
        return CKPT_FMT_HF_BIN;
    }
    say(why, whyn,
        "a folder with neither a .metadata file (DCP) nor a sharded checkpoint index "
        "(*.index.json) nor a model.safetensors / pytorch_model.bin");
    return CKPT_FMT_UNKNOWN;
}

int ckpt_format_detect(const char *path, char *why, size_t whyn)
{
    if (!path) {
        say(why, whyn, "no path");
        return CKPT_FMT_UNKNOWN;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        say(why, whyn, "no such file or folder");
        return CKPT_FMT_UNKNOWN;
    }
    if (S_ISDIR(st.st_mode))
        return detect_dir(path, why, whyn);
    if (ends_with(path, ".safetensors.index.json")) {
        say(why, whyn, "the index of a sharded safetensors checkpoint");
        return CKPT_FMT_HF;
    }
    if (ends_with(path, ".index.json")) {
        say(why, whyn, "the index of a sharded torch checkpoint");
        return CKPT_FMT_HF_BIN;
    }
    char w[320];
    const char *kind = ckpt_detect_file(path, w, sizeof(w), NULL);
    say(why, whyn, w);
    static const struct {
        const char *kind;
        int fmt;
    } t[] = {{"torch-zip", CKPT_FMT_ZIP},    {"torch-legacy", CKPT_FMT_LEGACY},
             {"torch-tar", CKPT_FMT_LEGACY}, {"safetensors", CKPT_FMT_SAFETENSORS},
             {"gguf", CKPT_FMT_GGUF},        {"npy", CKPT_FMT_NPY},
             {"npz", CKPT_FMT_NPZ},          {"onnx", CKPT_FMT_ONNX}};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (strcmp(kind, t[i].kind) == 0)
            return t[i].fmt;
    return CKPT_FMT_UNKNOWN;
}

ckpt_doc *ckpt_load_any(const char *path, const ckpt_load_opts *opts, ckpt_error *err)
{
    char why[400];
    int fmt = ckpt_format_detect(path, why, sizeof(why));
    int mode = opts ? opts->mode : CKPT_LOAD_COPY;
    const ckpt_alloc *alloc = opts ? opts->alloc : NULL;
    ckpt_doc *doc = NULL;
    switch (fmt) {
    case CKPT_FMT_ZIP:
    case CKPT_FMT_LEGACY: {
        ckpt_load_opts o;
        if (opts)
            o = *opts;
        else
            memset(&o, 0, sizeof(o));
        if (fmt == CKPT_FMT_LEGACY && o.mode == CKPT_LOAD_MMAP)
            o.mode = CKPT_LOAD_COPY; /* as torch: mmap is for the zip format */
        return ckpt_load(path, &o, err);
    }
    case CKPT_FMT_SAFETENSORS: doc = ckpt_safetensors_load(path, mode, alloc, err); break;
    case CKPT_FMT_GGUF: doc = ckpt_gguf_load(path, mode, false, alloc, err); break;
    case CKPT_FMT_NPY:
    case CKPT_FMT_NPZ: doc = ckpt_numpy_load(path, alloc, err); break;
    case CKPT_FMT_HF:
    case CKPT_FMT_HF_BIN: doc = ckpt_hf_load(path, opts, err); break;
    case CKPT_FMT_DCP: doc = ckpt_dcp_load(path, alloc, err); break;
    case CKPT_FMT_ONNX:
        CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                  "an ONNX model: read its initializers with ckpt_onnx_load (ckpt/onnx.h)");
        ckpt__error_set_file(err, path);
        return NULL;
    default:
        CKPT_FAIL(err, path && why[0] ? CKPT_E_FORMAT : CKPT_E_ARG,
                  "not a checkpoint ckpt reads: %s", why);
        if (path)
            ckpt__error_set_file(err, path);
        return NULL;
    }
    if (doc == NULL && path)
        ckpt__error_set_file(err, path);
    return doc;
}

int ckpt_save_any(const char *path, const ckpt_obj *root, const ckpt_save_any_opts *opts,
                  ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (!path || !root)
        return CKPT_FAIL(err, CKPT_E_ARG, "ckpt_save_any: NULL path or root");
    int fmt = opts && opts->format ? opts->format : ckpt_format_from_extension(path);
    const ckpt_obj *meta = opts ? opts->metadata : NULL;
    bool no_fsync = opts && opts->no_fsync;
    int rc;
    switch (fmt) {
    case CKPT_FMT_ZIP:
    case CKPT_FMT_LEGACY: {
        ckpt_save_opts so;
        if (opts && opts->torch)
            so = *opts->torch;
        else
            memset(&so, 0, sizeof(so));
        if (fmt == CKPT_FMT_LEGACY)
            so.layout = CKPT_LAYOUT_LEGACY;
        else if (so.layout == CKPT_LAYOUT_LEGACY)
            so.layout = CKPT_LAYOUT_DEFAULT;
        so.no_fsync = so.no_fsync || no_fsync;
        rc = ckpt_save(path, root, &so, err);
        break;
    }
    case CKPT_FMT_SAFETENSORS: {
        ckpt_st_save_opts so = {meta, opts && opts->duplicate_shared, no_fsync};
        rc = ckpt_safetensors_save(path, root, &so, err);
        break;
    }
    case CKPT_FMT_GGUF: {
        ckpt_gguf_save_opts go;
        memset(&go, 0, sizeof(go));
        go.metadata = meta;
        go.no_fsync = no_fsync;
        rc = ckpt_gguf_save(path, root, &go, err);
        break;
    }
    case CKPT_FMT_NPY: rc = ckpt_npy_save(path, root, err); break;
    case CKPT_FMT_NPZ: rc = ckpt_npz_save(path, root, err); break;
    case CKPT_FMT_HF:
    case CKPT_FMT_HF_BIN: {
        ckpt_hf_save_opts ho;
        memset(&ho, 0, sizeof(ho));
        ho.max_shard_size = opts ? opts->max_shard_size : 0;
        ho.bin = fmt == CKPT_FMT_HF_BIN;
        ho.metadata = meta;
        ho.duplicate_shared = opts && opts->duplicate_shared;
        ho.no_fsync = no_fsync;
        rc = ckpt_hf_save(path, root, &ho, err);
        break;
    }
    case CKPT_FMT_DCP: rc = ckpt_dcp_save(path, root, err); break;
    case CKPT_FMT_ONNX:
        rc = CKPT_FAIL(
            err, CKPT_E_UNSUPPORTED,
            "a state dict is not written as ONNX: use ckpt convert --to onnx with a model");
        break;
    default:
        rc = CKPT_FAIL(err, CKPT_E_ARG,
                       "no output format: name one (zip, legacy, safetensors, gguf, npy, npz, hf, "
                       "hf-bin, dcp) or use a known extension");
        break;
    }
    if (rc < 0)
        ckpt__error_set_file(err, path);
    return rc;
}
