/* placeholder, filled below */
#include "util/test.h"
TEST(test_jit_write__placeholder) {}
TEST_MAIN()
