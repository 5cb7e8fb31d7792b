/*
 * hls-wait: N LL-HLS players blocked on the same coming part of one
 * stream, as many rounds as asked; for each round, how long after the
 * first player the others got their playlist.
 *
 *   hls-wait -u 127.0.0.1:18080 -s bench [-n 1000] [-r 10] [-a 2] [-j out.json]
 *
 * A round: GET <stream>/index.m3u8 for the preload hint (msn M, part P),
 * then N connections, each GET index.m3u8?_HLS_msn=M&_HLS_part=P+a (a
 * parts ahead, so that every request is in before the part is), all held
 * by the server until the part exists.  The first response marks the
 * part's completion; each player's delay is its response's last byte
 * minus the first response's.  A round in which the first response came
 * less than 20 ms after the last request was written is not counted (the
 * part was there before everybody asked).  One epoll loop, non-blocking
 * sockets, CLOCK_MONOTONIC; a round gives up after 10 s.
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>


typedef struct {
    int      fd;
    int      sent;
    int      done;
    int      status;
    size_t   len;
    double   t_done;
    char     buf[512];      /* the start of the response: status line */
} player_t;


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static int
cmp_double(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return (x > y) - (x < y);
}


/* a plain blocking GET; the body in buf (NUL-terminated), the status */

static int
get(struct sockaddr_in *sa, const char *path, char *buf, size_t size)
{
    int      fd, status;
    char     req[512];
    size_t   len;
    ssize_t  n;

    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *) sa, sizeof(*sa)) < 0) {
        perror("connect");
        exit(1);
    }

    n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: bench\r\n"
                 "Connection: close\r\n\r\n", path);
    if (write(fd, req, n) != n) {
        perror("write");
        exit(1);
    }

    len = 0;
    while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0) {
        len += n;
    }

    buf[len] = '\0';
    close(fd);

    status = 0;
    sscanf(buf, "HTTP/1.%*d %d", &status);
    return status;
}


int
main(int argc, char **argv)
{
    int                  c, n, rounds, ahead, ep, i, r, pending, nev;
    int                  counted, invalid, bad, hint_msn, hint_part;
    char                *addr, *stream, *json, *p, host[64], path[512];
    char                 req[512];
    FILE                *out;
    double               t0, t_sent, first, *delays, *all;
    size_t               nall, reqlen;
    player_t            *pl;
    struct epoll_event   ev, evs[256];
    struct sockaddr_in   sa;
    static char          page[65536];

    addr = "127.0.0.1:18080";
    stream = "bench";
    json = NULL;
    n = 1000;
    rounds = 10;
    ahead = 2;

    while ((c = getopt(argc, argv, "u:s:n:r:a:j:")) != -1) {
        switch (c) {
        case 'u': addr = optarg; break;
        case 's': stream = optarg; break;
        case 'n': n = atoi(optarg); break;
        case 'r': rounds = atoi(optarg); break;
        case 'a': ahead = atoi(optarg); break;
        case 'j': json = optarg; break;
        default:
            fprintf(stderr, "usage: hls-wait -u host:port -s stream "
                    "[-n players] [-r rounds] [-a parts ahead] [-j json]\n");
            return 2;
        }
    }

    p = strchr(addr, ':');
    if (p == NULL || (size_t) (p - addr) >= sizeof(host)) {
        fprintf(stderr, "hls-wait: -u host:port\n");
        return 2;
    }

    memcpy(host, addr, p - addr);
    host[p - addr] = '\0';

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(atoi(p + 1));
    inet_pton(AF_INET, host, &sa.sin_addr);

    pl = calloc(n, sizeof(player_t));
    delays = calloc(n, sizeof(double));
    all = calloc((size_t) n * rounds, sizeof(double));
    if (pl == NULL || delays == NULL || all == NULL) {
        return 1;
    }

    ep = epoll_create1(0);
    nall = 0;
    counted = 0;
    invalid = 0;
    bad = 0;

    out = json ? fopen(json, "w") : NULL;
    if (json && out == NULL) {
        perror(json);
        return 1;
    }

    if (out) {
        fprintf(out, "{\"players\": %d, \"ahead\": %d, \"rounds\": [", n,
                ahead);
    }

    for (r = 0; r < rounds; r++) {
        snprintf(path, sizeof(path), "/hls/%s/index.m3u8", stream);

        if (get(&sa, path, page, sizeof(page)) != 200
            || (p = strstr(page, "#EXT-X-PRELOAD-HINT:")) == NULL
            || (p = strstr(p, "URI=\"")) == NULL
            || sscanf(p + 5, "%*8x-%d.%d.m4s", &hint_msn, &hint_part) != 2)
        {
            fprintf(stderr, "hls-wait: no preload hint in %s:\n%.300s\n",
                    path, page);
            return 1;
        }

        reqlen = snprintf(req, sizeof(req),
                          "GET /hls/%s/index.m3u8?_HLS_msn=%d&_HLS_part=%d "
                          "HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n",
                          stream, hint_msn, hint_part + ahead);

        memset(pl, 0, n * sizeof(player_t));

        for (i = 0; i < n; i++) {
            pl[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            if (pl[i].fd < 0) {
                perror("socket");
                return 1;
            }

            if (connect(pl[i].fd, (struct sockaddr *) &sa, sizeof(sa)) < 0
                && errno != EINPROGRESS)
            {
                perror("connect");
                return 1;
            }

            ev.events = EPOLLOUT | EPOLLIN;
            ev.data.u32 = i;
            epoll_ctl(ep, EPOLL_CTL_ADD, pl[i].fd, &ev);
        }

        t0 = now();
        t_sent = t0;
        pending = n;

        while (pending && now() - t0 < 10) {
            nev = epoll_wait(ep, evs, 256, 100);

            for (c = 0; c < nev; c++) {
                player_t  *q = &pl[evs[c].data.u32];
                ssize_t    k;
                char       tmp[16384];

                if (!q->sent && (evs[c].events & EPOLLOUT)) {
                    if (write(q->fd, req, reqlen) != (ssize_t) reqlen) {
                        q->done = 1;
                        q->status = 599;
                        epoll_ctl(ep, EPOLL_CTL_DEL, q->fd, NULL);
                        pending--;
                        continue;
                    }

                    q->sent = 1;
                    t_sent = now();
                    ev.events = EPOLLIN;
                    ev.data.u32 = evs[c].data.u32;
                    epoll_ctl(ep, EPOLL_CTL_MOD, q->fd, &ev);
                    continue;
                }

                if (q->done) {
                    continue;
                }

                while ((k = read(q->fd, tmp, sizeof(tmp))) > 0) {
                    if (q->len < sizeof(q->buf) - 1) {
                        size_t  m = sizeof(q->buf) - 1 - q->len;
                        memcpy(q->buf + q->len, tmp, (size_t) k < m ? (size_t) k : m);
                    }
                    q->len += k;
                }

                if (k == 0 || (k < 0 && errno != EAGAIN)) {
                    q->done = 1;
                    q->t_done = now();
                    sscanf(q->buf, "HTTP/1.%*d %d", &q->status);
                    epoll_ctl(ep, EPOLL_CTL_DEL, q->fd, NULL);
                    pending--;
                }
            }
        }

        first = 1e18;

        for (i = 0; i < n; i++) {
            close(pl[i].fd);
            if (pl[i].done && pl[i].status == 200 && pl[i].t_done < first) {
                first = pl[i].t_done;
            }
        }

        int     ok = 0, rb = 0;
        double  ms_after;

        for (i = 0; i < n; i++) {
            if (pl[i].done && pl[i].status == 200) {
                delays[ok++] = (pl[i].t_done - first) * 1000;
            } else {
                rb++;
            }
        }

        ms_after = (first - t_sent) * 1000;
        qsort(delays, ok, sizeof(double), cmp_double);

        int  valid = (ok > 0 && ms_after >= 20);

        printf("round %d: part %d.%d, %d x 200, %d other, first %.1f ms "
               "after the last request; delay p50 %.2f p99 %.2f max %.2f ms%s\n",
               r + 1, hint_msn, hint_part + ahead, ok, rb, ms_after,
               ok ? delays[ok / 2] : 0, ok ? delays[(ok * 99) / 100] : 0,
               ok ? delays[ok - 1] : 0, valid ? "" : " (not counted)");
        fflush(stdout);

        if (out) {
            fprintf(out, "%s{\"ok\": %d, \"other\": %d, \"after_ms\": %.2f, "
                    "\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, "
                    "\"counted\": %s}", r ? ", " : "", ok, rb, ms_after,
                    ok ? delays[ok / 2] : 0, ok ? delays[(ok * 99) / 100] : 0,
                    ok ? delays[ok - 1] : 0, valid ? "true" : "false");
        }

        if (!valid) {
            invalid++;
            continue;
        }

        counted++;
        bad += rb;
        memcpy(all + nall, delays, ok * sizeof(double));
        nall += ok;

        /* the next round on a new part */
        usleep(100000);
    }

    qsort(all, nall, sizeof(double), cmp_double);

    printf("all %d rounds counted (%d not): %zu responses, %d not 200; "
           "delay after the first: p50 %.2f p99 %.2f max %.2f ms\n",
           counted, invalid, nall, bad,
           nall ? all[nall / 2] : 0, nall ? all[(nall * 99) / 100] : 0,
           nall ? all[nall - 1] : 0);

    if (out) {
        fprintf(out, "], \"counted\": %d, \"responses\": %zu, \"other\": %d, "
                "\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f}\n",
                counted, nall, bad, nall ? all[nall / 2] : 0,
                nall ? all[(nall * 99) / 100] : 0, nall ? all[nall - 1] : 0);
        fclose(out);
    }

    return counted ? 0 : 1;
}
