/* check.c — see check.h. */
#include "check.h"

jmp_buf check_jmp;

int run_tests(const char *suite, const struct test *tests, unsigned n, void (*before)(void))
{
    unsigned passed = 0, failed = 0, i;

    for (i = 0; i < n; i++) {
        if (setjmp(check_jmp) == 0) {
            before();
            tests[i].fn();
            passed++;
        } else {
            fprintf(stderr, "FAIL %s: %s\n", suite, tests[i].name);
            failed++;
        }
    }
    printf("%s: %u passed, %u failed\n", suite, passed, failed);
    return failed ? 1 : 0;
}
