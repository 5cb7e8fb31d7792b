/*
 * floor: the physical floor of WebRTC fan-out on this machine. The same
 * work a fan-out server cannot avoid per packet and viewer: copy an RTP
 * packet, rewrite its header, protect it with the viewer's own SRTP
 * context, and hand it to the kernel with sendmmsg (batches of 64) towards
 * the viewer's UDP socket on loopback. A child process (pinned elsewhere
 * with -c) drains the sinks with recvmmsg, as the load client would.
 *
 * Three ways to protect: AES-GCM through the module's own OpenSSL code
 * (src/ngx_webrtc_gcm.c, what the server does for GCM viewers), and
 * libsrtp2's srtp_protect with AES-GCM and with AES-CM + HMAC-SHA1-80.
 * The OpenSSL one also runs with -G packets of a viewer per UDP GSO
 * message (default 8, about one 2.5 Mbit/s frame), as the server sends.
 *
 *   floor [-v viewers] [-n packets] [-s size] [-c sink_cpu] [-C send_cpu]
 *         [-P gcm|libsrtp-gcm|cm|all] [-G segments]
 *
 * Prints one JSON line per run:
 *   {"profile":"...","impl":"openssl|libsrtp2","gso":K,"packets":N,
 *    "cpu_s":..,"us_per_pkt":..,"protect_us":..,"send_us":..}
 * us_per_pkt is the sender's user+sys CPU per packet; protect_us the part
 * spent in copy + protect alone (measured in a separate pass).
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <srtp2/srtp.h>

#include "ngx_webrtc_gcm.h"


#define BATCH    64
#define GSO_MAX  16

#ifndef UDP_SEGMENT
#define UDP_SEGMENT  103
#endif

#define FLOOR_OPENSSL_GCM  0
#define FLOOR_LIBSRTP_GCM  1
#define FLOOR_LIBSRTP_CM   2


static const char  *floor_names[][2] = {
    { "SRTP_AEAD_AES_128_GCM", "openssl" },
    { "SRTP_AEAD_AES_128_GCM", "libsrtp2" },
    { "SRTP_AES128_CM_SHA1_80", "libsrtp2" },
};


typedef struct {
    srtp_t            srtp;
    ngx_webrtc_gcm_t  gcm;
} floor_ctx_t;


/*
 * the header is in place at out, its sequence number the low 16 bits of
 * the SRTP index; the payload comes from tmpl + 12
 */
static int
protect(int profile, floor_ctx_t *c, uint8_t *out, uint8_t *tmpl, int size,
    uint64_t index)
{
    int  len;

    if (profile == FLOOR_OPENSSL_GCM) {
        return (int) ngx_webrtc_gcm_protect(&c->gcm, out, 12, tmpl + 12,
                                            size - 12,
                                            (uint32_t) (index >> 16));
    }

    memcpy(out + 12, tmpl + 12, size - 12);
    len = size;
    srtp_protect(c->srtp, out, &len);

    return len;
}


static double
cpu_now(void)
{
    struct rusage  ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
           + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}


static void
pin(int cpu)
{
    cpu_set_t  set;

    if (cpu < 0) {
        return;
    }
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof(set), &set);
}


static void
sink(int *fds, int n)
{
    static uint8_t      buf[BATCH][2048];
    struct mmsghdr      m[BATCH];
    struct iovec        iov[BATCH];
    struct epoll_event  ev, evs[64];
    int                 ep, i, k;

    ep = epoll_create1(0);
    for (i = 0; i < n; i++) {
        ev.events = EPOLLIN;
        ev.data.fd = fds[i];
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
    memset(m, 0, sizeof(m));
    for (i = 0; i < BATCH; i++) {
        iov[i].iov_base = buf[i];
        iov[i].iov_len = sizeof(buf[i]);
        m[i].msg_hdr.msg_iov = &iov[i];
        m[i].msg_hdr.msg_iovlen = 1;
    }
    for ( ;; ) {
        k = epoll_wait(ep, evs, 64, 1000);
        for (i = 0; i < k; i++) {
            while (recvmmsg(evs[i].data.fd, m, BATCH, MSG_DONTWAIT, NULL)
                   == BATCH)
            { }
        }
    }
}


static void
run(int profile, int gso, int viewers, long total, int size,
    struct sockaddr_in *dst, int sock)
{
    floor_ctx_t         *ctx;
    srtp_policy_t        pol;
    uint8_t              key[30], tmpl[1500];
    static uint8_t       out[BATCH][1600];
    static uint8_t       flat[BATCH * GSO_MAX * 1600];
    static uint8_t       cmsgs[BATCH][CMSG_SPACE(sizeof(uint16_t))];
    uint8_t             *p, *q;
    uint16_t             seg;
    uint64_t            *seqs;
    struct cmsghdr      *cm;
    int                  k;
    struct mmsghdr       m[BATCH];
    struct iovec         iov[BATCH];
    long                 sent = 0, i;
    int                  v, b, len;
    double               c0, c1, p0, p1;

    ctx = calloc(viewers, sizeof(floor_ctx_t));
    seqs = calloc(viewers, sizeof(uint64_t));
    for (v = 0; v < viewers; v++) {
        for (i = 0; i < 30; i++) {
            key[i] = rand();
        }
        if (profile == FLOOR_OPENSSL_GCM) {
            if (ngx_webrtc_gcm_init(&ctx[v].gcm, key, key + 16, 0, 0) != 0) {
                fprintf(stderr, "ngx_webrtc_gcm_init failed\n");
                exit(1);
            }
            continue;
        }
        memset(&pol, 0, sizeof(pol));
        if (profile == FLOOR_LIBSRTP_GCM) {
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
        } else {
            srtp_crypto_policy_set_rtp_default(&pol.rtp);
            srtp_crypto_policy_set_rtcp_default(&pol.rtcp);
        }
        pol.ssrc.type = ssrc_any_outbound;
        pol.key = key;
        pol.window_size = 1024;
        pol.allow_repeat_tx = 1;
        if (srtp_create(&ctx[v].srtp, &pol) != srtp_err_status_ok) {
            fprintf(stderr, "srtp_create failed\n");
            exit(1);
        }
    }

    memset(tmpl, 0xab, sizeof(tmpl));
    tmpl[0] = 0x80;
    tmpl[1] = 96;

    memset(m, 0, sizeof(m));
    for (b = 0; b < BATCH; b++) {
        m[b].msg_hdr.msg_iov = &iov[b];
        m[b].msg_hdr.msg_iovlen = 1;
        m[b].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
    }

    /* pass 1: copy + header rewrite + protect only */
    p0 = cpu_now();
    for (i = 0; i < total / 4; i++) {
        v = i % viewers;
        memcpy(out[0], tmpl, 12);
        *(uint16_t *) (out[0] + 2) = htons((uint16_t) (i / viewers));
        *(uint32_t *) (out[0] + 8) = htonl(0x1000 + v);
        protect(profile, &ctx[v], out[0], tmpl, size, i / viewers);
    }
    p1 = cpu_now();

    /*
     * pass 2: the same plus sendmmsg to each viewer's socket; with gso > 1
     * each message carries gso consecutive packets of one viewer as one
     * UDP GSO send (UDP_SEGMENT), as the server does with a frame's
     * fragments
     */
    c0 = cpu_now();
    v = 0;
    while (sent < total) {
        for (b = 0; b < BATCH && sent < total; b++) {
            p = flat + (size_t) b * gso * 1600;
            q = p;
            for (k = 0; k < gso; k++) {
                memcpy(q, tmpl, 12);
                *(uint16_t *) (q + 2) = htons((uint16_t) seqs[v]);
                *(uint32_t *) (q + 8) = htonl(0x2000 + v);
                len = protect(profile, &ctx[v], q, tmpl, size, seqs[v]++);
                q += len;
            }
            iov[b].iov_base = p;
            iov[b].iov_len = q - p;
            m[b].msg_hdr.msg_name = &dst[v];
            if (gso > 1) {
                m[b].msg_hdr.msg_control = cmsgs[b];
                m[b].msg_hdr.msg_controllen = CMSG_SPACE(sizeof(uint16_t));
                cm = CMSG_FIRSTHDR(&m[b].msg_hdr);
                cm->cmsg_level = SOL_UDP;
                cm->cmsg_type = UDP_SEGMENT;
                cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
                seg = (uint16_t) len;
                memcpy(CMSG_DATA(cm), &seg, sizeof(uint16_t));
            }
            sent += gso;
            v = (v + 1) % viewers;
        }
        if (sendmmsg(sock, m, b, 0) < 0 && errno != EAGAIN) {
            perror("sendmmsg");
            exit(1);
        }
    }
    c1 = cpu_now();

    printf("{\"profile\":\"%s\",\"impl\":\"%s\",\"gso\":%d,"
           "\"viewers\":%d,\"size\":%d,\"packets\":%ld,"
           "\"cpu_s\":%.3f,\"us_per_pkt\":%.3f,\"protect_us\":%.3f,"
           "\"send_us\":%.3f}\n", floor_names[profile][0],
           floor_names[profile][1], gso, viewers, size, sent, c1 - c0,
           (c1 - c0) * 1e6 / sent, (p1 - p0) * 1e6 / (total / 4),
           (c1 - c0) * 1e6 / sent - (p1 - p0) * 1e6 / (total / 4));
    fflush(stdout);

    for (v = 0; v < viewers; v++) {
        if (profile == FLOOR_OPENSSL_GCM) {
            ngx_webrtc_gcm_free(&ctx[v].gcm);
        } else {
            srtp_dealloc(ctx[v].srtp);
        }
    }
    free(ctx);
    free(seqs);
}


int
main(int argc, char **argv)
{
    int                  o, viewers = 100, size = 1200, sink_cpu = -1, gso = 8;
    int                  send_cpu = -1, i, sock, *fds, sz = 8 << 20;
    long                 total = 2000000;
    const char          *prof = "all";
    struct sockaddr_in  *dst, a;
    socklen_t            al;
    pid_t                kid;

    while ((o = getopt(argc, argv, "v:n:s:c:C:P:G:")) != -1) {
        switch (o) {
        case 'v': viewers = atoi(optarg); break;
        case 'n': total = atol(optarg); break;
        case 's': size = atoi(optarg); break;
        case 'c': sink_cpu = atoi(optarg); break;
        case 'C': send_cpu = atoi(optarg); break;
        case 'P': prof = optarg; break;
        case 'G': gso = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: floor [-v viewers] [-n packets] [-s size]"
                    " [-c sink_cpu] [-C send_cpu]"
                    " [-P gcm|libsrtp-gcm|cm|all] [-G segments]\n");
            return 64;
        }
    }
    if (size < 12 || size > 1400 || viewers < 1 || gso < 2 || gso > GSO_MAX) {
        return 64;
    }

    srtp_init();
    fds = calloc(viewers, sizeof(int));
    dst = calloc(viewers, sizeof(struct sockaddr_in));
    for (i = 0; i < viewers; i++) {
        fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        if (setsockopt(fds[i], SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz))) {
            setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
        }
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bind(fds[i], (struct sockaddr *) &a, sizeof(a));
        al = sizeof(dst[i]);
        getsockname(fds[i], (struct sockaddr *) &dst[i], &al);
    }

    kid = fork();
    if (kid == 0) {
        pin(sink_cpu);
        sink(fds, viewers);
        _exit(0);
    }
    pin(send_cpu);

    sock = socket(AF_INET, SOCK_DGRAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(sock, (struct sockaddr *) &a, sizeof(a));

    usleep(100000);
    if (strcmp(prof, "all") == 0 || strcmp(prof, "gcm") == 0) {
        run(FLOOR_OPENSSL_GCM, gso, viewers, total, size, dst, sock);
        run(FLOOR_OPENSSL_GCM, 1, viewers, total, size, dst, sock);
    }
    if (strcmp(prof, "all") == 0 || strcmp(prof, "libsrtp-gcm") == 0) {
        run(FLOOR_LIBSRTP_GCM, 1, viewers, total, size, dst, sock);
    }
    if (strcmp(prof, "all") == 0 || strcmp(prof, "cm") == 0) {
        run(FLOOR_LIBSRTP_CM, 1, viewers, total, size, dst, sock);
    }

    kill(kid, SIGKILL);
    waitpid(kid, NULL, 0);
    return 0;
}
