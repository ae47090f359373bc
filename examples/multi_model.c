/* examples/multi_model.c - one checkpoint holding two models and an optimizer:
 *
 *     {'modelA': modelA.state_dict(), 'modelB': modelB.state_dict(),
 *      'optimizerA': optimizerA.state_dict()}
 *
 * the layout of torch's "saving multiple models in one file" recipe.  The
 * program builds both models in C, writes the checkpoint, reads it back and
 * loads each sub-dict into fresh models with load_state_dict (strict).
 *
 *     multi_model OUT.pt          write, then resume from OUT.pt
 *     multi_model --load IN.pt    resume from a file torch wrote
 */
#include <stdio.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "ckpt/nn.h"

/* modelA: Sequential(Linear(4, 3), BatchNorm1d(3)) */
static ckpt_module *model_a(ckpt_error *err)
{
    ckpt_module *m = ckpt_module_new("Sequential", err);
    ckpt_module *fc = m ? ckpt_module_add(m, "0", "Linear", err) : NULL;
    ckpt_module *bn = fc ? ckpt_module_add(m, "1", "BatchNorm1d", err) : NULL;
    int64_t w[2] = {3, 4}, c[1] = {3};
    if (!bn || !ckpt_module_param(fc, "weight", CKPT_F32, 2, w, err) ||
        !ckpt_module_param(fc, "bias", CKPT_F32, 1, c, err) ||
        !ckpt_module_param(bn, "weight", CKPT_F32, 1, c, err) ||
        !ckpt_module_param(bn, "bias", CKPT_F32, 1, c, err) ||
        !ckpt_module_buffer(bn, "running_mean", CKPT_F32, 1, c, true, err) ||
        !ckpt_module_buffer(bn, "running_var", CKPT_F32, 1, c, true, err) ||
        !ckpt_module_buffer(bn, "num_batches_tracked", CKPT_I64, 0, NULL, true, err)) {
        ckpt_module_free(m);
        return NULL;
    }
    ckpt_module_set_version(bn, 2);
    return m;
}

/* modelB: Linear(3, 2) */
static ckpt_module *model_b(ckpt_error *err)
{
    ckpt_module *m = ckpt_module_new("Linear", err);
    int64_t w[2] = {2, 3}, c[1] = {2};
    if (!m || !ckpt_module_param(m, "weight", CKPT_F32, 2, w, err) ||
        !ckpt_module_param(m, "bias", CKPT_F32, 1, c, err)) {
        ckpt_module_free(m);
        return NULL;
    }
    return m;
}

static int set_values(void *payload, const char *key, ckpt_module *owner, ckpt_slot *s)
{
    (void)key;
    (void)owner;
    float *next = payload;
    if (s->dtype == CKPT_F32)
        for (uint64_t i = 0; i < s->nbytes / 4; i++)
            ((float *)s->data)[i] = (*next += 0.25f);
    return 0;
}

/* {'state': {}, 'param_groups': [{'lr': 0.01, 'momentum': 0.9, 'params': [0..n-1]}]} */
static ckpt_obj *sgd_state(ckpt_doc *doc, int nparams)
{
    ckpt_obj *opt = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    ckpt_obj *groups = ckpt_list_new(doc);
    ckpt_obj *g = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    ckpt_obj *params = ckpt_list_new(doc);
    if (!opt || !groups || !g || !params)
        return NULL;
    for (int i = 0; i < nparams; i++)
        ckpt_list_append(doc, params, ckpt_int_new(doc, i), NULL);
    ckpt_dict_set_str(doc, g, "lr", ckpt_float_new(doc, 0.01), NULL);
    ckpt_dict_set_str(doc, g, "momentum", ckpt_float_new(doc, 0.9), NULL);
    ckpt_dict_set_str(doc, g, "params", params, NULL);
    ckpt_list_append(doc, groups, g, NULL);
    ckpt_dict_set_str(doc, opt, "state", ckpt_dict_new(doc, CKPT_DICT_PLAIN), NULL);
    ckpt_dict_set_str(doc, opt, "param_groups", groups, NULL);
    return opt;
}

static int save_checkpoint(const char *path, ckpt_error *err)
{
    ckpt_module *a = model_a(err), *b = model_b(err);
    ckpt_doc *doc = ckpt_doc_new(NULL, err);
    int rc = -1;
    if (!a || !b || !doc)
        goto done;
    float next = 0.0f;
    ckpt_module_walk(a, CKPT_WALK_PARAMS | CKPT_WALK_BUFFERS, set_values, &next, err);
    ckpt_module_walk(b, CKPT_WALK_PARAMS, set_values, &next, err);
    /* state_dict() references the modules' memory: keep them alive until saved */
    ckpt_obj *root = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    ckpt_obj *sa = ckpt_module_state_dict(a, doc, NULL, err);
    ckpt_obj *sb = ckpt_module_state_dict(b, doc, NULL, err);
    ckpt_obj *opt = sgd_state(doc, 4);
    if (!root || !sa || !sb || !opt || ckpt_dict_set_str(doc, root, "modelA", sa, err) < 0 ||
        ckpt_dict_set_str(doc, root, "modelB", sb, err) < 0 ||
        ckpt_dict_set_str(doc, root, "optimizerA", opt, err) < 0)
        goto done;
    rc = ckpt_save(path, root, NULL, err);
done:
    ckpt_doc_free(doc);
    ckpt_module_free(a);
    ckpt_module_free(b);
    return rc;
}

static int resume(const char *path, ckpt_error *err)
{
    ckpt_doc *doc = ckpt_load(path, NULL, err);
    ckpt_module *a = model_a(err), *b = model_b(err);
    int rc = -1;
    if (!doc || !a || !b)
        goto done;
    const ckpt_obj *root = ckpt_doc_root(doc);
    const ckpt_obj *sa = ckpt_dict_get(root, "modelA");
    const ckpt_obj *sb = ckpt_dict_get(root, "modelB");
    const ckpt_obj *lr = ckpt_obj_get(root, "optimizerA", "param_groups", "0", "lr", NULL);
    if (!sa || !sb || !lr) {
        fprintf(stderr, "multi_model: modelA, modelB or optimizerA missing\n");
        goto done;
    }
    ckpt_state_dict_report rep;
    rc = ckpt_module_load_state_dict(a, sa, NULL, &rep, err);
    if (rc == 0)
        rc = ckpt_module_load_state_dict(b, sb, NULL, NULL, err);
    ckpt_state_dict_report_free(&rep);
    if (rc < 0)
        goto done;
    const float *w = ckpt_module_slot(b, "weight")->data;
    printf("modelA: %zu tensors, modelB: %zu tensors, lr %g, modelB.weight[0] %g\n",
           ckpt_obj_len(sa), ckpt_obj_len(sb), ckpt_obj_float(lr), (double)w[0]);
done:
    ckpt_module_free(a);
    ckpt_module_free(b);
    ckpt_doc_free(doc);
    return rc;
}

int main(int argc, char **argv)
{
    ckpt_error err = {0};
    char buf[512];
    bool load_only = argc == 3 && strcmp(argv[1], "--load") == 0;
    if (argc != 2 && !load_only) {
        fprintf(stderr, "usage: multi_model OUT.pt | multi_model --load IN.pt\n");
        return 2;
    }
    const char *path = argv[argc - 1];
    if (!load_only && save_checkpoint(path, &err) < 0) {
        fprintf(stderr, "multi_model: save: %s\n", ckpt_error_format(&err, buf, sizeof(buf)));
        return 1;
    }
    if (resume(path, &err) < 0) {
        fprintf(stderr, "multi_model: resume: %s\n", ckpt_error_format(&err, buf, sizeof(buf)));
        return 1;
    }
    return 0;
}
