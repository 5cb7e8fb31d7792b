
/*
 * Copyright (C) nginx WebRTC module authors
 */


#ifndef _NGX_WEBRTC_TAP_H_INCLUDED_
#define _NGX_WEBRTC_TAP_H_INCLUDED_


/*
 * TAP output for the C unit tests (t/01-unit.t runs them under prove):
 * ok(cond, printf-style name), then done_testing() as main's result.
 */

#include <stdio.h>


static int  tests;
static int  failed;


#define ok(cond, ...)                                                        \
    do {                                                                     \
        int  ok_ = (cond) != 0;   /* once: conditions have side effects */   \
        tests++;                                                             \
        failed += !ok_;                                                      \
        printf("%sok %d - ", ok_ ? "" : "not ", tests);                      \
        printf(__VA_ARGS__);                                                 \
        printf("\n");                                                        \
        if (!ok_) {                                                          \
            printf("#   failed at %s line %d: %s\n", __FILE__, __LINE__,     \
                   #cond);                                                   \
        }                                                                    \
    } while (0)


static int
done_testing(void)
{
    printf("1..%d\n", tests);

    return failed ? 1 : 0;
}


#endif /* _NGX_WEBRTC_TAP_H_INCLUDED_ */
