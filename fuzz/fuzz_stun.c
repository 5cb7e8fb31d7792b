
/*
 * Copyright (C) nginx WebRTC module authors
 */


/*
 * libFuzzer target: a datagram through the ICE-lite check path exactly as
 * a worker runs it (libnice's STUN agent, our USERNAME split and lookup,
 * the reply).  Seeds: fuzz/corpus/fuzz_stun/.
 */


#include <stdlib.h>
#include <netinet/in.h>

#include "ngx_webrtc_stun.h"


static int  session;


static void *
lookup(void *data, u_char *local, size_t local_len, u_char *remote,
    size_t remote_len, u_char **pwd, size_t *pwd_len)
{
    if (local_len != 4 || memcmp(local, "evtj", 4) != 0) {
        return NULL;
    }

    *pwd = (u_char *) "VOkJxbRl1RmTxUk/WvJxBt";
    *pwd_len = 22;

    return &session;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                    *buf;
    size_t                     out_len;
    u_char                     out[512];
    struct sockaddr_in         src;
    ngx_webrtc_stun_result_t   res;
    static int                 initialized;

    if (!initialized) {
        ngx_webrtc_stun_init(42);
        initialized = 1;
    }

    buf = malloc(size ? size : 1);
    if (buf == NULL) {
        return 0;
    }

    memcpy(buf, data, size);

    memset(&src, 0, sizeof(src));
    src.sin_family = AF_INET;
    src.sin_port = htons(5000);
    src.sin_addr.s_addr = htonl(0x7f000001);

    out_len = sizeof(out);

    if (ngx_webrtc_stun_process(buf, size, (struct sockaddr *) &src,
                                sizeof(src), lookup, NULL, out, &out_len,
                                &res)
        == NGX_WEBRTC_PARSE_OK)
    {
        if (res.session != &session || out_len < 20 || out_len > sizeof(out))
        {
            abort();
        }
    }

    free(buf);

    return 0;
}
