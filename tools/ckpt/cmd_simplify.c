/* tools/ckpt/cmd_simplify.c - `ckpt simplify IN.onnx OUT.onnx`: onnx-simplifier's
 * core (ckpt_onnx_simplify) and the node counts before and after. */
#include <string.h>

#include "cli.h"

static const char help[] =
    "usage: ckpt simplify IN.onnx OUT.onnx [--no-shape-inference] [--no-fold-batchnorm]\n"
    "                     [--no-fuse-gemm] [--json]\n"
    "\n"
    "Simplify an ONNX model as onnx-simplifier does and write it to OUT (replaced\n"
    "atomically): shapes are inferred by running the model on zero inputs of the\n"
    "declared shapes (twice, with different sizes, when a dim is dynamic), nodes whose\n"
    "inputs are all constant and Shape/Size of static shapes are folded into\n"
    "initializers, Identity and inference Dropout are removed, BatchNormalization is\n"
    "folded into the Conv/ConvTranspose/Gemm before it, MatMul + Add on 2-D inputs\n"
    "becomes Gemm, and dead nodes and unused initializers go.  Prints the node counts.\n"
    "\n"
    "  --no-shape-inference  do not run the model (only Constant nodes fold)\n"
    "  --no-fold-batchnorm   keep BatchNormalization nodes\n"
    "  --no-fuse-gemm        keep MatMul + Add\n"
    "  --json                print the report as JSON\n"
    "\n"
    "Exit status: 0 written, 2 error.\n";

int cmd_simplify(int argc, char **argv)
{
    ckpt_onnx_simplify_opts o;
    memset(&o, 0, sizeof o);
    const char *in = NULL, *out = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(help, stdout);
            return EXIT_OK;
        }
        if (strcmp(argv[i], "--no-shape-inference") == 0)
            o.no_shape_inference = true;
        else if (strcmp(argv[i], "--no-fold-batchnorm") == 0)
            o.no_fold_batchnorm = true;
        else if (strcmp(argv[i], "--no-fuse-gemm") == 0)
            o.no_fuse_gemm = true;
        else if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "ckpt simplify: unknown option %s\n\n%s", argv[i], help);
            return EXIT_ERROR;
        } else if (!in)
            in = argv[i];
        else if (!out)
            out = argv[i];
        else {
            fprintf(stderr, "ckpt simplify: too many arguments\n");
            return EXIT_ERROR;
        }
    }
    if (!in || !out) {
        fputs(help, stderr);
        return EXIT_ERROR;
    }
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_onnx_model *m = ckpt_onnx_load(in, NULL, &err);
    if (!m) {
        cli_print_error("simplify", &err);
        return EXIT_ERROR;
    }
    ckpt_onnx_simplify_report r;
    ckpt_onnx_model *s = ckpt_onnx_simplify(m, &o, &r, &err);
    int rc = s ? ckpt_onnx_save(s, out, &err) : -1;
    ckpt_onnx_model_free(s);
    ckpt_onnx_model_free(m);
    if (rc != 0) {
        cli_print_error("simplify", &err);
        return EXIT_ERROR;
    }
    if (json)
        printf("{\"nodes_before\": %d, \"nodes_after\": %d, \"folded\": %d, "
               "\"identities_removed\": %d, \"batchnorms_folded\": %d, \"gemms_fused\": %d, "
               "\"dead_removed\": %d, \"shape_inference\": %s}\n",
               r.nodes_before, r.nodes_after, r.folded, r.identities_removed, r.batchnorms_folded,
               r.gemms_fused, r.dead_removed, r.ran ? "true" : "false");
    else
        printf("%s: %d nodes -> %d (folded %d, identities %d, batchnorms %d, gemms %d, "
               "dead %d%s)\n",
               out, r.nodes_before, r.nodes_after, r.folded, r.identities_removed,
               r.batchnorms_folded, r.gemms_fused, r.dead_removed,
               r.ran ? "" : "; the model could not run: no shape inference");
    return EXIT_OK;
}
