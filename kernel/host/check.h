/* check.h — the smallest test runner: CHECK stops the current test on failure (longjmp, so
 * helpers may CHECK too), run_tests prints one line per failure and "N passed, N failed". */
#ifndef EXO_CHECK_H
#define EXO_CHECK_H

#include <setjmp.h>
#include <stdio.h>

struct test {
    const char *name;
    void (*fn)(void);
};

extern jmp_buf check_jmp;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
            longjmp(check_jmp, 1);                                                     \
        }                                                                              \
    } while (0)

/* Runs every test after `before` (a fresh stack); returns the process exit status. */
int run_tests(const char *suite, const struct test *tests, unsigned n, void (*before)(void));

#endif
