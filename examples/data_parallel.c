/* examples/data_parallel.c - load a state dict saved from nn.DataParallel (or
 * DDP), whose keys all start with "module.", into a plain C model.
 *
 *     data_parallel IN.pt      IN.pt from torch.save(nn.DataParallel(net).state_dict())
 *     data_parallel --demo OUT.pt   write such a file from C first, then load it
 *
 * The model is Sequential(Linear(4, 3), BatchNorm1d(3), ReLU(), Linear(3, 2)).
 * A strip-prefix key rule removes "module." from every key (and from the
 * _metadata prefixes) before the strict load, as torch's
 * consume_prefix_in_state_dict_if_present does.
 */
#include <stdio.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "ckpt/nn.h"

static ckpt_module *build(ckpt_error *err)
{
    ckpt_module *m = ckpt_module_new("Sequential", err);
    if (!m)
        return NULL;
    ckpt_module *l0 = ckpt_module_add(m, "0", "Linear", err);
    ckpt_module *bn = l0 ? ckpt_module_add(m, "1", "BatchNorm1d", err) : NULL;
    ckpt_module *act = bn ? ckpt_module_add(m, "2", "ReLU", err) : NULL;
    ckpt_module *l3 = act ? ckpt_module_add(m, "3", "Linear", err) : NULL;
    int64_t w0[2] = {3, 4}, c3[1] = {3}, w3[2] = {2, 3}, c2[1] = {2};
    if (!l3 || !ckpt_module_param(l0, "weight", CKPT_F32, 2, w0, err) ||
        !ckpt_module_param(l0, "bias", CKPT_F32, 1, c3, err) ||
        !ckpt_module_param(bn, "weight", CKPT_F32, 1, c3, err) ||
        !ckpt_module_param(bn, "bias", CKPT_F32, 1, c3, err) ||
        !ckpt_module_buffer(bn, "running_mean", CKPT_F32, 1, c3, true, err) ||
        !ckpt_module_buffer(bn, "running_var", CKPT_F32, 1, c3, true, err) ||
        !ckpt_module_buffer(bn, "num_batches_tracked", CKPT_I64, 0, NULL, true, err) ||
        !ckpt_module_param(l3, "weight", CKPT_F32, 2, w3, err) ||
        !ckpt_module_param(l3, "bias", CKPT_F32, 1, c2, err)) {
        ckpt_module_free(m);
        return NULL;
    }
    ckpt_module_set_version(bn, 2);
    return m;
}

/* what torch writes for nn.DataParallel(net): the same tree under "module." */
static int write_demo(const char *path, ckpt_error *err)
{
    ckpt_module *wrapper = ckpt_module_new("DataParallel", err);
    ckpt_module *net = build(err);
    ckpt_doc *doc = ckpt_doc_new(NULL, err);
    int rc = -1;
    if (!wrapper || !net || !doc || ckpt_module_adopt(wrapper, "module", net, err) < 0) {
        ckpt_module_free(net);
        goto done;
    }
    float *w = ckpt_module_slot(wrapper, "module.3.weight")->data;
    for (int i = 0; i < 6; i++)
        w[i] = (float)i - 2.5f;
    ckpt_obj *sd = ckpt_module_state_dict(wrapper, doc, NULL, err);
    rc = sd ? ckpt_save(path, sd, NULL, err) : -1;
done:
    ckpt_doc_free(doc);
    ckpt_module_free(wrapper);
    return rc;
}

int main(int argc, char **argv)
{
    ckpt_error err = {0};
    char buf[512];
    bool demo = argc == 3 && strcmp(argv[1], "--demo") == 0;
    if (argc != 2 && !demo) {
        fprintf(stderr, "usage: data_parallel IN.pt | data_parallel --demo OUT.pt\n");
        return 2;
    }
    const char *path = argv[argc - 1];
    if (demo && write_demo(path, &err) < 0) {
        fprintf(stderr, "data_parallel: %s\n", ckpt_error_format(&err, buf, sizeof(buf)));
        return 1;
    }
    ckpt_doc *doc = ckpt_load(path, NULL, &err);
    ckpt_module *net = build(&err);
    int rc = 1;
    if (doc && net) {
        const ckpt_key_rule strip = {CKPT_KEY_STRIP_PREFIX, "module.", NULL};
        ckpt_load_state_dict_opts o = {.rules = &strip, .rule_count = 1};
        ckpt_state_dict_report rep;
        if (ckpt_module_load_state_dict(net, ckpt_doc_root(doc), &o, &rep, &err) == 0) {
            const float *w = ckpt_module_slot(net, "3.weight")->data;
            printf("loaded %zu keys from a DataParallel checkpoint; 3.weight[0] = %g\n",
                   ckpt_obj_len(ckpt_doc_root(doc)), (double)w[0]);
            rc = 0;
        } else {
            fprintf(stderr, "data_parallel: %s\n", rep.message ? rep.message : err.msg);
        }
        ckpt_state_dict_report_free(&rep);
    } else {
        fprintf(stderr, "data_parallel: %s\n", ckpt_error_format(&err, buf, sizeof(buf)));
    }
    ckpt_module_free(net);
    ckpt_doc_free(doc);
    return rc;
}
