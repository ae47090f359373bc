/*
 * ckpt/ckpt.h - the umbrella header of libckpt.
 *
 * libckpt reads and writes PyTorch checkpoint files (torch.save /
 * torch.load) from C, byte-compatibly with PyTorch, and never executes
 * anything a file contains.  Start with ckpt/torch.h (ckpt_load,
 * ckpt_save) and ckpt/core.h (the object model).
 */
#ifndef CKPT_CKPT_H
#define CKPT_CKPT_H

#include "ckpt/alloc.h"
#include "ckpt/autograd.h"
#include "ckpt/core.h"
#include "ckpt/error.h"
#include "ckpt/export.h"
#include "ckpt/formats.h"
#include "ckpt/jit.h"
#include "ckpt/onnx.h"
#include "ckpt/kernels.h"
#include "ckpt/nn.h"
#include "ckpt/optim.h"
#include "ckpt/pickle.h"
#include "ckpt/scan.h"
#include "ckpt/sched.h"
#include "ckpt/source.h"
#include "ckpt/torch.h"
#include "ckpt/train.h"
#include "ckpt/zip.h"

#endif
