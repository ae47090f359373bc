/* tools/ckpt/cli.h - shared pieces of the ckpt command-line tool. */
#ifndef CKPT_CLI_H
#define CKPT_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "ckpt/ckpt.h"

/* exit codes scripts can rely on */
#define EXIT_OK 0
#define EXIT_FINDING 1
#define EXIT_ERROR 2

#define MAX_ALLOW 64

/* Options every loading command accepts. */
typedef struct cli_load {
    const char *allow[MAX_ALLOW];
    size_t nallow;
    bool full; /* --full: data-only full mode (never executes anything) */
    const char *map_location;
    int encoding;    /* --encoding utf-8|latin1|bytes (Python-2 byte strings) */
    bool dequantize; /* --dequantize: GGUF quantized tensors as float32 */
} cli_load;

/* Consume a load option at argv[*i]; returns 1 if consumed, 0 if not, -1 on error. */
int cli_load_opt(cli_load *lo, int argc, char **argv, int *i);
/* Fill load options from lo. */
void cli_load_fill(const cli_load *lo, ckpt_load_opts *o);
/* A NumPy .npy or .npz file (ckpt_detect_file); cli_load_doc reads those with
 * ckpt_numpy_load. */
bool cli_numpy_file(const char *path);
/* Load with lo's options; when weights-only refuses the file and `fallback` is
 * set, load again in data-only mode and say so on stderr. */
ckpt_doc *cli_load_doc(const char *path, const cli_load *lo, int mode, bool fallback,
                       bool keep_locations, ckpt_error *err);
void cli_print_error(const char *cmd, const ckpt_error *err);
/* true if argv[i] is -h or --help */
bool cli_is_help(const char *a);

int cmd_ls(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_cp(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_rename(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_extract(int argc, char **argv);
int cmd_simplify(int argc, char **argv); /* ONNX: cmd_simplify.c */
int cmd_run(int argc, char **argv);
int cmd_report(int argc, char **argv); /* HTML page: cmd_report.c */
/* convert --to onnx|torchscript|full-model: cmd_convert_model.c */
int cmd_convert_model(int argc, char **argv);

#endif
