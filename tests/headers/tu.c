typedef int ckpt_headertest_unused; /* a TU needs a declaration */
