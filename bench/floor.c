/*
 * floor: the physical floor of WebRTC fan-out on this machine. The same
 * work a fan-out server cannot avoid per packet and viewer: copy an RTP
 * packet, rewrite its header, srtp_protect it with the viewer's own
 * context, and hand it to the kernel with sendmmsg (batches of 64) towards
 * the viewer's UDP socket on loopback. A child process (pinned elsewhere
 * with -c) drains the sinks with recvmmsg, as the load client would.
 *
 *   floor [-v viewers] [-n packets] [-s size] [-c sink_cpu] [-C send_cpu]
 *         [-P gcm|cm|both]
 *
 * Prints one JSON line per profile:
 *   {"profile":"GCM","packets":N,"cpu_s":..,"us_per_pkt":..,
 *    "protect_us":..,"send_us":..}
 * us_per_pkt is the sender's user+sys CPU per packet; protect_us the part
 * spent in copy + srtp_protect alone (measured in a separate pass).
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
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


#define BATCH  64


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
run(int profile, int viewers, long total, int size, struct sockaddr_in *dst,
    int sock)
{
    srtp_t              *ctx;
    srtp_policy_t        pol;
    uint8_t              key[30], tmpl[1500];
    static uint8_t       out[BATCH][1600];
    struct mmsghdr       m[BATCH];
    struct iovec         iov[BATCH];
    long                 sent = 0, i;
    int                  v, b, len;
    uint16_t             seq = 1;
    double               c0, c1, p0, p1;
    const char          *name;

    ctx = calloc(viewers, sizeof(srtp_t));
    for (v = 0; v < viewers; v++) {
        memset(&pol, 0, sizeof(pol));
        if (profile) {
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
        } else {
            srtp_crypto_policy_set_rtp_default(&pol.rtp);
            srtp_crypto_policy_set_rtcp_default(&pol.rtcp);
        }
        for (i = 0; i < 30; i++) {
            key[i] = rand();
        }
        pol.ssrc.type = ssrc_any_outbound;
        pol.key = key;
        pol.window_size = 1024;
        pol.allow_repeat_tx = 1;
        if (srtp_create(&ctx[v], &pol) != srtp_err_status_ok) {
            fprintf(stderr, "srtp_create failed\n");
            exit(1);
        }
    }
    name = profile ? "SRTP_AEAD_AES_128_GCM" : "SRTP_AES128_CM_SHA1_80";

    memset(tmpl, 0xab, sizeof(tmpl));
    tmpl[0] = 0x80;
    tmpl[1] = 96;

    memset(m, 0, sizeof(m));
    for (b = 0; b < BATCH; b++) {
        iov[b].iov_base = out[b];
        m[b].msg_hdr.msg_iov = &iov[b];
        m[b].msg_hdr.msg_iovlen = 1;
        m[b].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
    }

    /* pass 1: copy + header rewrite + protect only */
    p0 = cpu_now();
    for (i = 0; i < total / 4; i++) {
        v = i % viewers;
        memcpy(out[0], tmpl, size);
        *(uint16_t *) (out[0] + 2) = htons((uint16_t) (i / viewers));
        *(uint32_t *) (out[0] + 8) = htonl(0x1000 + v);
        len = size;
        srtp_protect(ctx[v], out[0], &len);
    }
    p1 = cpu_now();

    /* pass 2: the same plus sendmmsg to each viewer's socket */
    c0 = cpu_now();
    while (sent < total) {
        for (b = 0; b < BATCH && sent + b < total; b++) {
            v = (sent + b) % viewers;
            memcpy(out[b], tmpl, size);
            *(uint16_t *) (out[b] + 2) = htons(seq);
            *(uint32_t *) (out[b] + 8) = htonl(0x2000 + v);
            len = size;
            srtp_protect(ctx[v], out[b], &len);
            iov[b].iov_len = len;
            m[b].msg_hdr.msg_name = &dst[v];
            if (v == viewers - 1) {
                seq++;
            }
        }
        if (sendmmsg(sock, m, b, 0) < 0 && errno != EAGAIN) {
            perror("sendmmsg");
            exit(1);
        }
        sent += b;
    }
    c1 = cpu_now();

    printf("{\"profile\":\"%s\",\"viewers\":%d,\"size\":%d,\"packets\":%ld,"
           "\"cpu_s\":%.3f,\"us_per_pkt\":%.3f,\"protect_us\":%.3f,"
           "\"send_us\":%.3f}\n", name, viewers, size, total, c1 - c0,
           (c1 - c0) * 1e6 / total, (p1 - p0) * 1e6 / (total / 4),
           (c1 - c0) * 1e6 / total - (p1 - p0) * 1e6 / (total / 4));
    fflush(stdout);

    for (v = 0; v < viewers; v++) {
        srtp_dealloc(ctx[v]);
    }
    free(ctx);
}


int
main(int argc, char **argv)
{
    int                  o, viewers = 100, size = 1200, sink_cpu = -1;
    int                  send_cpu = -1, i, sock, *fds, sz = 8 << 20;
    long                 total = 2000000;
    const char          *prof = "both";
    struct sockaddr_in  *dst, a;
    socklen_t            al;
    pid_t                kid;

    while ((o = getopt(argc, argv, "v:n:s:c:C:P:")) != -1) {
        switch (o) {
        case 'v': viewers = atoi(optarg); break;
        case 'n': total = atol(optarg); break;
        case 's': size = atoi(optarg); break;
        case 'c': sink_cpu = atoi(optarg); break;
        case 'C': send_cpu = atoi(optarg); break;
        case 'P': prof = optarg; break;
        default:
            fprintf(stderr, "usage: floor [-v viewers] [-n packets] [-s size]"
                    " [-c sink_cpu] [-C send_cpu] [-P gcm|cm|both]\n");
            return 64;
        }
    }
    if (size < 12 || size > 1400 || viewers < 1) {
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
    if (strcmp(prof, "cm") != 0) {
        run(1, viewers, total, size, dst, sock);
    }
    if (strcmp(prof, "gcm") != 0) {
        run(0, viewers, total, size, dst, sock);
    }

    kill(kid, SIGKILL);
    waitpid(kid, NULL, 0);
    return 0;
}
