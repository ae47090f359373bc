/* tools/ckpt/cli_folder.h - checkpoints that are folders: Hugging Face shards
 * (an *.index.json and its shard files) and torch.distributed.checkpoint. */
#ifndef CKPT_CLI_FOLDER_H
#define CKPT_CLI_FOLDER_H

#include <stdbool.h>

#include "ckpt/scan.h"
#include "cli.h"

/* A folder, or the *.index.json of a sharded checkpoint. */
bool cli_is_folder(const char *path);
/* The regular files of the folder at `path` (or of the index's folder), each
 * "folder/name", sorted by name; free with cli_folder_files_free. */
int cli_folder_files(const char *path, char ***files, size_t *n);
void cli_folder_files_free(char **files, size_t n);
/* The scanner's options for one member file of a folder: a DCP ".metadata"
 * pickle may name the checkpoint's own dataclasses besides the allowlist. */
void cli_folder_scan_opts(const char *file, const ckpt_scan_opts *base, ckpt_scan_opts *out,
                          const char **buf, size_t cap);
/* `ckpt verify` of a folder: load it, read every tensor's bytes (every shard
 * and item checked), scan every member file; exit status as verify's. */
int cli_verify_folder(const char *path, const cli_load *lo, bool json);

#endif
