/* tools/ckpt/cli_jit.h - ls/show/extract on models the jit layer reads (cli_jit.c). */
#ifndef CKPT_CLI_JIT_H
#define CKPT_CLI_JIT_H

#include <stdbool.h>

#include "ckpt/ckpt.h"
#include "ckpt/jit.h"

/* A TorchScript / lite archive or a torch.export archive, by content. */
bool cli_jit_file(const char *path);
/* A data-only document whose root is a pickled nn.Module (torch.save(model)). */
bool cli_jit_module_doc(const ckpt_doc *doc);
/* Rows of named_parameters(), named_buffers(), then tensor attributes (marked). */
int cli_jit_ls(ckpt_jit_model *m, bool json);
/* The module tree with methods (code: each method's source too). */
int cli_jit_show(ckpt_jit_model *m, bool code);
/* module.state_dict() saved to `out`. */
int cli_jit_state_dict(const char *path, const char *out, const ckpt_save_opts *so);

#endif
