/* src/torch/legacy_load.c - torch.load of the pre-zip formats (legacy pickle
 * stream, tar).  Placeholder until the legacy reader lands: names the file's
 * first bytes. */
#include "core/err.h"
#include "torch_internal.h"

int ckpt__legacy_load(tload *L, ckpt_error *err)
{
    uint8_t head[4] = {0};
    if (ckpt_source_read(L->src, 0, head, sizeof(head), err) < 0)
        return err ? err->code : CKPT_E_IO;
    if (head[0] == 0x80 && head[2] == 0x8a && head[3] == 0x0a)
        return CKPT_FAIL_AT(err, CKPT_E_UNSUPPORTED, CKPT_WHERE_FILE, NULL, 0,
                            "legacy (pre-zip) torch.save format is not supported yet");
    return CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, 0,
                        "not a torch zip archive (first bytes %02x %02x %02x %02x)", head[0],
                        head[1], head[2], head[3]);
}
