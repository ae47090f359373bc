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
/* A torch.distributed.checkpoint folder (ckpt_format_detect). */
bool cli_is_dcp(const char *path);
/* Scan a DCP folder as one report: ".metadata" read by the DCP reader's own
 * allowlist (DCP's dataclasses only; when it refuses, the scanner's findings
 * on it), then every item's bytes (torch.save archives, pickled values) with
 * `so`.  Returns 0 with *out set (free with ckpt_scan_report_free), or < 0. */
int cli_scan_dcp(const char *dir, const ckpt_scan_opts *so, ckpt_scan_report **out,
                 ckpt_error *err);
/* `ckpt verify` of a folder: load it, read every tensor's bytes (every shard
 * and item checked), scan every member file; exit status as verify's. */
int cli_verify_folder(const char *path, const cli_load *lo, bool json);

#endif
