/*
 * whep-load: a WHEP load client for the nginx WebRTC module benchmark.
 *
 * Opens N viewer sessions against a WHEP URL at a given rate, each a real
 * WebRTC receiver: recvonly offer (Opus + H264) with its own ECDSA
 * certificate, HTTP POST, ICE checks (libnice's STUN agent: USE-CANDIDATE,
 * ICE-CONTROLLING, MESSAGE-INTEGRITY, FINGERPRINT), DTLS client handshake
 * (OpenSSL, memory BIOs), SRTP keys exported per RFC 5764, libsrtp2
 * inbound/outbound contexts. Then every RTP packet is counted and
 * sequence-checked per SSRC; a sample (and everything until the first
 * keyframe) is authenticated and decrypted; the first complete H264 IDR
 * NAL unit gives the join time (first request sent -> IDR complete); RTCP
 * receiver reports every second, NACKs for gaps, consent STUN checks
 * every 5 s.
 *
 * -J speaks the Janus API (HTTP transport, streaming plugin) instead of
 * WHEP, for the comparison run: create a session, attach the plugin, ask
 * to watch a mountpoint, long-poll for the event that carries Janus's
 * offer, POST the answer with "start". Janus is then the full ICE agent
 * in control: the viewer answers its checks, sends its own with
 * ICE-CONTROLLED, and starts DTLS (as the client, a=setup:active) once
 * Janus has nominated the pair. A keepalive every 25 s keeps the Janus
 * session alive; media handling and measurements are the same.
 *
 * -N makes every viewer a hostile one for the test of the server's NACK
 * cap: R times a second it NACKs the last C packets of its video SSRC,
 * all of them already received; what comes back again is counted in
 * "dups" (packets whose sequence number was already received).
 *
 * -F makes one viewer a relay for that run: every packet it receives is
 * decrypted and sent on as plain RTP (audio and video to their own ports),
 * so that Janus's RTP mountpoint gets the publisher's stream as nginx
 * delivers it.
 *
 * One process: epoll + recvmmsg over one connected UDP socket per session.
 * -p P forks P processes sharing the sessions and the rate; the parent
 * aggregates through a shared mapping and prints one line per second and
 * a final JSON summary.
 *
 *   whep-load -u http://127.0.0.1:8080/whep/cam1 -n 100 -r 200 -d 10
 *             [-p 1] [-s 16] [-w 2] [-P pid,pid] [-j out.json] [-q]
 *   whep-load -u http://198.18.0.1:8088/janus -J 1 -n 100 ...
 *   whep-load -u http://127.0.0.1:8080/whep/cam1 -F 198.18.0.1:5002:5004
 *
 *   -u URL   WHEP endpoint, or with -J the Janus API base path
 *   -n N     sessions (default 1)   -r R      new sessions / second
 *   -d S     run time in seconds (10)
 *   -p P     processes              -s K      authenticate 1 in K packets
 *                                             after the join (default 16;
 *                                             1 = every packet)
 *   -w S     the measurement window starts S seconds after the last
 *            session is up (default 2) and ends at the end of the run
 *   -P pids  server processes: CPU (utime+stime) and PSS over the window
 *   -j FILE  also write the final JSON there
 *   -t TOKEN Bearer token           -q        no per-second lines
 *   -B addr  local address to bind (default: any)
 *   -k       keep the sessions: no DTLS close_notify at the end (the
 *            server's counters can then be read before consent expires)
 *   -J ID    Janus streaming plugin, mountpoint ID
 *   -F addr:audio_port:video_port
 *            relay the one session's media there as plain RTP (-n 1)
 *   -N R[:C] NACK flood: R times a second, a NACK for the last C video
 *            packets (default 100), all received
 *
 * Churn (-E): sessions are created and ended, at most -c at a time, each
 * in one of the ways a server must clean up after; session i ends the
 * way the i-th entry of the list says (cycling):
 *   delete     POST, then DELETE of its Location at once (no ICE)
 *   up-delete  ICE, DTLS, -h ms up, then DELETE
 *   close      ICE, DTLS, -h ms up, then a DTLS close_notify
 *   silent     ICE, DTLS, -h ms up, then nothing: consent expires
 *   halfopen   ICE checks for -h ms (and until one is answered), never
 *              DTLS: the setup timeout
 * A silent session keeps its UDP socket (unused) and its place among the
 * -c for -L ms after its end, a half-open one for -K ms: until the
 * server has ended them, so that the server never holds more than -c
 * sessions of the run and no new session takes a port it still knows.
 * -W makes the
 * offers sendonly (WHIP); a "%d" in the URL's path is a number no other
 * live session of the run has (a stream per publisher). The summary says
 * how many of each kind ended as meant; exit 0 if all did.
 *
 *   whep-load -u http://127.0.0.1:8080/whep/cam1 -n 1000 -r 300 -c 32 \
 *             -E delete,delete,close,silent,halfopen -h 200 -L 13000 \
 *             -K 3000 -d 60
 *   whep-load -u http://127.0.0.1:8080/whip/c%d -W -E delete -n 500 ...
 *
 * Exit status: 0 if every session came up, 1 otherwise, 64 on bad usage.
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <srtp2/srtp.h>

#include <stun/stunagent.h>
#include <stun/usages/ice.h>


#define MAX_SSRC        4
#define WIN_BITS        1024
#define BATCH           64
#define PKT_SIZE        2048
#define HTTP_BUF        16384
#define NACK_MAX        64
#define SDP_BUF         4096
#define JANUS_POLLS     10
#define JANUS_KEEPALIVE 25000000000ull      /* Janus's timeout is 60 s */

enum { K_AUDIO = 0, K_VIDEO = 1 };

/* a session's phase; S_SIGNAL covers every HTTP exchange before ICE */
enum {
    S_IDLE = 0, S_SIGNAL, S_ICE, S_DTLS, S_UP, S_FAILED, S_DONE
};

/* -E: how a churn session ends */
enum {
    E_NONE = 0, E_DELETE, E_UP_DELETE, E_CLOSE, E_SILENT, E_HALFOPEN, E_KINDS
};

static const char  *g_end_name[E_KINDS] = {
    "", "delete", "up-delete", "close", "silent", "halfopen"
};

#define MAX_ENDS        256

/* the HTTP exchange in progress, if any */
enum { H_NONE = 0, H_CONNECT, H_SEND, H_RECV };

/* Janus API requests, in the order a viewer makes them */
enum {
    J_CREATE = 0, J_ATTACH, J_WATCH, J_POLL, J_START, J_KEEPALIVE
};

typedef struct {
    uint32_t    ssrc;
    int         kind;
    int         init;
    uint16_t    max_seq;
    uint32_t    cycles;
    uint32_t    base_ext;
    uint64_t    received;         /* unique packets */
    uint32_t    expected_prior;
    uint64_t    received_prior;
    uint8_t     win[WIN_BITS / 8];
    /* from the last sender report, for LSR/DLSR */
    uint32_t    lsr;
    uint64_t    lsr_at_ns;
} ssrc_t;

typedef struct session_s session_t;

typedef struct {
    int          type;            /* 0 tcp, 1 udp */
    session_t   *s;
} ev_tag_t;

struct session_s {
    int          idx;
    int          state;
    int          tcp;
    int          udp;
    ev_tag_t     tcp_tag;
    ev_tag_t     udp_tag;
    int          http;
    int          http_tries;

    char         ufrag[9];
    char         pwd[25];
    char        *req;
    size_t       req_len;
    size_t       req_sent;
    char        *resp;
    size_t       resp_len;

    char         r_ufrag[64];
    char         r_pwd[128];
    char         r_fp[160];
    int          n_m;             /* m-lines: kinds and mids, in order */
    int          m_kind[2];
    char         m_mid[2][32];
    struct sockaddr_in  peer;
    int          video_pt;
    int          audio_pt;
    uint32_t     a_ssrc[MAX_SSRC];
    int          a_kind[MAX_SSRC];
    int          n_a_ssrc;

    StunAgent    agent;
    uint64_t     tie;
    uint64_t     next_stun_ns;
    int          stun_tries;
    int          nominated;       /* Janus sent USE-CANDIDATE */

    int          jstep;           /* Janus request in flight */
    int          jpolls;
    uint64_t     jsession;
    uint64_t     jhandle;
    uint64_t     next_keepalive_ns;

    SSL         *ssl;
    BIO         *rbio;
    BIO         *wbio;
    srtp_t       srtp_in;
    srtp_t       srtp_out;
    int          srtp_profile;

    uint32_t     my_ssrc;
    ssrc_t       ss[MAX_SSRC];
    int          n_ss;
    uint64_t     pkt_count;

    uint64_t     t_post_ns;
    uint64_t     t_up_ns;
    uint64_t     next_rr_ns;
    uint64_t     next_consent_ns;
    uint64_t     next_flood_ns;
    uint32_t     drops;           /* SO_RXQ_OVFL */

    int          joined;
    int          idr_started;
    int          idr_ended;
    uint32_t     idr_start;
    uint32_t     idr_end;
    uint32_t     idr_cnt;

    int          end;             /* E_*: churn only */
    int          slot;            /* the "%d" of the URL, or -1 */
    int          deleting;
    int          ice_ok;          /* a check was answered */
    uint64_t     end_at_ns;
    char         location[512];
};

/* per-process counters in a shared mapping, written by the child only */
typedef struct {
    volatile uint64_t  launched, posted, up, failed, joined;
    volatile uint64_t  packets, bytes, rtcp, gaps, dups, nacks, recovered;
    volatile uint64_t  auth_ok, auth_fail, drops, sr, gcm;
    volatile uint64_t  flood_nacks;               /* -N: packets asked */
    volatile uint64_t  lost, expected;            /* final */
    volatile uint64_t  first_post_ns, last_up_ns;
    volatile uint64_t  win_packets, win_bytes, win_gaps;  /* in the window */
    volatile int       all_up, finished;
    volatile int       http_errors[6];           /* 409, 503, other, conn */
    volatile int       in_state[S_DONE + 1];     /* sessions per state */
    volatile uint64_t  end_ok[E_KINDS], end_failed[E_KINDS];
} counters_t;

typedef struct {
    char        host[256];
    int         port;
    char        path[1024];
    struct sockaddr_in  addr;
} url_t;


static url_t          g_url;
static int            g_n = 1, g_rate = 100, g_procs = 1, g_sample = 16;
static double         g_duration = 10, g_warm = 2;
static const char    *g_json, *g_token, *g_pids, *g_bind;
static int            g_quiet, g_keep, g_janus;
static int            g_flood_rate, g_flood_count = 100;    /* -N */
static int            g_fwd = -1;     /* -F: the relay's socket */
static struct sockaddr_in  g_fwd_to[2];   /* by kind */
static SSL_CTX       *g_ctx;
static char           g_fp[128];
static int            g_ep;
static counters_t    *g_cnt;          /* this process's counters */
static float         *g_join;         /* this process's join times, ms */
static session_t     *g_sess;
static int            g_nsess;
static volatile sig_atomic_t  g_stop;

/* churn */
static int            g_ends[MAX_ENDS], g_nends;
static int            g_whip, g_conc = 32, g_hold_ms, g_linger_ms;
static int            g_linger_half_ms;
static int            g_active;
static int           *g_slots;        /* free "%d" numbers, a FIFO */
static int            g_slot_head, g_slot_n;
static struct { int fd; uint64_t at; }  *g_linger;
static int            g_nlinger;

static uint8_t        g_rbuf[BATCH][PKT_SIZE];
static char           g_cbuf[BATCH][CMSG_SPACE(sizeof(uint32_t))];
static struct mmsghdr g_msgs[BATCH];
static struct iovec   g_iov[BATCH];

static const uint16_t g_known[] = {
    STUN_ATTRIBUTE_USERNAME, STUN_ATTRIBUTE_MESSAGE_INTEGRITY,
    STUN_ATTRIBUTE_FINGERPRINT, STUN_ATTRIBUTE_PRIORITY,
    STUN_ATTRIBUTE_USE_CANDIDATE, STUN_ATTRIBUTE_ICE_CONTROLLED,
    STUN_ATTRIBUTE_ICE_CONTROLLING, STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS, 0
};


static uint64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ull + ts.tv_nsec;
}


static void
die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, "whep-load: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}


static void
rand_str(char *out, int n)
{
    static const char  a[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    uint8_t            r[64];
    int                i;

    RAND_bytes(r, n);
    for (i = 0; i < n; i++) {
        out[i] = a[r[i] % (sizeof(a) - 1)];
    }
    out[n] = '\0';
}


/* ------------------------------------------------------------ setup */

static void
parse_url(const char *u)
{
    const char  *p, *h, *e;
    char         port[16];

    if (strncmp(u, "http://", 7) != 0) {
        die("only http:// URLs: %s", u);
    }
    h = u + 7;
    p = strchr(h, '/');
    if (p == NULL) {
        p = h + strlen(h);
    }
    e = memchr(h, ':', p - h);
    g_url.port = 80;
    if (e) {
        snprintf(port, sizeof(port), "%.*s", (int) (p - e - 1), e + 1);
        g_url.port = atoi(port);
    } else {
        e = p;
    }
    snprintf(g_url.host, sizeof(g_url.host), "%.*s", (int) (e - h), h);
    snprintf(g_url.path, sizeof(g_url.path), "%s", *p ? p : "/");

    g_url.addr.sin_family = AF_INET;
    g_url.addr.sin_port = htons(g_url.port);
    if (inet_pton(AF_INET, g_url.host, &g_url.addr.sin_addr) != 1) {
        struct hostent *he = gethostbyname(g_url.host);
        if (he == NULL) {
            die("cannot resolve %s", g_url.host);
        }
        memcpy(&g_url.addr.sin_addr, he->h_addr_list[0], 4);
    }
}


static void
make_cert(void)
{
    EVP_PKEY      *key;
    X509          *x;
    X509_NAME     *name;
    unsigned char  md[EVP_MAX_MD_SIZE];
    unsigned int   mdlen, i;
    char          *p;

    key = EVP_EC_gen("P-256");
    x = X509_new();
    if (key == NULL || x == NULL) {
        die("cannot make a key");
    }
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), (long) (time(NULL) & 0xffffff));
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400 * 30);
    X509_set_pubkey(x, key);
    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (unsigned char *) "whep-load", -1, -1, 0);
    X509_set_issuer_name(x, name);
    if (X509_sign(x, key, EVP_sha256()) == 0) {
        die("X509_sign failed");
    }

    g_ctx = SSL_CTX_new(DTLS_client_method());
    SSL_CTX_use_certificate(g_ctx, x);
    SSL_CTX_use_PrivateKey(g_ctx, key);
    /* the server's certificate is checked against the answer's
     * fingerprint after the handshake (srtp_setup) */
    SSL_CTX_set_verify(g_ctx, SSL_VERIFY_NONE, NULL);
    if (SSL_CTX_set_tlsext_use_srtp(g_ctx,
            "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80") != 0)
    {
        die("use_srtp failed");
    }
    SSL_CTX_set_options(g_ctx, SSL_OP_NO_QUERY_MTU);
    SSL_CTX_set_read_ahead(g_ctx, 1);

    X509_digest(x, EVP_sha256(), md, &mdlen);
    p = g_fp;
    for (i = 0; i < mdlen; i++) {
        p += sprintf(p, i ? ":%02X" : "%02X", md[i]);
    }
}


/* ------------------------------------------------------------ SDP */

/* our SDP: the WHEP offer, or the answer to Janus's offer (its m-lines
 * and mids, a=setup:active and our host candidate) */
static int
sdp_build(session_t *s, char *buf, size_t size, struct sockaddr_in *cand)
{
    char       *p = buf, *e = buf + size, ip[INET_ADDRSTRLEN];
    const char *setup;
    int         i;

    setup = cand ? "active" : "actpass";
    p += snprintf(p, e - p,
        "v=0\r\n"
        "o=- %u 2 IN IP4 127.0.0.1\r\n"
        "s=-\r\n"
        "t=0 0\r\n"
        "a=group:BUNDLE %s %s\r\n"
        "a=msid-semantic: WMS\r\n",
        (unsigned) s->idx + 1000, s->m_mid[0], s->m_mid[1]);

    for (i = 0; i < s->n_m && p < e; i++) {
        if (s->m_kind[i] == K_AUDIO) {
            p += snprintf(p, e - p,
                "m=audio 9 UDP/TLS/RTP/SAVPF %d\r\n", s->audio_pt);
        } else {
            p += snprintf(p, e - p,
                "m=video 9 UDP/TLS/RTP/SAVPF %d\r\n", s->video_pt);
        }
        p += snprintf(p, e - p,
            "c=IN IP4 0.0.0.0\r\n"
            "a=rtcp:9 IN IP4 0.0.0.0\r\n"
            "a=ice-ufrag:%s\r\n"
            "a=ice-pwd:%s\r\n"
            "a=ice-options:trickle\r\n"
            "a=fingerprint:sha-256 %s\r\n"
            "a=setup:%s\r\n"
            "a=mid:%s\r\n"
            "a=%s\r\n"
            "a=rtcp-mux\r\n",
            s->ufrag, s->pwd, g_fp, setup, s->m_mid[i],
            g_whip ? "sendonly" : "recvonly");
        if (p >= e) {
            break;
        }
        if (s->m_kind[i] == K_AUDIO) {
            p += snprintf(p, e - p,
                "a=rtpmap:%d opus/48000/2\r\n"
                "a=fmtp:%d minptime=10;useinbandfec=1\r\n",
                s->audio_pt, s->audio_pt);
        } else {
            p += snprintf(p, e - p,
                "a=rtcp-rsize\r\n"
                "a=rtpmap:%d H264/90000\r\n"
                "a=rtcp-fb:%d nack\r\n"
                "a=rtcp-fb:%d nack pli\r\n"
                "a=fmtp:%d level-asymmetry-allowed=1;packetization-mode=1;"
                "profile-level-id=42e01f\r\n",
                s->video_pt, s->video_pt, s->video_pt, s->video_pt);
        }
        if (cand && i == 0 && p < e) {
            /* bundled: the first m-line's transport is the one */
            inet_ntop(AF_INET, &cand->sin_addr, ip, sizeof(ip));
            p += snprintf(p, e - p,
                "a=candidate:1 1 udp 2130706431 %s %d typ host\r\n"
                "a=end-of-candidates\r\n", ip, ntohs(cand->sin_port));
        }
    }
    return p < e ? (int) (p - buf) : -1;
}


static void
copy_token(char *dst, size_t n, const char *src)
{
    size_t  i = 0;

    while (src[i] && src[i] != '\r' && src[i] != '\n' && src[i] != ' '
           && i + 1 < n)
    {
        dst[i] = src[i];
        i++;
    }
    dst[i] = '\0';
}


/* the peer's SDP (WHEP answer or Janus offer): credentials, fingerprint,
 * m-lines with their payload types and mids, SSRCs, the first UDP IPv4
 * candidate */
static int
sdp_parse(session_t *s, char *body, char *end)
{
    char  *line, *nl;
    int    kind = -1, found_cand = 0;

    s->video_pt = 96;
    s->audio_pt = 111;
    s->n_m = 0;
    for (line = body; line < end; line = nl + 1) {
        nl = memchr(line, '\n', end - line);
        if (nl == NULL) {
            nl = end;
        }
        if (strncmp(line, "m=", 2) == 0) {
            if (strncmp(line, "m=audio", 7) == 0) {
                kind = K_AUDIO;
                sscanf(line, "m=audio %*d %*s %d", &s->audio_pt);
            } else if (strncmp(line, "m=video", 7) == 0) {
                kind = K_VIDEO;
                sscanf(line, "m=video %*d %*s %d", &s->video_pt);
            } else {
                return -1;
            }
            if (s->n_m == 2) {
                return -1;
            }
            s->m_kind[s->n_m] = kind;
            snprintf(s->m_mid[s->n_m], sizeof(s->m_mid[0]), "%d", s->n_m);
            s->n_m++;
        } else if (strncmp(line, "a=mid:", 6) == 0 && s->n_m > 0) {
            copy_token(s->m_mid[s->n_m - 1], sizeof(s->m_mid[0]), line + 6);
        } else if (strncmp(line, "a=ice-ufrag:", 12) == 0 && !s->r_ufrag[0]) {
            copy_token(s->r_ufrag, sizeof(s->r_ufrag), line + 12);
        } else if (strncmp(line, "a=ice-pwd:", 10) == 0 && !s->r_pwd[0]) {
            copy_token(s->r_pwd, sizeof(s->r_pwd), line + 10);
        } else if (strncmp(line, "a=fingerprint:sha-256 ", 22) == 0
                   && !s->r_fp[0])
        {
            copy_token(s->r_fp, sizeof(s->r_fp), line + 22);
        } else if (strncmp(line, "a=ssrc:", 7) == 0 && kind >= 0) {
            uint32_t  v = strtoul(line + 7, NULL, 10);
            int       i;

            for (i = 0; i < s->n_a_ssrc; i++) {
                if (s->a_ssrc[i] == v) {
                    break;
                }
            }
            if (i == s->n_a_ssrc && i < MAX_SSRC) {
                s->a_ssrc[i] = v;
                s->a_kind[i] = kind;
                s->n_a_ssrc++;
            }
        } else if (strncmp(line, "a=candidate:", 12) == 0 && !found_cand) {
            char  f[8][64];

            /* foundation component transport priority ip port typ host */
            if (sscanf(line + 12, "%63s %63s %63s %63s %63s %63s", f[0],
                       f[1], f[2], f[3], f[4], f[5]) == 6
                && strcasecmp(f[2], "udp") == 0
                && inet_pton(AF_INET, f[4], &s->peer.sin_addr) == 1)
            {
                s->peer.sin_family = AF_INET;
                s->peer.sin_port = htons(atoi(f[5]));
                found_cand = 1;
            }
        }
    }

    if (!found_cand || !s->r_ufrag[0] || !s->r_pwd[0] || s->n_m == 0) {
        return -1;
    }
    return 0;
}


/* ------------------------------------------------------------ HTTP */

static void
ep_ctl(int op, int fd, uint32_t events, ev_tag_t *tag)
{
    struct epoll_event  ev;

    ev.events = events;
    ev.data.ptr = tag;
    if (epoll_ctl(g_ep, op, fd, &ev) < 0 && op != EPOLL_CTL_DEL) {
        die("epoll_ctl: %s", strerror(errno));
    }
}


static void
http_close(session_t *s)
{
    if (s->tcp >= 0) {
        close(s->tcp);
        s->tcp = -1;
    }
    s->http = H_NONE;
}


static void churn_end(session_t *s, int ok);
static void http_request(session_t *s, const char *method, const char *path,
    const char *type, const char *body, size_t len);


static void
session_fail(session_t *s, int what)
{
    http_close(s);
    s->state = S_FAILED;
    g_cnt->failed++;
    if (what >= 0 && what < 6) {
        g_cnt->http_errors[what]++;
    }
    if (s->end) {
        churn_end(s, 0);
    }
}


/*
 * A churn session has ended as meant (ok) or not: counted by kind, its
 * sockets and contexts freed; a silent or half-open one's UDP socket
 * stays, unused, with its place among the -c, while the server may
 * still know it.
 */
static void
churn_end(session_t *s, int ok)
{
    int  linger;

    if (s->state == S_DONE) {
        return;
    }
    if (ok) {
        g_cnt->end_ok[s->end]++;
    } else {
        if (s->state != S_FAILED) {
            g_cnt->failed++;
        }
        g_cnt->end_failed[s->end]++;
        if (getenv("WHEP_LOAD_DEBUG")) {
            fprintf(stderr, "session %d (%s) failed in state %d\n", s->idx,
                    g_end_name[s->end], s->state);
        }
    }
    s->state = S_DONE;

    linger = s->end == E_SILENT ? g_linger_ms
             : s->end == E_HALFOPEN ? g_linger_half_ms : 0;

    http_close(s);
    if (s->udp >= 0 && linger > 0) {
        ep_ctl(EPOLL_CTL_DEL, s->udp, 0, &s->udp_tag);
        g_linger[g_nlinger].fd = s->udp;
        g_linger[g_nlinger].at = now_ns() + (uint64_t) linger * 1000000;
        g_nlinger++;
        s->udp = -1;
    } else {
        g_active--;
    }
    if (s->udp >= 0) {
        ep_ctl(EPOLL_CTL_DEL, s->udp, 0, &s->udp_tag);
        close(s->udp);
        s->udp = -1;
    }
    if (s->ssl) {
        SSL_free(s->ssl);       /* and its BIOs */
        s->ssl = NULL;
    }
    if (s->srtp_in) {
        srtp_dealloc(s->srtp_in);
        s->srtp_in = NULL;
    }
    if (s->srtp_out) {
        srtp_dealloc(s->srtp_out);
        s->srtp_out = NULL;
    }
    free(s->req);
    free(s->resp);
    s->req = NULL;
    s->resp = NULL;
    if (s->slot >= 0) {
        g_slots[(g_slot_head + g_slot_n++) % g_conc] = s->slot;
        s->slot = -1;
    }
}


/* sockets whose linger is over, in the order they were kept */
static void
churn_linger(uint64_t now)
{
    int  i, k;

    for (i = 0, k = 0; i < g_nlinger; i++) {
        if (now >= g_linger[i].at) {
            close(g_linger[i].fd);
            g_active--;
        } else {
            g_linger[k++] = g_linger[i];
        }
    }
    g_nlinger = k;
}


/* the DELETE of a churn session */
static void
churn_delete(session_t *s)
{
    if (s->location[0] == '\0') {
        churn_end(s, 0);
        return;
    }
    s->deleting = 1;
    http_request(s, "DELETE", s->location, NULL, NULL, 0);
}


/* a broken connection fails the session while it is being set up; a
 * lost keepalive later is only counted */
static void
http_error(session_t *s)
{
    if (s->deleting) {
        churn_end(s, 0);
    } else if (s->state == S_SIGNAL) {
        session_fail(s, 3);
    } else {
        http_close(s);
        g_cnt->http_errors[3]++;
    }
}


/* one request on a new connection (Connection: close); the session's
 * first request starts its join time */
static void
http_request(session_t *s, const char *method, const char *path,
    const char *type, const char *body, size_t len)
{
    int   fd, one = 1;
    char  auth[512];

    auth[0] = '\0';
    if (g_token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", g_token);
    }
    free(s->req);
    s->req = malloc(len + strlen(path) + strlen(auth) + 1024);
    if (s->req == NULL) {
        die("out of memory");
    }
    s->req_len = sprintf(s->req,
        "%s %s HTTP/1.1\r\n"
        "Host: %s:%d\r\n"
        "User-Agent: whep-load/1\r\n"
        "%s",
        method, path, g_url.host, g_url.port, auth);
    if (body) {
        s->req_len += sprintf(s->req + s->req_len,
            "Content-Type: %s\r\n"
            "Content-Length: %zu\r\n", type, len);
    }
    s->req_len += sprintf(s->req + s->req_len, "Connection: close\r\n\r\n");
    if (body) {
        memcpy(s->req + s->req_len, body, len);
        s->req_len += len;
    }
    s->req_sent = 0;
    if (s->state == S_IDLE) {
        s->state = S_SIGNAL;
    }

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        http_error(s);
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *) &g_url.addr, sizeof(g_url.addr)) < 0
        && errno != EINPROGRESS)
    {
        close(fd);
        http_error(s);
        return;
    }
    s->tcp = fd;
    s->tcp_tag.type = 0;
    s->tcp_tag.s = s;
    s->http = H_CONNECT;
    s->resp_len = 0;
    if (s->resp == NULL) {
        s->resp = malloc(HTTP_BUF);
        if (s->resp == NULL) {
            die("out of memory");
        }
    }
    if (s->t_post_ns == 0) {
        s->t_post_ns = now_ns();
        if (g_cnt->first_post_ns == 0) {
            g_cnt->first_post_ns = s->t_post_ns;
        }
    }
    ep_ctl(EPOLL_CTL_ADD, fd, EPOLLOUT | EPOLLIN, &s->tcp_tag);
}


static void
whep_request(session_t *s)
{
    char  sdp[SDP_BUF], path[1024 + 16];
    int   n;

    rand_str(s->ufrag, 8);
    rand_str(s->pwd, 24);
    s->n_m = 2;
    s->m_kind[0] = K_AUDIO;
    s->m_kind[1] = K_VIDEO;
    strcpy(s->m_mid[0], "0");
    strcpy(s->m_mid[1], "1");
    s->audio_pt = 111;
    s->video_pt = 96;
    n = sdp_build(s, sdp, sizeof(sdp), NULL);
    if (n < 0) {
        die("offer too long");
    }
    if (s->slot >= 0) {
        snprintf(path, sizeof(path), g_url.path, s->slot);
    } else {
        snprintf(path, sizeof(path), "%s", g_url.path);
    }
    http_request(s, "POST", path, "application/sdp", sdp, n);
}


static char *
find_line(char *text, const char *prefix, char *end)
{
    size_t  pl = strlen(prefix);
    char   *p = text;

    while (p && p < end) {
        if ((size_t) (end - p) >= pl && strncasecmp(p, prefix, pl) == 0) {
            return p + pl;
        }
        p = memchr(p, '\n', end - p);
        if (p) {
            p++;
        }
    }
    return NULL;
}


static void udp_open(session_t *s);
static void ice_start(session_t *s);
static void janus_response(session_t *s, int status, char *body, char *end);


static void
whep_response(session_t *s, int status, char *body, char *end)
{
    char  *loc;

    if (s->deleting) {
        s->deleting = 0;
        churn_end(s, status == 200);
        return;
    }
    if (status == 409 && s->http_tries++ < 20) {
        /* no live publisher yet: retry in a second */
        g_cnt->http_errors[0]++;
        s->state = S_IDLE;
        s->next_stun_ns = now_ns() + 1000000000ull;
        return;
    }
    if (status != 201) {
        if (getenv("WHEP_LOAD_DEBUG")) {
            fprintf(stderr, "session %d: HTTP %d: %.200s\n", s->idx, status,
                    s->resp);
        }
        session_fail(s, status == 409 ? 0 : status == 503 ? 1 : 2);
        return;
    }
    g_cnt->posted++;

    loc = find_line(s->resp, "Location:", body);
    if (loc) {
        while (*loc == ' ') {
            loc++;
        }
        copy_token(s->location, sizeof(s->location), loc);
    }
    if (s->end == E_DELETE) {
        churn_delete(s);
        return;
    }

    if (sdp_parse(s, body, end) != 0) {
        session_fail(s, 2);
        return;
    }
    udp_open(s);
    if (s->state != S_FAILED) {
        ice_start(s);
    }
}


/* a complete response: status and body to the WHEP or Janus handler */
static void
http_done(session_t *s)
{
    char  *body;
    int    status;

    s->resp[s->resp_len] = '\0';
    http_close(s);
    body = strstr(s->resp, "\r\n\r\n");
    if (sscanf(s->resp, "HTTP/1.%*d %d", &status) != 1 || body == NULL) {
        if (s->deleting) {
            churn_end(s, 0);
        } else if (s->state == S_SIGNAL) {
            session_fail(s, 2);
        }
        return;
    }
    body += 4;
    if (g_janus) {
        janus_response(s, status, body, s->resp + s->resp_len);
    } else {
        whep_response(s, status, body, s->resp + s->resp_len);
    }
}


static void
http_event(session_t *s, uint32_t events)
{
    ssize_t    n;
    int        err = 0;
    char      *h, *cl;
    socklen_t  len = sizeof(err);

    if (s->http == H_CONNECT) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
            return;
        }
        getsockopt(s->tcp, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            http_error(s);
            return;
        }
        s->http = H_SEND;
    }

    if (s->http == H_SEND) {
        while (s->req_sent < s->req_len) {
            n = send(s->tcp, s->req + s->req_sent, s->req_len - s->req_sent,
                     MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN) {
                    return;
                }
                http_error(s);
                return;
            }
            s->req_sent += n;
        }
        s->http = H_RECV;
        ep_ctl(EPOLL_CTL_MOD, s->tcp, EPOLLIN, &s->tcp_tag);
    }

    if (s->http == H_RECV) {
        for ( ;; ) {
            n = recv(s->tcp, s->resp + s->resp_len,
                     HTTP_BUF - 1 - s->resp_len, 0);
            if (n < 0) {
                if (errno == EAGAIN) {
                    break;
                }
                http_error(s);
                return;
            }
            if (n == 0 || s->resp_len + n >= HTTP_BUF - 1) {
                s->resp_len += n;
                http_done(s);
                return;
            }
            s->resp_len += n;
        }
        /* complete by Content-Length? */
        s->resp[s->resp_len] = '\0';
        h = strstr(s->resp, "\r\n\r\n");
        if (h) {
            cl = find_line(s->resp, "Content-Length:", h);
            if (cl && (size_t) (h + 4 - s->resp) + atoi(cl) <= s->resp_len) {
                http_done(s);
            }
        }
    }
}


/* ------------------------------------------------------------ Janus API */

/* the value of "key" in a JSON text, from p on: a pointer to its first
 * character, or NULL */
static char *
json_find(char *p, char *end, const char *key)
{
    char    pat[64];
    size_t  n;

    if (p == NULL) {
        return NULL;
    }
    n = snprintf(pat, sizeof(pat), "\"%s\"", key);
    while (p < end && (p = memmem(p, end - p, pat, n)) != NULL) {
        p += n;
        while (p < end && isspace((unsigned char) *p)) {
            p++;
        }
        if (p < end && *p == ':') {
            p++;
            while (p < end && isspace((unsigned char) *p)) {
                p++;
            }
            return p;
        }
    }
    return NULL;
}


static int
json_is(char *v, const char *str)
{
    size_t  n = strlen(str);

    return v && v[0] == '"' && strncmp(v + 1, str, n) == 0 && v[n + 1] == '"';
}


/* decodes the JSON string that starts at p (its quote) in place and
 * returns its end, or NULL; only ASCII \u escapes are kept */
static char *
json_string(char *p, char *end)
{
    char          *o;
    unsigned int   u;

    if (p == NULL || p >= end || *p != '"') {
        return NULL;
    }
    o = p;
    for (p++; p < end && *p != '"'; p++) {
        if (*p != '\\') {
            *o++ = *p;
            continue;
        }
        if (++p == end) {
            return NULL;
        }
        switch (*p) {
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'u':
            if (end - p < 5 || sscanf(p + 1, "%4x", &u) != 1) {
                return NULL;
            }
            *o++ = u < 0x80 ? (char) u : '?';
            p += 4;
            break;
        default:                      /* \" \\ \/ */
            *o++ = *p;
        }
    }
    return p < end ? o : NULL;
}


static void
janus_request(session_t *s, int step)
{
    char         path[1400], body[256];
    const char  *method = "POST";
    int          n = 0;

    switch (step) {

    case J_CREATE:
        snprintf(path, sizeof(path), "%s", g_url.path);
        n = snprintf(body, sizeof(body),
                     "{\"janus\":\"create\",\"transaction\":\"c\"}");
        break;

    case J_ATTACH:
        snprintf(path, sizeof(path), "%s/%llu", g_url.path,
                 (unsigned long long) s->jsession);
        n = snprintf(body, sizeof(body),
                     "{\"janus\":\"attach\",\"plugin\":\"janus.plugin."
                     "streaming\",\"transaction\":\"a\"}");
        break;

    case J_WATCH:
        snprintf(path, sizeof(path), "%s/%llu/%llu", g_url.path,
                 (unsigned long long) s->jsession,
                 (unsigned long long) s->jhandle);
        n = snprintf(body, sizeof(body),
                     "{\"janus\":\"message\",\"body\":{\"request\":\"watch\","
                     "\"id\":%d},\"transaction\":\"w\"}", g_janus);
        break;

    case J_POLL:
        method = "GET";
        snprintf(path, sizeof(path), "%s/%llu?maxev=1", g_url.path,
                 (unsigned long long) s->jsession);
        break;

    default:                          /* J_KEEPALIVE */
        snprintf(path, sizeof(path), "%s/%llu", g_url.path,
                 (unsigned long long) s->jsession);
        n = snprintf(body, sizeof(body),
                     "{\"janus\":\"keepalive\",\"transaction\":\"k\"}");
    }

    s->jstep = step;
    http_request(s, method, path, "application/json", n ? body : NULL, n);
}


/* the answer, with our host candidate (the socket is open by now) and
 * "start" */
static void
janus_answer(session_t *s)
{
    char                sdp[SDP_BUF], body[2 * SDP_BUF + 256], path[1400];
    char               *p, *e;
    int                 n, i;
    struct sockaddr_in  local;
    socklen_t           len = sizeof(local);

    if (getsockname(s->udp, (struct sockaddr *) &local, &len) < 0) {
        session_fail(s, 3);
        return;
    }
    n = sdp_build(s, sdp, sizeof(sdp), &local);
    if (n < 0) {
        session_fail(s, 2);
        return;
    }

    p = body;
    e = body + sizeof(body) - 64;
    p += sprintf(p, "{\"janus\":\"message\",\"body\":{\"request\":\"start\"},"
                    "\"jsep\":{\"type\":\"answer\",\"sdp\":\"");
    for (i = 0; i < n && p < e; i++) {
        switch (sdp[i]) {
        case '\r': *p++ = '\\'; *p++ = 'r'; break;
        case '\n': *p++ = '\\'; *p++ = 'n'; break;
        case '"':  *p++ = '\\'; *p++ = '"'; break;
        case '\\': *p++ = '\\'; *p++ = '\\'; break;
        default:   *p++ = sdp[i];
        }
    }
    p += sprintf(p, "\"},\"transaction\":\"s\"}");

    snprintf(path, sizeof(path), "%s/%llu/%llu", g_url.path,
             (unsigned long long) s->jsession,
             (unsigned long long) s->jhandle);
    s->jstep = J_START;
    http_request(s, "POST", path, "application/json", body, p - body);
}


static void
janus_response(session_t *s, int status, char *body, char *end)
{
    char  *v, *sdp, *sdp_end;

    if (s->jstep == J_KEEPALIVE) {
        if (status != 200 || !json_is(json_find(body, end, "janus"), "ack")) {
            g_cnt->http_errors[2]++;
        }
        return;
    }
    v = json_find(body, end, "janus");
    if (status != 200 || v == NULL || json_is(v, "error")) {
        goto failed;
    }

    switch (s->jstep) {

    case J_CREATE:
    case J_ATTACH:
        if (!json_is(v, "success")) {
            goto failed;
        }
        v = json_find(json_find(body, end, "data"), end, "id");
        if (v == NULL || !isdigit((unsigned char) *v)) {
            goto failed;
        }
        if (s->jstep == J_CREATE) {
            s->jsession = strtoull(v, NULL, 10);
            janus_request(s, J_ATTACH);
        } else {
            s->jhandle = strtoull(v, NULL, 10);
            janus_request(s, J_WATCH);
        }
        return;

    case J_WATCH:
        if (!json_is(v, "ack")) {
            goto failed;
        }
        s->jpolls = 0;
        janus_request(s, J_POLL);
        return;

    case J_POLL:
        /* a plugin error (no such mountpoint...) comes as an event too */
        if (json_find(body, end, "error_code")) {
            goto failed;
        }
        sdp = json_find(json_find(body, end, "jsep"), end, "sdp");
        if (sdp == NULL) {
            /* a keepalive after 30 s, or another event: poll again */
            if (++s->jpolls >= JANUS_POLLS) {
                goto failed;
            }
            janus_request(s, J_POLL);
            return;
        }
        sdp_end = json_string(sdp, end);
        if (sdp_end == NULL || sdp_parse(s, sdp, sdp_end) != 0) {
            goto failed;
        }
        g_cnt->posted++;
        rand_str(s->ufrag, 8);
        rand_str(s->pwd, 24);
        udp_open(s);
        if (s->state != S_FAILED) {
            janus_answer(s);
        }
        return;

    default:                          /* J_START */
        if (!json_is(v, "ack")) {
            goto failed;
        }
        s->next_keepalive_ns = now_ns() + JANUS_KEEPALIVE;
        ice_start(s);
        return;
    }

failed:

    if (getenv("WHEP_LOAD_DEBUG")) {
        fprintf(stderr, "session %d: Janus request %d: HTTP %d: %.300s\n",
                s->idx, s->jstep, status, body);
    }
    session_fail(s, 2);
}


/* ------------------------------------------------------------ ICE, DTLS */

static void
udp_send(session_t *s, const void *buf, size_t len)
{
    if (send(s->udp, buf, len, 0) < 0 && errno != EAGAIN
        && errno != ECONNREFUSED)
    {
        /* nothing: counted as loss if it matters */
    }
}


/* a check: towards nginx (ICE lite) the viewer is controlling and
 * nominates; towards Janus it is controlled */
static void
stun_send(session_t *s, int use_candidate)
{
    uint8_t      buf[512];
    char         user[256];
    StunMessage  msg;
    size_t       len;

    snprintf(user, sizeof(user), "%s:%s", s->r_ufrag, s->ufrag);
    len = stun_usage_ice_conncheck_create(&s->agent, &msg, buf, sizeof(buf),
              (uint8_t *) user, strlen(user), (uint8_t *) s->r_pwd,
              strlen(s->r_pwd), use_candidate, !g_janus, 0x6e0001ff, s->tie,
              NULL, STUN_USAGE_ICE_COMPATIBILITY_RFC5245);
    if (len > 0) {
        udp_send(s, buf, len);
    }
}


static void
udp_open(session_t *s)
{
    int                 fd, one = 1, sz = 4 << 20;
    struct sockaddr_in  a;

    fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        session_fail(s, 3);
        return;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    }
    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    if (g_bind) {
        inet_pton(AF_INET, g_bind, &a.sin_addr);
    } else if (s->peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK)) {
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    if (bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0
        || connect(fd, (struct sockaddr *) &s->peer, sizeof(s->peer)) < 0)
    {
        close(fd);
        session_fail(s, 3);
        return;
    }
    s->udp = fd;
    s->udp_tag.type = 1;
    s->udp_tag.s = s;
    ep_ctl(EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLET, &s->udp_tag);

    stun_agent_init(&s->agent, g_known, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS
                    | STUN_AGENT_USAGE_USE_FINGERPRINT);
    RAND_bytes((uint8_t *) &s->tie, sizeof(s->tie));
    RAND_bytes((uint8_t *) &s->my_ssrc, sizeof(s->my_ssrc));
}


static void dtls_start(session_t *s);


static void
ice_start(session_t *s)
{
    s->state = S_ICE;
    s->stun_tries = 0;
    s->end_at_ns = now_ns() + (uint64_t) g_hold_ms * 1000000;
    stun_send(s, !g_janus);
    s->next_stun_ns = now_ns() + 50000000ull;
    if (s->nominated) {
        /* Janus's nominating check came before the ack of our answer */
        dtls_start(s);
    }
}


static void
dtls_flush(session_t *s)
{
    uint8_t  buf[4096];
    int      n;

    while ((n = BIO_read(s->wbio, buf, sizeof(buf))) > 0) {
        udp_send(s, buf, n);
    }
}


/* Janus drops a ClientHello that arrives before it has handled libnice's
 * selected-pair event, as the first flight often does on loopback: resend
 * after 50 ms, doubling up to OpenSSL's usual 1 s, as a browser would
 * rather than after OpenSSL's fixed 1 s */
static unsigned int
dtls_janus_timer(SSL *ssl, unsigned int timer_us)
{
    if (timer_us == 0) {
        return 50000;
    }
    return timer_us >= 500000 ? 1000000 : timer_us * 2;
}


static void
dtls_start(session_t *s)
{
    s->ssl = SSL_new(g_ctx);
    s->rbio = BIO_new(BIO_s_mem());
    s->wbio = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(s->rbio, -1);
    SSL_set_bio(s->ssl, s->rbio, s->wbio);
    SSL_set_mtu(s->ssl, 1200);
    DTLS_set_link_mtu(s->ssl, 1200);
    if (g_janus) {
        DTLS_set_timer_cb(s->ssl, dtls_janus_timer);
    }
    SSL_set_connect_state(s->ssl);
    s->state = S_DTLS;
    SSL_do_handshake(s->ssl);
    dtls_flush(s);
}


static int
srtp_setup(session_t *s)
{
    SRTP_PROTECTION_PROFILE  *p;
    uint8_t                   m[60], kin[30], kout[30];
    int                       kl = 16, sl;
    srtp_policy_t             pol;
    X509                     *peer;
    unsigned char             md[EVP_MAX_MD_SIZE];
    unsigned int              mdlen, i;
    char                      fp[160], *q;

    p = SSL_get_selected_srtp_profile(s->ssl);
    if (p == NULL) {
        return -1;
    }
    s->srtp_profile = p->id;
    sl = p->id == SRTP_AEAD_AES_128_GCM ? 12 : 14;

    if (s->r_fp[0]) {
        peer = SSL_get1_peer_certificate(s->ssl);
        if (peer == NULL) {
            return -1;
        }
        X509_digest(peer, EVP_sha256(), md, &mdlen);
        X509_free(peer);
        q = fp;
        for (i = 0; i < mdlen; i++) {
            q += sprintf(q, i ? ":%02X" : "%02X", md[i]);
        }
        if (strcasecmp(fp, s->r_fp) != 0) {
            fprintf(stderr, "session %d: server fingerprint mismatch\n",
                    s->idx);
            return -1;
        }
    }

    if (SSL_export_keying_material(s->ssl, m, 2 * (kl + sl),
                                   "EXTRACTOR-dtls_srtp", 19, NULL, 0, 0) != 1)
    {
        return -1;
    }
    /* client key, server key, client salt, server salt */
    memcpy(kout, m, kl);
    memcpy(kin, m + kl, kl);
    memcpy(kout + kl, m + 2 * kl, sl);
    memcpy(kin + kl, m + 2 * kl + sl, sl);

    memset(&pol, 0, sizeof(pol));
    if (p->id == SRTP_AEAD_AES_128_GCM) {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
    } else {
        srtp_crypto_policy_set_rtp_default(&pol.rtp);
        srtp_crypto_policy_set_rtcp_default(&pol.rtcp);
    }
    pol.ssrc.type = ssrc_any_inbound;
    pol.key = kin;
    pol.window_size = 1024;
    if (srtp_create(&s->srtp_in, &pol) != srtp_err_status_ok) {
        return -1;
    }
    pol.ssrc.type = ssrc_any_outbound;
    pol.key = kout;
    pol.allow_repeat_tx = 1;
    if (srtp_create(&s->srtp_out, &pol) != srtp_err_status_ok) {
        return -1;
    }
    return 0;
}


static void
dtls_input(session_t *s, uint8_t *buf, int len)
{
    int  rc;

    BIO_write(s->rbio, buf, len);
    if (s->state != S_DTLS) {
        uint8_t  tmp[2048];

        /* close_notify or alerts after the handshake */
        while (SSL_read(s->ssl, tmp, sizeof(tmp)) > 0) { }
        dtls_flush(s);
        return;
    }
    rc = SSL_do_handshake(s->ssl);
    dtls_flush(s);
    if (rc == 1) {
        if (srtp_setup(s) != 0) {
            session_fail(s, 4);
            return;
        }
        s->state = S_UP;
        s->t_up_ns = now_ns();
        s->end_at_ns = s->t_up_ns + (uint64_t) g_hold_ms * 1000000;
        s->next_rr_ns = s->t_up_ns + 1000000000ull;
        s->next_consent_ns = s->t_up_ns + 5000000000ull;
        g_cnt->up++;
        if (s->srtp_profile == SRTP_AEAD_AES_128_GCM) {
            g_cnt->gcm++;
        }
        g_cnt->last_up_ns = s->t_up_ns;
    } else if (SSL_get_error(s->ssl, rc) != SSL_ERROR_WANT_READ) {
        ERR_clear_error();
        session_fail(s, 4);
    }
}


/* a check from the server (Janus's, as the controlling agent): the reply
 * is signed with our password and carries XOR-MAPPED-ADDRESS; its
 * USE-CANDIDATE nominates the pair, and the DTLS client may start */
static void
stun_reply(session_t *s, StunMessage *req)
{
    uint8_t                  buf[512];
    size_t                   len = sizeof(buf);
    bool                     control = !g_janus;
    StunMessage              msg;
    struct sockaddr_storage  peer;

    memset(&peer, 0, sizeof(peer));
    memcpy(&peer, &s->peer, sizeof(s->peer));
    if (stun_usage_ice_conncheck_create_reply(&s->agent, req, &msg, buf, &len,
            &peer, sizeof(s->peer), &control, s->tie,
            STUN_USAGE_ICE_COMPATIBILITY_RFC5245)
        != STUN_USAGE_ICE_RETURN_SUCCESS)
    {
        return;
    }
    udp_send(s, buf, len);

    if (g_janus && stun_usage_ice_conncheck_use_candidate(req)) {
        s->nominated = 1;
        if (s->state == S_ICE) {
            dtls_start(s);
        }
    }
}


static void
stun_input(session_t *s, uint8_t *buf, int len)
{
    StunMessage                msg;
    StunValidationStatus       v;
    StunDefaultValidaterData   vd[2];
    char                       user[256];

    /* requests to us are signed with our password; responses are checked
     * with the key of the request they answer */
    snprintf(user, sizeof(user), "%s:%s", s->ufrag, s->r_ufrag);
    memset(vd, 0, sizeof(vd));
    vd[0].username = (uint8_t *) user;
    vd[0].username_len = strlen(user);
    vd[0].password = (uint8_t *) s->pwd;
    vd[0].password_len = strlen(s->pwd);

    v = stun_agent_validate(&s->agent, &msg, buf, len,
                            stun_agent_default_validater, vd);
    if (v != STUN_VALIDATION_SUCCESS) {
        return;
    }
    if (stun_message_get_class(&msg) == STUN_REQUEST) {
        stun_reply(s, &msg);
        return;
    }
    if (stun_message_get_class(&msg) != STUN_RESPONSE) {
        return;
    }
    s->ice_ok = 1;
    if (s->state == S_ICE && !g_janus && s->end != E_HALFOPEN) {
        dtls_start(s);
    }
}


/* ------------------------------------------------------------ RTP, RTCP */

static ssrc_t *
ssrc_get(session_t *s, uint32_t ssrc, int pt)
{
    int  i;

    for (i = 0; i < s->n_ss; i++) {
        if (s->ss[i].ssrc == ssrc) {
            return &s->ss[i];
        }
    }
    if (s->n_ss == MAX_SSRC) {
        return NULL;
    }
    memset(&s->ss[i], 0, sizeof(ssrc_t));
    s->ss[i].ssrc = ssrc;
    s->ss[i].kind = pt == s->video_pt ? K_VIDEO : K_AUDIO;
    for (int k = 0; k < s->n_a_ssrc; k++) {
        if (s->a_ssrc[k] == ssrc) {
            s->ss[i].kind = s->a_kind[k];
        }
    }
    s->n_ss++;
    return &s->ss[i];
}


static uint32_t
ext_max(ssrc_t *st)
{
    return st->cycles + st->max_seq;
}


static void
rtcp_send(session_t *s, uint8_t *pkt, int len)
{
    int  n = len;

    if (srtp_protect_rtcp(s->srtp_out, pkt, &n) == srtp_err_status_ok) {
        udp_send(s, pkt, n);
    }
}


static void
send_nack(session_t *s, ssrc_t *st, uint16_t first, int count)
{
    uint8_t   pkt[512];
    int       len = 12, i;
    uint16_t  pid, blp;

    pkt[0] = 0x81;                   /* V=2, FMT=1 generic NACK */
    pkt[1] = 205;
    *(uint32_t *) (pkt + 4) = htonl(s->my_ssrc);
    *(uint32_t *) (pkt + 8) = htonl(st->ssrc);
    for (i = 0; i < count && len < 12 + 4 * 32; ) {
        pid = first + i;
        blp = 0;
        i++;
        while (i < count && (uint16_t) (first + i - pid) <= 16) {
            blp |= 1 << ((uint16_t) (first + i - pid) - 1);
            i++;
        }
        *(uint16_t *) (pkt + len) = htons(pid);
        *(uint16_t *) (pkt + len + 2) = htons(blp);
        len += 4;
    }
    *(uint16_t *) (pkt + 2) = htons(len / 4 - 1);
    rtcp_send(s, pkt, len);
}


/* -N: a NACK for the last packets of the video SSRC, all received */
static void
send_nack_flood(session_t *s)
{
    int     i;
    ssrc_t *st;

    for (i = 0; i < s->n_ss; i++) {
        st = &s->ss[i];
        if (st->kind != K_VIDEO || !st->init) {
            continue;
        }
        send_nack(s, st, (uint16_t) (st->max_seq - g_flood_count + 1),
                  g_flood_count);
        g_cnt->flood_nacks += g_flood_count;
    }
}


static void
send_rr(session_t *s, uint64_t now)
{
    uint8_t   pkt[256];
    int       i, len = 8;
    ssrc_t   *st;
    uint32_t  expected, exp_int, lost;
    uint64_t  rec_int;
    int32_t   lost_int;
    uint8_t   frac;

    pkt[0] = 0x80;
    pkt[1] = 201;
    *(uint32_t *) (pkt + 4) = htonl(s->my_ssrc);
    for (i = 0; i < s->n_ss; i++) {
        st = &s->ss[i];
        expected = ext_max(st) - st->base_ext + 1;
        lost = expected > st->received ? expected - st->received : 0;
        exp_int = expected - st->expected_prior;
        rec_int = st->received - st->received_prior;
        lost_int = (int32_t) exp_int - (int32_t) rec_int;
        frac = (exp_int == 0 || lost_int <= 0) ? 0
               : (uint8_t) ((lost_int << 8) / exp_int);
        st->expected_prior = expected;
        st->received_prior = st->received;

        *(uint32_t *) (pkt + len) = htonl(st->ssrc);
        *(uint32_t *) (pkt + len + 4) = htonl(((uint32_t) frac << 24)
                                             | (lost & 0xffffff));
        *(uint32_t *) (pkt + len + 8) = htonl(ext_max(st));
        *(uint32_t *) (pkt + len + 12) = 0;
        *(uint32_t *) (pkt + len + 16) = htonl(st->lsr);
        *(uint32_t *) (pkt + len + 20) = htonl(st->lsr ? (uint32_t)
                             ((now - st->lsr_at_ns) * 65536 / 1000000000ull)
                             : 0);
        len += 24;
    }
    pkt[0] |= s->n_ss;
    *(uint16_t *) (pkt + 2) = htons(len / 4 - 1);
    rtcp_send(s, pkt, len);
}


static void
h264_join(session_t *s, uint8_t *pl, int plen, uint32_t ext)
{
    int  t, i, n;

    if (plen < 2) {
        return;
    }
    t = pl[0] & 0x1f;
    if (t == 5) {
        goto joined;
    }
    if (t == 24) {
        for (i = 1; i + 2 < plen; i += 2 + n) {
            n = (pl[i] << 8) | pl[i + 1];
            if (n > 0 && i + 2 < plen && (pl[i + 2] & 0x1f) == 5) {
                goto joined;
            }
        }
        return;
    }
    if (t != 28 || (pl[1] & 0x1f) != 5) {
        return;
    }
    if (pl[1] & 0x80) {
        s->idr_started = 1;
        s->idr_ended = 0;
        s->idr_start = ext;
        s->idr_cnt = 0;
    }
    if (!s->idr_started) {
        return;
    }
    s->idr_cnt++;
    if (pl[1] & 0x40) {
        s->idr_ended = 1;
        s->idr_end = ext;
    }
    if (s->idr_ended && s->idr_cnt == s->idr_end - s->idr_start + 1) {
        goto joined;
    }
    return;

joined:
    s->joined = 1;
    g_join[s->idx] = (now_ns() - s->t_post_ns) / 1e6;
    g_cnt->joined++;
}


static void
rtp_input(session_t *s, uint8_t *buf, int len)
{
    uint16_t  seq;
    uint32_t  ssrc, ext;
    int16_t   d;
    ssrc_t   *st;
    int       n, hl, pt, gap = 0, verify;
    uint16_t  gap_first = 0;
    srtp_err_status_t  rc;

    if (len < 12) {
        return;
    }
    if (buf[1] >= 192 && buf[1] <= 223) {
        /* RTCP: sender reports, for LSR */
        g_cnt->rtcp++;
        n = len;
        if (srtp_unprotect_rtcp(s->srtp_in, buf, &n) == srtp_err_status_ok
            && n >= 20 && buf[1] == 200)
        {
            g_cnt->sr++;
            ssrc = ntohl(*(uint32_t *) (buf + 4));
            st = NULL;
            for (int i = 0; i < s->n_ss; i++) {
                if (s->ss[i].ssrc == ssrc) {
                    st = &s->ss[i];
                }
            }
            if (st) {
                st->lsr = (ntohl(*(uint32_t *) (buf + 8)) << 16)
                          | (ntohl(*(uint32_t *) (buf + 12)) >> 16);
                st->lsr_at_ns = now_ns();
            }
        }
        return;
    }

    pt = buf[1] & 0x7f;
    seq = ntohs(*(uint16_t *) (buf + 2));
    ssrc = ntohl(*(uint32_t *) (buf + 8));
    st = ssrc_get(s, ssrc, pt);
    if (st == NULL) {
        return;
    }

    /* sequence check on the clear header */
    if (!st->init) {
        st->init = 1;
        st->max_seq = seq;
        st->base_ext = seq;
        st->cycles = 0;
        st->received = 1;
        st->win[seq % WIN_BITS / 8] |= 1 << (seq % 8);
        ext = seq;
    } else {
        d = (int16_t) (seq - st->max_seq);
        if (d > 0) {
            if (d > 1) {
                gap = d - 1;
                gap_first = st->max_seq + 1;
                g_cnt->gaps += gap;
            }
            for (int k = 1; k < d && k <= WIN_BITS; k++) {
                uint16_t q = st->max_seq + k;
                st->win[q % WIN_BITS / 8] &= ~(1 << (q % 8));
            }
            if (seq < st->max_seq) {
                st->cycles += 65536;
            }
            st->max_seq = seq;
            st->win[seq % WIN_BITS / 8] |= 1 << (seq % 8);
            st->received++;
            ext = ext_max(st);
        } else if (d > -WIN_BITS + 1 && d != 0) {
            if (st->win[seq % WIN_BITS / 8] & (1 << (seq % 8))) {
                g_cnt->dups++;
                return;
            }
            st->win[seq % WIN_BITS / 8] |= 1 << (seq % 8);
            st->received++;
            g_cnt->recovered++;
            ext = ext_max(st) + d;
        } else {
            g_cnt->dups++;
            return;
        }
    }

    g_cnt->packets++;
    g_cnt->bytes += len;
    s->pkt_count++;

    if (gap) {
        gap = gap > NACK_MAX ? NACK_MAX : gap;
        send_nack(s, st, gap_first, gap);
        g_cnt->nacks += gap;
    }

    verify = !s->joined || g_sample <= 1 || s->pkt_count % g_sample == 0;
    if (!verify) {
        return;
    }
    n = len;
    rc = srtp_unprotect(s->srtp_in, buf, &n);
    if (rc != srtp_err_status_ok) {
        /* the first few in full: which packets, and libsrtp2's reason */
        if (g_cnt->auth_fail < 10) {
            fprintf(stderr, "whep-load: SRTP check failed: session %d, "
                    "error %d, ssrc %08x, seq %u (highest %u), %d bytes, "
                    "%s, packet %llu of the session\n",
                    (int) (s - g_sess), (int) rc, ssrc, seq, st->max_seq,
                    len, s->joined ? "joined" : "joining",
                    (unsigned long long) s->pkt_count);
        }
        g_cnt->auth_fail++;
        return;
    }
    g_cnt->auth_ok++;

    if (g_fwd >= 0) {
        /* -F: the clear packet, as received, to the mountpoint's port */
        sendto(g_fwd, buf, n, 0, (struct sockaddr *) &g_fwd_to[st->kind],
               sizeof(g_fwd_to[0]));
    }

    if (s->joined || st->kind != K_VIDEO) {
        return;
    }
    hl = 12 + 4 * (buf[0] & 0x0f);
    if ((buf[0] & 0x10) && hl + 4 <= n) {
        hl += 4 + 4 * ntohs(*(uint16_t *) (buf + hl + 2));
    }
    if (buf[0] & 0x20) {
        n -= buf[n - 1];
    }
    if (hl < n) {
        h264_join(s, buf + hl, n - hl, ext);
    }
}


static void
udp_event(session_t *s)
{
    int              n, i, len;
    uint8_t          b;
    struct cmsghdr  *c;

    for ( ;; ) {
        for (i = 0; i < BATCH; i++) {
            g_msgs[i].msg_hdr.msg_controllen = sizeof(g_cbuf[i]);
        }
        n = recvmmsg(s->udp, g_msgs, BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0) {
            return;
        }
        for (i = 0; i < n; i++) {
            len = g_msgs[i].msg_len;
            if (len <= 0) {
                continue;
            }
            for (c = CMSG_FIRSTHDR(&g_msgs[i].msg_hdr); c;
                 c = CMSG_NXTHDR(&g_msgs[i].msg_hdr, c))
            {
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL)
                {
                    uint32_t d;
                    memcpy(&d, CMSG_DATA(c), 4);
                    if (d > s->drops) {
                        g_cnt->drops += d - s->drops;
                        s->drops = d;
                    }
                }
            }
            b = g_rbuf[i][0];
            if (b < 4) {
                stun_input(s, g_rbuf[i], len);
            } else if (b >= 20 && b <= 63) {
                if (s->ssl) {
                    dtls_input(s, g_rbuf[i], len);
                }
            } else if (b >= 128 && b <= 191 && s->state == S_UP) {
                rtp_input(s, g_rbuf[i], len);
            }
        }
        if (n < BATCH) {
            return;
        }
    }
}


/* ------------------------------------------------------------ timers */

static void
tick(uint64_t now)
{
    int             i;
    session_t      *s;
    struct timeval  tv;

    for (i = 0; i < g_nsess; i++) {
        s = &g_sess[i];
        switch (s->state) {

        case S_IDLE:
            if (s->http_tries && now >= s->next_stun_ns) {
                whep_request(s);
            }
            break;

        case S_ICE:
            if (s->end == E_HALFOPEN && s->ice_ok && now >= s->end_at_ns) {
                churn_end(s, 1);
                break;
            }
            if (now >= s->next_stun_ns) {
                if (++s->stun_tries > 100) {
                    session_fail(s, 4);
                    break;
                }
                stun_send(s, !g_janus);
                s->next_stun_ns = now + 100000000ull;
            }
            break;

        case S_DTLS:
            if (DTLSv1_get_timeout(s->ssl, &tv) && tv.tv_sec == 0
                && tv.tv_usec == 0)
            {
                if (DTLSv1_handle_timeout(s->ssl) < 0) {
                    session_fail(s, 4);
                    break;
                }
                dtls_flush(s);
            }
            break;

        case S_UP:
            if (s->end && now >= s->end_at_ns && !s->deleting) {
                switch (s->end) {
                case E_UP_DELETE:
                    churn_delete(s);
                    break;
                case E_CLOSE:
                    SSL_shutdown(s->ssl);
                    dtls_flush(s);
                    churn_end(s, 1);
                    break;
                default: /* E_SILENT: just stop */
                    churn_end(s, 1);
                }
                break;
            }
            if (now >= s->next_rr_ns) {
                send_rr(s, now);
                s->next_rr_ns += 1000000000ull;
            }
            if (now >= s->next_consent_ns) {
                stun_send(s, 0);
                s->next_consent_ns += 5000000000ull;
            }
            if (g_flood_rate && now >= s->next_flood_ns) {
                send_nack_flood(s);
                s->next_flood_ns = (s->next_flood_ns ? s->next_flood_ns
                                                     : now)
                                   + 1000000000ull / g_flood_rate;
            }
            if (g_janus && now >= s->next_keepalive_ns
                && s->http == H_NONE)
            {
                janus_request(s, J_KEEPALIVE);
                s->next_keepalive_ns = now + JANUS_KEEPALIVE;
            }
            break;
        }
    }
}


/* ------------------------------------------------------------ server stats */

typedef struct {
    double    cpu_s;
    uint64_t  pss_kb;
    uint64_t  rss_kb;
    uint64_t  mem_kb;       /* Private_Dirty + Pss_Shmem: its own memory */
} srv_stat_t;


static void
server_stat(srv_stat_t *r)
{
    char    path[64], buf[4096], *p, *save = NULL, *tok;
    FILE   *f;
    long    tck = sysconf(_SC_CLK_TCK);
    char    pids[1024];

    r->cpu_s = 0;
    r->pss_kb = 0;
    r->rss_kb = 0;
    r->mem_kb = 0;
    if (g_pids == NULL) {
        return;
    }
    snprintf(pids, sizeof(pids), "%s", g_pids);
    for (tok = strtok_r(pids, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save))
    {
        snprintf(path, sizeof(path), "/proc/%s/stat", tok);
        f = fopen(path, "r");
        if (f) {
            if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')'))) {
                unsigned long  ut, st;
                if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
                           "%*u %lu %lu", &ut, &st) == 2)
                {
                    r->cpu_s += (double) (ut + st) / tck;
                }
            }
            fclose(f);
        }
        snprintf(path, sizeof(path), "/proc/%s/smaps_rollup", tok);
        f = fopen(path, "r");
        if (f) {
            while (fgets(buf, sizeof(buf), f)) {
                unsigned long  v;
                if (sscanf(buf, "Pss: %lu", &v) == 1) {
                    r->pss_kb += v;
                } else if (sscanf(buf, "Rss: %lu", &v) == 1) {
                    r->rss_kb += v;
                } else if (sscanf(buf, "Private_Dirty: %lu", &v) == 1
                           || sscanf(buf, "Pss_Shmem: %lu", &v) == 1)
                {
                    r->mem_kb += v;
                }
            }
            fclose(f);
        }
    }
}


/* ------------------------------------------------------------ one process */

static void
on_signal(int sig)
{
    g_stop = 1;
}


static void
worker(int first, int count, double rate, uint64_t t0, uint64_t t_end)
{
    struct epoll_event  evs[256];
    int                 i, n, launched = 0;
    uint64_t            now, next_tick = 0;
    ev_tag_t           *tag;

    srtp_init();
    g_ep = epoll_create1(0);
    g_nsess = count;
    g_sess = calloc(count ? count : 1, sizeof(session_t));
    for (i = 0; i < count; i++) {
        g_sess[i].idx = first + i;
        g_sess[i].tcp = g_sess[i].udp = -1;
        g_sess[i].slot = -1;
        if (g_nends) {
            g_sess[i].end = g_ends[(first + i) % g_nends];
        }
    }
    if (g_nends) {
        g_slots = calloc(g_conc, sizeof(int));
        g_linger = calloc(count, sizeof(*g_linger));
        if (g_slots == NULL || g_linger == NULL) {
            die("out of memory");
        }
        for (i = 0; i < g_conc; i++) {
            g_slots[i] = i;
        }
        g_slot_n = g_conc;
    }
    for (i = 0; i < BATCH; i++) {
        g_iov[i].iov_base = g_rbuf[i];
        g_iov[i].iov_len = PKT_SIZE;
        memset(&g_msgs[i].msg_hdr, 0, sizeof(struct msghdr));
        g_msgs[i].msg_hdr.msg_iov = &g_iov[i];
        g_msgs[i].msg_hdr.msg_iovlen = 1;
        g_msgs[i].msg_hdr.msg_control = g_cbuf[i];
    }

    while (!g_stop) {
        now = now_ns();
        if (now >= t_end) {
            break;
        }
        if (g_nends && launched == count && g_active == 0 && g_nlinger == 0) {
            break;
        }
        while (launched < count
               && (double) (now - t0) / 1e9 * rate >= launched
               && (!g_nends || g_active < g_conc))
        {
            session_t *s = &g_sess[launched++];
            g_cnt->launched++;
            if (g_nends) {
                g_active++;
                if (strstr(g_url.path, "%d")) {
                    s->slot = g_slots[g_slot_head];
                    g_slot_head = (g_slot_head + 1) % g_conc;
                    g_slot_n--;
                }
            }
            if (g_janus) {
                janus_request(s, J_CREATE);
            } else {
                whep_request(s);
            }
        }
        if (!g_cnt->all_up && g_cnt->up + g_cnt->failed >= (uint64_t) count) {
            g_cnt->all_up = 1;
        }
        n = epoll_wait(g_ep, evs, 256, launched < count ? 1 : 5);
        for (i = 0; i < n; i++) {
            tag = evs[i].data.ptr;
            if (tag->type == 0) {
                if (tag->s->tcp >= 0) {
                    http_event(tag->s, evs[i].events);
                }
            } else {
                udp_event(tag->s);
            }
        }
        now = now_ns();
        if (now >= next_tick) {
            int  st[S_DONE + 1] = { 0 };

            for (i = 0; i < count; i++) {
                st[g_sess[i].state]++;
            }
            for (i = 0; i <= S_DONE; i++) {
                g_cnt->in_state[i] = st[i];
            }
            tick(now);
            if (g_nends) {
                churn_linger(now);
            }
            next_tick = now + 10000000ull;
        }
    }

    /* final loss: expected - received over every SSRC */
    for (i = 0; i < count; i++) {
        session_t *s = &g_sess[i];
        for (int k = 0; k < s->n_ss; k++) {
            ssrc_t   *st = &s->ss[k];
            uint32_t  exp = ext_max(st) - st->base_ext + 1;
            g_cnt->expected += exp;
            if (exp > st->received) {
                g_cnt->lost += exp - st->received;
            }
        }
        if (s->state == S_UP && s->ssl && !g_keep) {
            SSL_shutdown(s->ssl);
            dtls_flush(s);
        }
        if (s->end && s->state != S_DONE) {
            /* out of time */
            churn_end(s, 0);
        }
    }
    g_cnt->finished = 1;
}


/* ------------------------------------------------------------ parent */

static int
cmp_float(const void *a, const void *b)
{
    float x = *(const float *) a, y = *(const float *) b;
    return x < y ? -1 : x > y;
}


static double
pct(float *v, int n, double p)
{
    int  i;

    if (n == 0) {
        return -1;
    }
    i = (int) (p / 100.0 * (n - 1) + 0.5);
    return v[i];
}


static void
sum(counters_t *c, int procs, counters_t *t)
{
    int  i, k;

    memset(t, 0, sizeof(*t));
    t->all_up = 1;
    t->finished = 1;
    for (i = 0; i < procs; i++) {
#define S(f) t->f += c[i].f
        S(launched); S(posted); S(up); S(failed); S(joined); S(packets);
        S(bytes); S(rtcp); S(gaps); S(dups); S(nacks); S(recovered);
        S(auth_ok); S(auth_fail); S(drops); S(sr); S(gcm); S(lost);
        S(expected); S(flood_nacks);
#undef S
        for (k = 0; k < 6; k++) {
            t->http_errors[k] += c[i].http_errors[k];
        }
        for (k = 0; k <= S_DONE; k++) {
            t->in_state[k] += c[i].in_state[k];
        }
        for (k = 0; k < E_KINDS; k++) {
            t->end_ok[k] += c[i].end_ok[k];
            t->end_failed[k] += c[i].end_failed[k];
        }
        if (c[i].first_post_ns && (!t->first_post_ns
                                   || c[i].first_post_ns < t->first_post_ns))
        {
            t->first_post_ns = c[i].first_post_ns;
        }
        if (c[i].last_up_ns > t->last_up_ns) {
            t->last_up_ns = c[i].last_up_ns;
        }
        t->all_up &= c[i].all_up;
        t->finished &= c[i].finished;
    }
}


static void
usage(void)
{
    fprintf(stderr,
        "usage: whep-load -u URL [-n sessions] [-r rate] [-d seconds] "
        "[-p processes]\n"
        "                 [-s sample] [-w warmup] [-P pid,...] [-j file] "
        "[-t token] [-B addr] [-k] [-q]\n"
        "                 [-J mountpoint] [-F addr:audio_port:video_port] "
        "[-N rate[:count]]\n"
        "                 [-E end,... [-W] [-c max] [-h ms] [-L ms] [-K ms]]\n");
    exit(64);
}


/* -E delete,up-delete,close,silent,halfopen (any number, any order) */
static void
churn_ends(char *arg)
{
    int    k;
    char  *tok, *save = NULL;

    for (tok = strtok_r(arg, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save))
    {
        for (k = 1; k < E_KINDS; k++) {
            if (strcmp(tok, g_end_name[k]) == 0) {
                break;
            }
        }
        if (k == E_KINDS || g_nends == MAX_ENDS) {
            fprintf(stderr, "whep-load: -E: unknown end \"%s\" or more "
                    "than %d\n", tok, MAX_ENDS);
            usage();
        }
        g_ends[g_nends++] = k;
    }
}


/* the churn summary: how each kind ended */
static int
churn_summary(counters_t *t, double seconds)
{
    int       k, n, all = 0;
    char      out[2048], *p = out, *e = out + sizeof(out);
    uint64_t  ok = 0;

    p += snprintf(p, e - p, "{\"sessions\":%d,\"launched\":%llu,"
                  "\"seconds\":%.2f,\"ends\":{", g_n,
                  (unsigned long long) t->launched, seconds);
    for (k = 1; k < E_KINDS; k++) {
        for (n = 0; n < g_nends && g_ends[n] != k; n++) { /* void */ }
        if (n == g_nends) {
            continue;
        }
        p += snprintf(p, e - p, "%s\"%s\":{\"ok\":%llu,\"failed\":%llu}",
                      all++ ? "," : "", g_end_name[k],
                      (unsigned long long) t->end_ok[k],
                      (unsigned long long) t->end_failed[k]);
        ok += t->end_ok[k];
    }
    snprintf(p, e - p, "},\"ok\":%llu,\"failed\":%llu,"
             "\"http\":{\"409\":%d,\"503\":%d,\"other\":%d,"
             "\"conn\":%d,\"ice_dtls\":%d}}", (unsigned long long) ok,
             (unsigned long long) t->failed, t->http_errors[0],
             t->http_errors[1], t->http_errors[2], t->http_errors[3],
             t->http_errors[4]);

    printf("%s\n", out);
    if (g_json) {
        FILE  *jf = fopen(g_json, "w");

        if (jf) {
            fprintf(jf, "%s\n", out);
            fclose(jf);
        }
    }
    return ok == (uint64_t) g_n ? 0 : 1;
}


/* -F addr:audio_port:video_port */
static void
forward_to(const char *arg)
{
    char  addr[64];
    int   ap, vp, k;

    if (sscanf(arg, "%63[^:]:%d:%d", addr, &ap, &vp) != 3
        || ap <= 0 || ap > 65535 || vp <= 0 || vp > 65535)
    {
        fprintf(stderr, "whep-load: -F wants addr:audio_port:video_port, "
                "not \"%s\"\n", arg);
        usage();
    }
    for (k = 0; k < 2; k++) {
        memset(&g_fwd_to[k], 0, sizeof(g_fwd_to[k]));
        g_fwd_to[k].sin_family = AF_INET;
        g_fwd_to[k].sin_port = htons(k == K_AUDIO ? ap : vp);
        if (inet_pton(AF_INET, addr, &g_fwd_to[k].sin_addr) != 1) {
            fprintf(stderr, "whep-load: -F: bad IPv4 address \"%s\"\n", addr);
            usage();
        }
    }
    g_fwd = socket(AF_INET, SOCK_DGRAM, 0);
    if (g_fwd < 0) {
        die("socket: %s", strerror(errno));
    }
}


int
main(int argc, char **argv)
{
    int            o, i, per, rem, first, nj;
    counters_t    *cnt, t, w0;
    float         *join, *sorted;
    pid_t         *kids;
    uint64_t       t0, t_end, now, last_pkts = 0, last_bytes = 0, w0_ns = 0;
    uint64_t       w1_ns = 0;
    srv_stat_t     s0, s1, sbase, sup;
    int            window = 0, sec = 0;
    struct rlimit  rl;
    FILE          *jf;
    char           out[4096];
    double         setup_s, win_s, us_pkt;
    uint64_t       setup_pkts = 0;

    while ((o = getopt(argc, argv,
                       "u:n:r:d:p:s:w:P:j:t:B:J:F:N:E:c:h:L:K:Wkq"))
           != -1)
    {
        switch (o) {
        case 'u': parse_url(optarg); break;
        case 'n': g_n = atoi(optarg); break;
        case 'r': g_rate = atoi(optarg); break;
        case 'd': g_duration = atof(optarg); break;
        case 'p': g_procs = atoi(optarg); break;
        case 's': g_sample = atoi(optarg); break;
        case 'w': g_warm = atof(optarg); break;
        case 'P': g_pids = optarg; break;
        case 'j': g_json = optarg; break;
        case 't': g_token = optarg; break;
        case 'B': g_bind = optarg; break;
        case 'q': g_quiet = 1; break;
        case 'k': g_keep = 1; break;
        case 'J':
            g_janus = atoi(optarg);
            if (g_janus <= 0) {
                usage();
            }
            break;
        case 'F': forward_to(optarg); break;
        case 'N':
            if (sscanf(optarg, "%d:%d", &g_flood_rate, &g_flood_count) < 1
                || g_flood_rate < 1 || g_flood_rate > 1000
                || g_flood_count < 1 || g_flood_count > 16 * 32)
            {
                usage();
            }
            break;
        case 'E': churn_ends(optarg); break;
        case 'W': g_whip = 1; break;
        case 'c': g_conc = atoi(optarg); break;
        case 'h': g_hold_ms = atoi(optarg); break;
        case 'L': g_linger_ms = atoi(optarg); break;
        case 'K': g_linger_half_ms = atoi(optarg); break;
        default: usage();
        }
    }
    if (g_url.port == 0 || g_n < 1 || g_rate < 1 || g_procs < 1
        || g_duration <= 0)
    {
        usage();
    }
    if (g_fwd >= 0) {
        if (g_n != 1 || g_janus) {
            fprintf(stderr, "whep-load: -F relays one WHEP session: "
                    "use -n 1, without -J\n");
            usage();
        }
        g_sample = 1;
    }
    if (g_procs > g_n) {
        g_procs = g_n;
    }
    if (g_nends && (g_janus || g_fwd >= 0 || g_conc < 1 || g_hold_ms < 0
                    || g_linger_ms < 0 || g_linger_half_ms < 0))
    {
        fprintf(stderr, "whep-load: -E is for WHEP/WHIP, -c >= 1\n");
        usage();
    }
    if (g_nends) {
        /* the free "%d" numbers and the sockets are per process */
        g_procs = 1;
    }
    if (g_whip && !g_nends) {
        fprintf(stderr, "whep-load: -W only with -E\n");
        usage();
    }

    rl.rlim_cur = rl.rlim_max = g_n + 4096;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
        getrlimit(RLIMIT_NOFILE, &rl);
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    make_cert();

    cnt = mmap(NULL, sizeof(counters_t) * g_procs, PROT_READ | PROT_WRITE,
               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    join = mmap(NULL, sizeof(float) * g_n, PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (cnt == MAP_FAILED || join == MAP_FAILED) {
        die("mmap");
    }
    memset(cnt, 0, sizeof(counters_t) * g_procs);
    for (i = 0; i < g_n; i++) {
        join[i] = -1;
    }
    g_join = join;

    server_stat(&sbase);
    t0 = now_ns();
    t_end = t0 + (uint64_t) (g_duration * 1e9);
    kids = calloc(g_procs, sizeof(pid_t));
    per = g_n / g_procs;
    rem = g_n % g_procs;
    first = 0;
    fflush(stdout);
    for (i = 0; i < g_procs; i++) {
        int  cnt_i = per + (i < rem);

        kids[i] = fork();
        if (kids[i] == 0) {
            g_cnt = &cnt[i];
            worker(first, cnt_i, (double) g_rate * cnt_i / g_n, t0, t_end);
            _exit(0);
        }
        first += cnt_i;
    }

    /* the parent: one line per second, window bookkeeping */
    memset(&w0, 0, sizeof(w0));
    memset(&s0, 0, sizeof(s0));
    memset(&s1, 0, sizeof(s1));
    memset(&sup, 0, sizeof(sup));
    for ( ;; ) {
        usleep(20000);
        now = now_ns();
        sum(cnt, g_procs, &t);
        if ((t.finished || g_stop || now >= t_end - 100000000ull)
            && window == 1)
        {
            /* the window closes just before the clients stop */
            window = 2;
            w1_ns = now;
            server_stat(&s1);
            cnt[0].win_packets = t.packets - w0.packets;
            cnt[0].win_bytes = t.bytes - w0.bytes;
            cnt[0].win_gaps = t.gaps - w0.gaps;
        }
        if (t.all_up && sup.cpu_s == 0 && g_pids) {
            /* server CPU spent while the sessions were being set up */
            server_stat(&sup);
            setup_pkts = t.packets;
            if (sup.cpu_s == 0) {
                sup.cpu_s = 1e-9;
            }
        }
        if (!window && t.all_up && now >= t.last_up_ns + g_warm * 1e9
            && now + 1500000000ull < t_end)
        {
            window = 1;
            w0 = t;
            w0_ns = now;
            server_stat(&s0);
        }
        if (t.finished || g_stop) {
            break;
        }
        if (now >= t0 + (uint64_t) (sec + 1) * 1000000000ull) {
            sec++;
            if (!g_quiet) {
                printf("t=%2d up=%llu/%llu failed=%llu joined=%llu pkts/s=%llu "
                       "Mbit/s=%.1f gaps=%llu recovered=%llu drops=%llu "
                       "auth_fail=%llu [http %d ice %d dtls %d]\n", sec,
                       (unsigned long long) t.up, (unsigned long long) g_n,
                       (unsigned long long) t.failed,
                       (unsigned long long) t.joined,
                       (unsigned long long) (t.packets - last_pkts),
                       (t.bytes - last_bytes) * 8 / 1e6,
                       (unsigned long long) t.gaps,
                       (unsigned long long) t.recovered,
                       (unsigned long long) t.drops,
                       (unsigned long long) t.auth_fail,
                       t.in_state[S_SIGNAL], t.in_state[S_ICE],
                       t.in_state[S_DTLS]);
                fflush(stdout);
            }
            last_pkts = t.packets;
            last_bytes = t.bytes;
        }
    }
    for (i = 0; i < g_procs; i++) {
        if (g_stop) {
            /* a signal to the parent alone (kill PID) stops the run too */
            kill(kids[i], SIGTERM);
        }
        waitpid(kids[i], NULL, 0);
    }
    sum(cnt, g_procs, &t);

    if (g_nends) {
        return churn_summary(&t, (now_ns() - t0) / 1e9);
    }

    sorted = malloc(sizeof(float) * g_n);
    nj = 0;
    for (i = 0; i < g_n; i++) {
        if (join[i] >= 0) {
            sorted[nj++] = join[i];
        }
    }
    qsort(sorted, nj, sizeof(float), cmp_float);

    setup_s = t.last_up_ns > t.first_post_ns
              ? (t.last_up_ns - t.first_post_ns) / 1e9 : 0;
    win_s = window == 2 ? (w1_ns - w0_ns) / 1e9 : 0;
    us_pkt = window == 2 && cnt[0].win_packets
             ? (s1.cpu_s - s0.cpu_s) * 1e6 / cnt[0].win_packets : -1;

    snprintf(out, sizeof(out),
        "{\"sessions\":%d,\"sessions_up\":%llu,\"failed\":%llu,"
        "\"packets\":%llu,\"bytes\":%llu,\"lost\":%llu,\"expected\":%llu,"
        "\"gaps\":%llu,\"recovered\":%llu,\"nacks\":%llu,\"dups\":%llu,"
        "\"flood_nacks\":%llu,"
        "\"drops\":%llu,\"auth_ok\":%llu,\"auth_fail\":%llu,\"rtcp\":%llu,"
        "\"srtp_gcm\":%llu,\"joined\":%d,"
        "\"join_ms\":{\"p50\":%.1f,\"p95\":%.1f,\"p99\":%.1f,\"max\":%.1f},"
        "\"setup_s\":%.3f,\"setup_rate\":%.1f,\"setup_cpu_s\":%.3f,"
        "\"setup_packets\":%llu,"
        "\"http\":{\"409\":%d,\"503\":%d,\"other\":%d,\"conn\":%d,"
        "\"ice_dtls\":%d},"
        "\"window\":{\"seconds\":%.2f,\"packets\":%llu,\"bytes\":%llu,\"gaps\":%llu,"
        "\"pkt_rate\":%.0f,\"server_cpu_s\":%.3f,\"server_cpu_pct\":%.1f,"
        "\"us_per_pkt\":%.3f,\"pss_base_kb\":%llu,\"pss_kb\":%llu,"
        "\"rss_base_kb\":%llu,\"rss_kb\":%llu,"
        "\"kb_per_viewer\":%.2f,\"rss_kb_per_viewer\":%.2f,"
        "\"mem_base_kb\":%llu,\"mem_kb\":%llu,\"mem_kb_per_viewer\":%.2f}}",
        g_n, (unsigned long long) t.up, (unsigned long long) t.failed,
        (unsigned long long) t.packets, (unsigned long long) t.bytes,
        (unsigned long long) t.lost, (unsigned long long) t.expected,
        (unsigned long long) t.gaps, (unsigned long long) t.recovered,
        (unsigned long long) t.nacks, (unsigned long long) t.dups,
        (unsigned long long) t.flood_nacks,
        (unsigned long long) t.drops, (unsigned long long) t.auth_ok,
        (unsigned long long) t.auth_fail, (unsigned long long) t.rtcp,
        (unsigned long long) t.gcm, nj,
        pct(sorted, nj, 50), pct(sorted, nj, 95), pct(sorted, nj, 99),
        nj ? sorted[nj - 1] : -1.0,
        setup_s, setup_s > 0 ? t.up / setup_s : 0,
        sup.cpu_s > 0 ? sup.cpu_s - sbase.cpu_s : 0,
        (unsigned long long) setup_pkts,
        t.http_errors[0], t.http_errors[1], t.http_errors[2],
        t.http_errors[3], t.http_errors[4],
        win_s, (unsigned long long) cnt[0].win_packets,
        (unsigned long long) cnt[0].win_bytes,
        (unsigned long long) cnt[0].win_gaps,
        win_s > 0 ? cnt[0].win_packets / win_s : 0,
        window == 2 ? s1.cpu_s - s0.cpu_s : 0,
        win_s > 0 ? (s1.cpu_s - s0.cpu_s) * 100 / win_s : 0,
        us_pkt, (unsigned long long) sbase.pss_kb,
        (unsigned long long) s1.pss_kb,
        (unsigned long long) sbase.rss_kb, (unsigned long long) s1.rss_kb,
        window == 2 && t.up ? ((double) s1.pss_kb - sbase.pss_kb) / t.up : 0,
        window == 2 && t.up ? ((double) s1.rss_kb - sbase.rss_kb) / t.up : 0,
        (unsigned long long) sbase.mem_kb, (unsigned long long) s1.mem_kb,
        window == 2 && t.up ? ((double) s1.mem_kb - sbase.mem_kb) / t.up : 0);

    printf("%s\n", out);
    if (g_json) {
        jf = fopen(g_json, "w");
        if (jf) {
            fprintf(jf, "%s\n", out);
            fclose(jf);
        }
    }
    return t.up == (uint64_t) g_n ? 0 : 1;
}
