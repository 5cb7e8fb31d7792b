/*
 * udp-flood: hostile UDP at a paced rate, for the soak test (make soak,
 * t/46-hostile-udp.t).
 *
 * Sends a mix of garbage and well-formed-but-wrong datagrams to every
 * target port: random bytes of any size and first byte; zero-length and
 * 1-byte datagrams; STUN Binding requests with unknown ufrags (or the
 * server's real ones, -u) and bad MESSAGE-INTEGRITY, with huge attribute
 * lengths, wrong message lengths, bad fingerprints, other classes; DTLS
 * ClientHello-shaped records, truncated records, alerts and application
 * data of any epoch; RTP-shaped packets (first byte 0x80..0xbf) with
 * random SSRCs, CSRC counts, extensions, padding and bad auth tags;
 * RTCP-shaped compounds (SR, RR, NACK, PLI, BYE) with bad SRTCP tags and
 * lying lengths; control-plane-shaped datagrams (0xff) with a wrong key.
 *
 * From many source ports: a pool of sockets, one replaced every few
 * batches.  With -s, a share of the RTP, RTCP, DTLS and STUN datagrams
 * is sent from those addresses (a raw socket, IP_HDRINCL: root), so that
 * they reach the sessions of real peers (their SRTP, SRTCP, DTLS and ICE
 * checks) and not only the lookup of unknown addresses.
 *
 * Batches of up to 64 with sendmmsg(), paced to the target rate, for a
 * bounded time; -j writes a JSON summary (sent, achieved rate, errors).
 *
 *   udp-flood -t 127.0.0.1:8189,8190 -r 100000 -d 60
 *             [-s 127.0.0.1:40000,...] [-u ufrag,...] [-S seed]
 *             [-j out.json] [-q]
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>


#define BATCH       64
#define PKT_MAX     1500
#define SOCKS       64          /* source ports at a time */
#define RENEW       16          /* batches between two new source ports */
#define MAX_TARGETS 64
#define MAX_SPOOF   16
#define MAX_UFRAG   16

enum {
    K_RANDOM = 0, K_TINY, K_STUN, K_DTLS, K_RTP, K_RTCP, K_CONTROL, K_N
};

static const char  *k_name[K_N] = {
    "random", "tiny", "stun", "dtls", "rtp", "rtcp", "control"
};

/* the mix, in 1/32 */
static const int    k_weight[K_N] = { 6, 2, 7, 5, 6, 5, 1 };

static struct sockaddr_in  g_dst[MAX_TARGETS];
static int                 g_ndst;
static struct sockaddr_in  g_spoof[MAX_SPOOF];
static int                 g_nspoof;
static char               *g_ufrag[MAX_UFRAG];
static int                 g_nufrag;
static uint64_t            g_rng = 0x9e3779b97f4a7c15ull;
static volatile sig_atomic_t  g_stop;


static uint64_t
rnd(void)
{
    /* xorshift64*: fast, and good enough for garbage */
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return g_rng * 2685821657736338717ull;
}


static uint32_t
rn(uint32_t n)
{
    return n ? (uint32_t) (rnd() % n) : 0;
}


static void
fill(uint8_t *p, size_t n)
{
    uint64_t  r;
    size_t    i;

    for (i = 0; i + 8 <= n; i += 8) {
        r = rnd();
        memcpy(p + i, &r, 8);
    }
    for (; i < n; i++) {
        p[i] = (uint8_t) rnd();
    }
}


static uint64_t
now_ns(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ull + ts.tv_nsec;
}


static void
put16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = (uint8_t) v;
}


static void
put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, (uint16_t) v);
}


static size_t
stun_attr(uint8_t *p, uint16_t type, const void *v, size_t len)
{
    put16(p, type);
    put16(p + 2, (uint16_t) len);
    memcpy(p + 4, v, len);
    memset(p + 4 + len, 0, (4 - len % 4) % 4);
    return 4 + len + (4 - len % 4) % 4;
}


static uint32_t
crc32(const uint8_t *p, size_t n)
{
    uint32_t  c = 0xffffffff;
    size_t    i;
    int       k;

    for (i = 0; i < n; i++) {
        c ^= p[i];
        for (k = 0; k < 8; k++) {
            c = (c >> 1) ^ (0xedb88320 & -(c & 1));
        }
    }
    return ~c;
}


/* a Binding request, right in its shape and wrong in its credentials */
static size_t
make_stun(uint8_t *p)
{
    char      user[160];
    uint8_t   v[64];
    size_t    n = 20, len;
    uint32_t  crc;
    int       how = rn(8);

    put16(p, how == 0 ? (uint16_t) rn(0x4000) : 0x0001);   /* class */
    put32(p + 4, 0x2112a442);
    fill(p + 8, 12);

    if (g_nufrag && rn(2)) {
        len = snprintf(user, sizeof(user), "%s:%08x",
                       g_ufrag[rn(g_nufrag)], (unsigned) rnd());
    } else {
        len = snprintf(user, sizeof(user), "%08x:%08x",
                       (unsigned) rnd(), (unsigned) rnd());
    }
    if (how == 1) {
        len = rn(sizeof(user));     /* any length, not text */
        fill((uint8_t *) user, len);
    }
    n += stun_attr(p + n, 0x0006, user, len);           /* USERNAME */

    put32(v, (uint32_t) rnd());
    n += stun_attr(p + n, 0x0024, v, 4);                /* PRIORITY */
    fill(v, 8);
    n += stun_attr(p + n, 0x802a, v, 8);                /* CONTROLLING */
    if (rn(2)) {
        n += stun_attr(p + n, 0x0025, v, 0);            /* USE-CANDIDATE */
    }
    if (how == 2) {
        /* an attribute that claims more than the message has */
        put16(p + n, (uint16_t) rnd());
        put16(p + n + 2, 0xfff0 + rn(16));
        fill(p + n + 4, 8);
        n += 12;
    }
    fill(v, 20);
    n += stun_attr(p + n, 0x0008, v, 20);               /* INTEGRITY */

    put16(p + 2, (uint16_t) (n - 20 + 8));
    crc = crc32(p, n) ^ 0x5354554e;
    put32(v, how == 3 ? (uint32_t) rnd() : crc);
    n += stun_attr(p + n, 0x8028, v, 4);                /* FINGERPRINT */

    if (how == 4) {
        put16(p + 2, (uint16_t) rnd());                 /* lying length */
    } else if (how == 5) {
        n = 20 + rn(n - 20);                            /* truncated */
    }
    return n;
}


/* a DTLS record: mostly a ClientHello, whole or cut, with lying lengths */
static size_t
make_dtls(uint8_t *p)
{
    size_t    n, body;
    int       how = rn(8);

    p[0] = how < 5 ? 22 : (how == 5 ? 21 : 20 + rn(44));
    p[1] = 0xfe;
    p[2] = rn(4) ? 0xfd : 0xff;
    put16(p + 3, rn(4) ? 0 : (uint16_t) rn(3));         /* epoch */
    fill(p + 5, 6);                                     /* sequence */

    if (p[0] != 22) {
        body = rn(200);
        fill(p + 13, body);
        put16(p + 11, (uint16_t) (rn(4) ? body : rnd()));
        return 13 + body;
    }

    /* handshake: ClientHello, then client_version, random, session id,
     * cookie, cipher suites, compression, extensions */
    body = 12 + 2 + 32 + 1 + 1 + 2 + 2 * 8 + 2 + 2 + rn(200);
    p[13] = rn(8) ? 1 : (uint8_t) rnd();
    put16(p + 14, 0);
    p[16] = (uint8_t) (body - 12);
    put16(p + 17, (uint16_t) rn(4));                    /* message_seq */
    put16(p + 19, 0);
    p[21] = rn(8) ? 0 : (uint8_t) rnd();                /* frag offset */
    put16(p + 22, 0);
    p[24] = (uint8_t) (body - 12);                      /* frag length */
    p[25] = 0xfe;
    p[26] = 0xfd;
    fill(p + 27, body - 14);
    p[59] = rn(4) ? 0 : (uint8_t) rnd();                /* session id */
    p[60] = rn(4) ? 0 : (uint8_t) rnd();                /* cookie */

    n = 13 + body;
    put16(p + 11, (uint16_t) body);
    if (how == 3) {
        n = 13 + rn(body);                              /* truncated */
    } else if (how == 4) {
        put16(p + 11, (uint16_t) (body + 1 + rn(2000)));
    }
    return n;
}


/* RTP with a random SSRC and an auth tag that authenticates nothing */
static size_t
make_rtp(uint8_t *p)
{
    static const uint8_t  pts[] = { 96, 97, 100, 102, 108, 111, 126, 127 };
    size_t                n = 12, ext;
    int                   cc = rn(4) ? 0 : rn(16);

    p[0] = 0x80 | cc | (rn(4) ? 0 : 0x10) | (rn(8) ? 0 : 0x20);
    p[1] = (rn(2) ? 0x80 : 0) | (rn(4) ? pts[rn(8)] : rn(128));
    put16(p + 2, (uint16_t) rnd());
    put32(p + 4, (uint32_t) rnd());
    put32(p + 8, (uint32_t) rnd());
    fill(p + n, cc * 4);
    n += cc * 4;
    if (p[0] & 0x10) {
        ext = rn(8);
        put16(p + n, rn(2) ? 0xbede : 0x1000);
        put16(p + n + 2, (uint16_t) (rn(4) ? ext : rnd()));
        fill(p + n + 4, ext * 4);
        n += 4 + ext * 4;
    }
    ext = rn(1200);
    fill(p + n, ext + 16);                      /* payload and "tag" */
    n += ext + (rn(2) ? 10 : 16);
    if (p[0] & 0x20) {
        p[n - 1] = (uint8_t) rnd();             /* padding of any length */
    }
    return n;
}


/* an RTCP compound, SRTCP-shaped, with lying lengths now and then */
static size_t
make_rtcp(uint8_t *p)
{
    size_t  n = 0, len;
    int     i, parts = 1 + rn(3);

    for (i = 0; i < parts; i++) {
        len = 4 * (1 + rn(8));
        p[n] = 0x80 | rn(32);
        p[n + 1] = 200 + rn(7);
        put16(p + n + 2, (uint16_t) (rn(8) ? len / 4 - 1 : rnd()));
        fill(p + n + 4, len);
        n += 4 + len;
    }
    put32(p + n, (uint32_t) rnd() | (rn(2) ? 0x80000000 : 0));  /* index */
    fill(p + n + 4, 16);
    return n + 4 + (rn(2) ? 10 : 16);
}


static size_t
make_packet(int kind, uint8_t *p)
{
    size_t  n;

    switch (kind) {
    case K_TINY:
        n = rn(2);
        p[0] = (uint8_t) rnd();
        return n;
    case K_STUN:
        return make_stun(p);
    case K_DTLS:
        return make_dtls(p);
    case K_RTP:
        return make_rtp(p);
    case K_RTCP:
        return make_rtcp(p);
    case K_CONTROL:
        n = 4 + rn(64);
        fill(p, n);
        p[0] = 0xff;
        return n;
    default:
        n = rn(4) ? rn(200) : rn(PKT_MAX);
        fill(p, n);
        return n;
    }
}


static int
pick_kind(void)
{
    int  r = rn(32), k;

    for (k = 0; k < K_N; k++) {
        if (r < k_weight[k]) {
            return k;
        }
        r -= k_weight[k];
    }
    return K_RANDOM;
}


static int
new_socket(void)
{
    int                 fd, sz = 4 << 20;
    struct sockaddr_in  a;

    fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        perror("udp-flood: socket");
        exit(1);
    }
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0) {
        perror("udp-flood: bind");
        exit(1);
    }
    return fd;
}


static int
parse_addr(const char *s, struct sockaddr_in *a)
{
    char  host[64];
    int   port;

    if (sscanf(s, "%63[^:]:%d", host, &port) != 2 || port <= 0
        || port > 65535)
    {
        return -1;
    }
    memset(a, 0, sizeof(*a));
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
}


/* -t addr:port[,port...]  (or addr:port,addr:port) */
static void
parse_targets(char *arg)
{
    char                *tok, *save = NULL;
    struct sockaddr_in   last;

    memset(&last, 0, sizeof(last));
    for (tok = strtok_r(arg, ",", &save); tok && g_ndst < MAX_TARGETS;
         tok = strtok_r(NULL, ",", &save))
    {
        if (strchr(tok, ':')) {
            if (parse_addr(tok, &last) < 0) {
                fprintf(stderr, "udp-flood: bad target \"%s\"\n", tok);
                exit(64);
            }
        } else if (last.sin_family && atoi(tok) > 0) {
            last.sin_port = htons(atoi(tok));
        } else {
            fprintf(stderr, "udp-flood: bad target \"%s\"\n", tok);
            exit(64);
        }
        g_dst[g_ndst++] = last;
    }
}


static void
on_signal(int sig)
{
    g_stop = 1;
}


int
main(int argc, char **argv)
{
    static uint8_t       pkt[BATCH][PKT_MAX + 28];
    struct mmsghdr       msgs[BATCH], raw_msgs[BATCH];
    struct iovec         iov[BATCH], raw_iov[BATCH];
    struct sockaddr_in   raw_dst[BATCH];
    int                  socks[SOCKS], raw = -1, o, i, n, nraw, kind, one = 1;
    int                  quiet = 0, cur = 0;
    double               rate = 100000, seconds = 10;
    uint64_t             t0, t_end, now, due, sent = 0, batches = 0;
    uint64_t             errors = 0, spoofed = 0, bytes = 0, want;
    uint64_t             per_kind[K_N] = { 0 };
    const char          *json = NULL;
    char                *tok, *save = NULL, out[1024];
    size_t               len;
    struct iphdr        *ip;
    struct udphdr       *udp;
    struct sockaddr_in  *src;
    struct timespec      ts;
    FILE                *f;

    while ((o = getopt(argc, argv, "t:r:d:s:u:S:j:q")) != -1) {
        switch (o) {
        case 't': parse_targets(optarg); break;
        case 'r': rate = atof(optarg); break;
        case 'd': seconds = atof(optarg); break;
        case 's':
            for (tok = strtok_r(optarg, ",", &save);
                 tok && g_nspoof < MAX_SPOOF; tok = strtok_r(NULL, ",", &save))
            {
                if (parse_addr(tok, &g_spoof[g_nspoof]) == 0) {
                    g_nspoof++;
                }
            }
            break;
        case 'u':
            for (tok = strtok_r(optarg, ",", &save);
                 tok && g_nufrag < MAX_UFRAG; tok = strtok_r(NULL, ",", &save))
            {
                g_ufrag[g_nufrag++] = tok;
            }
            break;
        case 'S': g_rng ^= strtoull(optarg, NULL, 0) * 0x9e3779b97f4a7c15ull;
                  break;
        case 'j': json = optarg; break;
        case 'q': quiet = 1; break;
        default:
            fprintf(stderr, "usage: udp-flood -t addr:port[,port...] "
                    "[-r rate] [-d seconds] [-s addr:port,...] "
                    "[-u ufrag,...] [-S seed] [-j file] [-q]\n");
            return 64;
        }
    }
    if (g_ndst == 0 || rate <= 0 || seconds <= 0) {
        fprintf(stderr, "udp-flood: -t, and a positive -r and -d\n");
        return 64;
    }
    if (g_rng == 0) {
        g_rng = 1;
    }

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    for (i = 0; i < SOCKS; i++) {
        socks[i] = new_socket();
    }
    if (g_nspoof) {
        raw = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
        if (raw < 0 || setsockopt(raw, IPPROTO_IP, IP_HDRINCL, &one,
                                  sizeof(one)) < 0)
        {
            perror("udp-flood: raw socket (-s needs root)");
            return 1;
        }
    }

    memset(msgs, 0, sizeof(msgs));
    memset(raw_msgs, 0, sizeof(raw_msgs));

    want = rate / 1000 < 1 ? 1 : (rate / 1000 > BATCH ? BATCH : rate / 1000);
    t0 = now_ns();
    t_end = t0 + (uint64_t) (seconds * 1e9);

    while (!g_stop) {
        now = now_ns();
        if (now >= t_end) {
            break;
        }
        due = (uint64_t) ((now - t0) / 1e9 * rate);
        if (due < sent + want) {
            /* until a batch of about a millisecond is due */
            uint64_t  wait = (uint64_t) ((sent + want - due) * 1e9 / rate);

            wait = wait < 20000 ? 20000 : wait;
            ts.tv_sec = wait / 1000000000ull;
            ts.tv_nsec = wait % 1000000000ull;
            nanosleep(&ts, NULL);
            continue;
        }
        n = due - sent > BATCH ? BATCH : (int) (due - sent);

        nraw = 0;
        for (i = 0; i < n; i++) {
            kind = pick_kind();
            per_kind[kind]++;

            if (g_nspoof && kind >= K_STUN && kind <= K_RTCP && rn(4) == 0) {
                /* from a real peer's address: IP and UDP headers here */
                uint8_t *b = pkt[BATCH - 1 - nraw];

                len = make_packet(kind, b + 28);
                src = &g_spoof[rn(g_nspoof)];
                raw_dst[nraw] = g_dst[rn(g_ndst)];
                ip = (struct iphdr *) b;
                memset(ip, 0, 20);
                ip->version = 4;
                ip->ihl = 5;
                ip->ttl = 64;
                ip->protocol = IPPROTO_UDP;
                ip->tot_len = htons(28 + len);
                ip->saddr = src->sin_addr.s_addr;
                ip->daddr = raw_dst[nraw].sin_addr.s_addr;
                udp = (struct udphdr *) (b + 20);
                udp->source = src->sin_port;
                udp->dest = raw_dst[nraw].sin_port;
                udp->len = htons(8 + len);
                udp->check = 0;                 /* none: IPv4 allows it */
                raw_iov[nraw].iov_base = b;
                raw_iov[nraw].iov_len = 28 + len;
                raw_msgs[nraw].msg_hdr.msg_iov = &raw_iov[nraw];
                raw_msgs[nraw].msg_hdr.msg_iovlen = 1;
                raw_msgs[nraw].msg_hdr.msg_name = &raw_dst[nraw];
                raw_msgs[nraw].msg_hdr.msg_namelen = sizeof(raw_dst[0]);
                nraw++;
                bytes += len;
                continue;
            }

            len = make_packet(kind, pkt[i - nraw]);
            iov[i - nraw].iov_base = pkt[i - nraw];
            iov[i - nraw].iov_len = len;
            msgs[i - nraw].msg_hdr.msg_iov = &iov[i - nraw];
            msgs[i - nraw].msg_hdr.msg_iovlen = 1;
            msgs[i - nraw].msg_hdr.msg_name = &g_dst[rn(g_ndst)];
            msgs[i - nraw].msg_hdr.msg_namelen = sizeof(g_dst[0]);
            bytes += len;
        }

        if (n - nraw > 0) {
            o = sendmmsg(socks[cur], msgs, n - nraw, 0);
            if (o < n - nraw) {
                errors += n - nraw - (o > 0 ? o : 0);
            }
        }
        if (nraw) {
            o = sendmmsg(raw, raw_msgs, nraw, 0);
            if (o < nraw) {
                errors += nraw - (o > 0 ? o : 0);
            }
            spoofed += o > 0 ? o : 0;
        }
        sent += n;

        /* the next batch from another source port; now and then a new
         * port altogether */
        if (++batches % RENEW == 0) {
            close(socks[cur]);
            socks[cur] = new_socket();
        }
        cur = (cur + 1) % SOCKS;
    }

    now = now_ns();
    len = snprintf(out, sizeof(out),
        "{\"seconds\":%.3f,\"target_rate\":%.0f,\"sent\":%llu,"
        "\"rate\":%.0f,\"errors\":%llu,\"spoofed\":%llu,\"bytes\":%llu,"
        "\"targets\":%d,\"kinds\":{",
        (now - t0) / 1e9, rate, (unsigned long long) sent,
        sent / ((now - t0) / 1e9), (unsigned long long) errors,
        (unsigned long long) spoofed, (unsigned long long) bytes, g_ndst);
    for (i = 0; i < K_N; i++) {
        len += snprintf(out + len, sizeof(out) - len, "%s\"%s\":%llu",
                        i ? "," : "", k_name[i],
                        (unsigned long long) per_kind[i]);
    }
    snprintf(out + len, sizeof(out) - len, "}}");

    if (!quiet) {
        printf("%s\n", out);
    }
    if (json && (f = fopen(json, "w"))) {
        fprintf(f, "%s\n", out);
        fclose(f);
    }
    return 0;
}
