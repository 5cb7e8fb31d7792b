
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_http_webrtc.h"
#include "ngx_webrtc_hls.h"


/*
 * GET <location>/<stream>/index.m3u8 and the init segments, parts and
 * segments it names, from the stream's HLS store: any worker answers.
 * A blocking playlist reload (_HLS_msn, _HLS_part) or a part not written
 * yet (the preload hint) waits as a reader of the stream, without holding
 * the worker, for at most three target durations.  Names carry the
 * store's epoch, so that parts and segments never change under a name
 * and caches may keep them.
 */


#define NGX_HTTP_WEBRTC_HLS_PLAYLIST   1
#define NGX_HTTP_WEBRTC_HLS_INIT       2
#define NGX_HTTP_WEBRTC_HLS_SEGMENT    3
#define NGX_HTTP_WEBRTC_HLS_PART       4
#define NGX_HTTP_WEBRTC_HLS_MASTER     5

#define NGX_HTTP_WEBRTC_HLS_PLAYLIST_MAX  (64 * 1024)
#define NGX_HTTP_WEBRTC_HLS_PARTS_SHOWN   3     /* segments with parts */

/* what is asked for is not there yet: the request waits for it */
#define NGX_HTTP_WEBRTC_HLS_WAIT          NGX_BUSY

/* Cache-Control of a response */
#define NGX_HTTP_WEBRTC_HLS_CC_OBJECT     0     /* immutable */
#define NGX_HTTP_WEBRTC_HLS_CC_PLAIN      1     /* a playlist, 1 s */
#define NGX_HTTP_WEBRTC_HLS_CC_BLOCKING   2     /* a blocking reload's */

/* a part or segment goes out through a buffer of this size at most */
#define NGX_HTTP_WEBRTC_HLS_CHUNK         (32 * 1024)


typedef struct {
    ngx_http_request_t         *r;
    ngx_webrtc_stream_t        *st;
    ngx_webrtc_reader_t         reader;
    ngx_event_t                 timer;
    ngx_event_t                 ready;
    ngx_uint_t                  kind;
    uint32_t                    epoch;
    uint32_t                    msn;
    uint32_t                    part;
    ngx_int_t                   status;       /* when the wait ended */

    /* a part or segment being sent: [pos, end) of the store's data */
    ngx_webrtc_hls_t           *hls;
    uint64_t                    pos;
    uint64_t                    end;
    ngx_buf_t                  *chunk;

    /* the store as the last look under the lock saw it */
    ngx_webrtc_hls_t           *seen;
    uint64_t                    seen_parts;
    uint32_t                    seen_segments;
    uint32_t                    seen_gen;
    ngx_uint_t                  seen_refused;
    ngx_uint_t                  seen_ended;

    unsigned                    has_msn:1;
    unsigned                    has_part:1;
    unsigned                    waiting:1;
} ngx_http_webrtc_hls_ctx_t;


static ngx_int_t ngx_http_webrtc_hls_parse(ngx_http_request_t *r,
    ngx_http_webrtc_hls_ctx_t *ctx, ngx_str_t *stream);
static ngx_int_t ngx_http_webrtc_hls_args(ngx_http_request_t *r,
    ngx_http_webrtc_hls_ctx_t *ctx);
static ngx_int_t ngx_http_webrtc_hls_try(ngx_http_webrtc_hls_ctx_t *ctx);
static ngx_int_t ngx_http_webrtc_hls_check_locked(
    ngx_http_webrtc_hls_ctx_t *ctx, ngx_webrtc_hls_t *hls);
static void ngx_http_webrtc_hls_playlist_locked(ngx_buf_t *b,
    ngx_webrtc_hls_t *hls);
static ngx_buf_t *ngx_http_webrtc_hls_master_locked(ngx_http_request_t *r,
    ngx_webrtc_hls_t *hls);
static ngx_int_t ngx_http_webrtc_hls_media(ngx_http_webrtc_hls_ctx_t *ctx,
    ngx_webrtc_hls_t *hls);
static ngx_int_t ngx_http_webrtc_hls_etag(ngx_http_webrtc_hls_ctx_t *ctx);
static ngx_int_t ngx_http_webrtc_hls_fill(ngx_http_webrtc_hls_ctx_t *ctx);
static ngx_int_t ngx_http_webrtc_hls_body(ngx_http_webrtc_hls_ctx_t *ctx,
    ngx_uint_t fresh);
static void ngx_http_webrtc_hls_write(ngx_http_request_t *r);
static ngx_int_t ngx_http_webrtc_hls_cache_control(ngx_http_request_t *r,
    ngx_uint_t cc, time_t max_age);
static ngx_int_t ngx_http_webrtc_hls_send(ngx_http_request_t *r,
    ngx_buf_t *b, ngx_uint_t cc, time_t max_age);
static void ngx_http_webrtc_hls_wake(ngx_webrtc_reader_t *rd,
    ngx_uint_t event);
static void ngx_http_webrtc_hls_timeout(ngx_event_t *ev);
static void ngx_http_webrtc_hls_ready(ngx_event_t *ev);
static void ngx_http_webrtc_hls_unwait(ngx_http_webrtc_hls_ctx_t *ctx);
static void ngx_http_webrtc_hls_cleanup(void *data);


/*
 * The last playlist built in this worker and what it was built from:
 * the waiters a new part wakes together build it once.
 */
typedef struct {
    ngx_webrtc_hls_t           *hls;
    uint32_t                    epoch;
    uint32_t                    nsegments;
    uint64_t                    nparts;
    ngx_uint_t                  ended;
    size_t                      len;
    u_char                      data[NGX_HTTP_WEBRTC_HLS_PLAYLIST_MAX];
} ngx_http_webrtc_hls_last_t;


static ngx_http_webrtc_hls_last_t  *ngx_http_webrtc_hls_last;


static ngx_str_t  ngx_http_webrtc_hls_m3u8 =
    ngx_string("application/vnd.apple.mpegurl");
static ngx_str_t  ngx_http_webrtc_hls_mp4 = ngx_string("video/mp4");


ngx_int_t
ngx_http_webrtc_hls_handler(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_str_t                    stream;
    ngx_pool_cleanup_t          *cln;
    ngx_http_webrtc_hls_ctx_t   *ctx;
    ngx_http_webrtc_loc_conf_t  *wlcf;

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_webrtc_module);

    if (ngx_webrtc_worker == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_webrtc_cors(r, wlcf) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_webrtc_hls_last == NULL) {
        ngx_http_webrtc_hls_last = ngx_calloc(
                                       sizeof(ngx_http_webrtc_hls_last_t),
                                       ngx_cycle->log);
        if (ngx_http_webrtc_hls_last == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_webrtc_hls_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->r = r;

    if (ngx_http_webrtc_hls_parse(r, ctx, &stream) != NGX_OK) {
        return ngx_http_webrtc_error(r, NGX_HTTP_NOT_FOUND, "no such file");
    }

    if (ctx->kind == NGX_HTTP_WEBRTC_HLS_PLAYLIST
        && ngx_http_webrtc_hls_args(r, ctx) != NGX_OK)
    {
        return ngx_http_webrtc_error(r, NGX_HTTP_BAD_REQUEST,
                                     "invalid _HLS_msn or _HLS_part");
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* a stream that does not exist costs nothing: no create */

    ctx->st = ngx_webrtc_stream_acquire(&stream, 0);
    if (ctx->st == NULL) {
        return ngx_http_webrtc_error(r, NGX_HTTP_NOT_FOUND, "no such stream");
    }

    cln->handler = ngx_http_webrtc_hls_cleanup;
    cln->data = ctx;

    rc = ngx_http_webrtc_hls_try(ctx);

    if (rc != NGX_HTTP_WEBRTC_HLS_WAIT) {
        return rc;
    }

    /* wait for the part as a reader of the stream, the time bounded */

    ctx->reader.st = ctx->st;
    ctx->reader.handler = ngx_http_webrtc_hls_wake;
    ctx->reader.data = ctx;

    if (ngx_webrtc_stream_reader_add(&ctx->reader) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->waiting = 1;

    ctx->timer.handler = ngx_http_webrtc_hls_timeout;
    ctx->timer.data = ctx;
    ctx->timer.log = r->connection->log;
    ngx_add_timer(&ctx->timer, 3 * 1000
                               * ((ngx_webrtc_hls_t *) ctx->st->hls)->target);

    ctx->ready.handler = ngx_http_webrtc_hls_ready;
    ctx->ready.data = ctx;
    ctx->ready.log = r->connection->log;

    r->main->count++;

    return NGX_DONE;
}


/* <stream>/index.m3u8, <stream>/<epoch>-init<n>.mp4, -<msn>.m4s, -<msn>.<part>.m4s */

static ngx_int_t
ngx_http_webrtc_hls_parse(ngx_http_request_t *r, ngx_http_webrtc_hls_ctx_t *ctx,
    ngx_str_t *stream)
{
    u_char      *p, *end, *file, *s;
    size_t       len;
    ngx_int_t    n;
    ngx_uint_t   i;

    p = r->uri.data;
    end = r->uri.data + r->uri.len;

    file = end;

    while (file > p && file[-1] != '/') {
        file--;
    }

    if (file == p) {
        return NGX_ERROR;
    }

    s = file - 1;

    while (s > p && s[-1] != '/') {
        s--;
    }

    len = file - 1 - s;

    if (len == 0 || len > NGX_WEBRTC_STREAM_MAX
        || (s[0] == '.' && (len == 1 || (len == 2 && s[1] == '.'))))
    {
        return NGX_ERROR;
    }

    for (i = 0; i < len; i++) {
        if (!((s[i] >= '0' && s[i] <= '9')
              || (s[i] >= 'a' && s[i] <= 'z')
              || (s[i] >= 'A' && s[i] <= 'Z')
              || s[i] == '-' || s[i] == '_' || s[i] == '.'))
        {
            return NGX_ERROR;
        }
    }

    stream->data = s;
    stream->len = len;

    len = end - file;

    if (len == sizeof("index.m3u8") - 1
        && ngx_strncmp(file, "index.m3u8", len) == 0)
    {
        ctx->kind = NGX_HTTP_WEBRTC_HLS_PLAYLIST;
        return NGX_OK;
    }

    if (len == sizeof("master.m3u8") - 1
        && ngx_strncmp(file, "master.m3u8", len) == 0)
    {
        ctx->kind = NGX_HTTP_WEBRTC_HLS_MASTER;
        return NGX_OK;
    }

    /* the epoch: 8 hex digits and a dash */

    if (len < 10 || file[8] != '-') {
        return NGX_ERROR;
    }

    n = ngx_hextoi(file, 8);
    if (n == NGX_ERROR) {
        return NGX_ERROR;
    }

    ctx->epoch = (uint32_t) n;
    file += 9;

    if (end - file >= 9 && ngx_strncmp(file, "init", 4) == 0
        && ngx_strncmp(end - 4, ".mp4", 4) == 0)
    {
        n = ngx_atoi(file + 4, end - 4 - file - 4);
        if (n == NGX_ERROR || n > 0xffffffff) {
            return NGX_ERROR;
        }

        ctx->kind = NGX_HTTP_WEBRTC_HLS_INIT;
        ctx->msn = (uint32_t) n;
        return NGX_OK;
    }

    if (end - file < 5 || ngx_strncmp(end - 4, ".m4s", 4) != 0) {
        return NGX_ERROR;
    }

    end -= 4;

    p = ngx_strlchr(file, end, '.');

    n = ngx_atoi(file, (p ? p : end) - file);
    if (n == NGX_ERROR || n > 0xffffffff) {
        return NGX_ERROR;
    }

    ctx->msn = (uint32_t) n;
    ctx->kind = NGX_HTTP_WEBRTC_HLS_SEGMENT;

    if (p) {
        n = ngx_atoi(p + 1, end - p - 1);
        if (n == NGX_ERROR || n > 0xffff) {
            return NGX_ERROR;
        }

        ctx->part = (uint32_t) n;
        ctx->kind = NGX_HTTP_WEBRTC_HLS_PART;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_webrtc_hls_args(ngx_http_request_t *r, ngx_http_webrtc_hls_ctx_t *ctx)
{
    ngx_int_t  n;
    ngx_str_t  value;

    if (ngx_http_arg(r, (u_char *) "_HLS_msn", 8, &value) == NGX_OK) {
        n = ngx_atoi(value.data, value.len);
        if (n == NGX_ERROR || n > 0xffffffff) {
            return NGX_ERROR;
        }

        ctx->msn = (uint32_t) n;
        ctx->has_msn = 1;
    }

    if (ngx_http_arg(r, (u_char *) "_HLS_part", 9, &value) == NGX_OK) {
        n = ngx_atoi(value.data, value.len);
        if (n == NGX_ERROR || n > 0xffff || !ctx->has_msn) {
            return NGX_ERROR;
        }

        ctx->part = (uint32_t) n;
        ctx->has_part = 1;
    }

    return NGX_OK;
}


/*
 * answers now, or NGX_HTTP_WEBRTC_HLS_WAIT: what was asked for is not
 * there yet (an answer may return NGX_AGAIN: its socket is full)
 */

static ngx_int_t
ngx_http_webrtc_hls_try(ngx_http_webrtc_hls_ctx_t *ctx)
{
    time_t                       max_age;
    ngx_int_t                    rc;
    ngx_buf_t                   *b, pb;
    ngx_http_webrtc_hls_last_t  *last;
    ngx_slab_pool_t             *shpool;
    ngx_webrtc_hls_t            *hls;
    ngx_http_request_t          *r;

    r = ctx->r;
    shpool = ngx_webrtc_worker->shm->shpool;

    ngx_shmtx_lock(&shpool->mutex);

    hls = ctx->st->hls;

    /*
     * until the first part is cut, a playlist would have no segment and
     * no EXT-X-MAP, only the hint: not yet
     */

    if (hls == NULL || (hls->nparts == 0 && !hls->refused)) {
        ngx_shmtx_unlock(&shpool->mutex);

        if (ctx->has_msn && hls) {
            return NGX_HTTP_WEBRTC_HLS_WAIT;
        }

        return ngx_http_webrtc_error(r, NGX_HTTP_NOT_FOUND,
                                     "the stream has no HLS yet");
    }

    if (hls->refused) {
        ngx_shmtx_unlock(&shpool->mutex);
        return ngx_http_webrtc_error(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                     "the stream's video codec cannot be "
                                     "carried in HLS");
    }

    rc = ngx_http_webrtc_hls_check_locked(ctx, hls);

    if (rc != NGX_OK) {
        ngx_shmtx_unlock(&shpool->mutex);

        if (rc == NGX_AGAIN) {
            return NGX_HTTP_WEBRTC_HLS_WAIT;
        }

        return ngx_http_webrtc_error(r, rc,
                                     rc == NGX_HTTP_BAD_REQUEST
                                     ? "too far ahead of the live edge"
                                     : "no such part or segment");
    }

    if (ctx->kind == NGX_HTTP_WEBRTC_HLS_MASTER) {
        b = ngx_http_webrtc_hls_master_locked(r, hls);
        ngx_shmtx_unlock(&shpool->mutex);

        if (b == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_webrtc_hls_send(r, b, NGX_HTTP_WEBRTC_HLS_CC_PLAIN, 0);
    }

    if (ctx->kind != NGX_HTTP_WEBRTC_HLS_PLAYLIST) {
        ngx_shmtx_unlock(&shpool->mutex);
        return ngx_http_webrtc_hls_media(ctx, hls);
    }

    last = ngx_http_webrtc_hls_last;

    if (last->hls != hls || last->epoch != hls->epoch
        || last->nparts != hls->nparts || last->nsegments != hls->nsegments
        || last->ended != hls->ended)
    {
        ngx_memzero(&pb, sizeof(ngx_buf_t));
        pb.pos = last->data;
        pb.last = last->data;
        pb.end = last->data + NGX_HTTP_WEBRTC_HLS_PLAYLIST_MAX;

        ngx_http_webrtc_hls_playlist_locked(&pb, hls);

        last->hls = hls;
        last->epoch = hls->epoch;
        last->nparts = hls->nparts;
        last->nsegments = hls->nsegments;
        last->ended = hls->ended;
        last->len = pb.last - pb.pos;
    }

    max_age = 3 * (time_t) hls->target;

    ngx_shmtx_unlock(&shpool->mutex);

    b = ngx_create_temp_buf(r->pool, last->len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->pos, last->data, last->len);

    return ngx_http_webrtc_hls_send(r, b,
                                    ctx->has_msn
                                    ? NGX_HTTP_WEBRTC_HLS_CC_BLOCKING
                                    : NGX_HTTP_WEBRTC_HLS_CC_PLAIN,
                                    max_age);
}


/* NGX_OK: there; NGX_AGAIN: coming; an HTTP status otherwise */

static ngx_int_t
ngx_http_webrtc_hls_check_locked(ngx_http_webrtc_hls_ctx_t *ctx,
    ngx_webrtc_hls_t *hls)
{
    uint32_t                   cur, done;
    ngx_webrtc_hls_segment_t  *seg;

    cur = hls->nsegments - 1;
    seg = &hls->segments[cur & (NGX_WEBRTC_HLS_SEGMENTS - 1)];
    done = seg->nparts;

    if (ctx->kind == NGX_HTTP_WEBRTC_HLS_INIT) {
        if (ctx->epoch != hls->epoch || ctx->msn >= hls->ninits
            || ctx->msn + NGX_WEBRTC_HLS_INITS < hls->ninits + 1)
        {
            return NGX_HTTP_NOT_FOUND;
        }

        return NGX_OK;
    }

    if (ctx->kind == NGX_HTTP_WEBRTC_HLS_MASTER) {
        return NGX_OK;
    }

    if (ctx->kind == NGX_HTTP_WEBRTC_HLS_PLAYLIST) {
        if (!ctx->has_msn || hls->ended) {
            return NGX_OK;
        }

        if (ctx->msn > cur + 2) {
            return NGX_HTTP_BAD_REQUEST;
        }

        if (ctx->msn < cur) {
            return NGX_OK;
        }

        if (ctx->msn == cur && ctx->has_part && ctx->part < done) {
            return NGX_OK;
        }

        return NGX_AGAIN;
    }

    if (ctx->epoch != hls->epoch || ctx->msn > cur + 1
        || ctx->msn + NGX_WEBRTC_HLS_SEGMENTS / 2 < cur + 1)
    {
        return NGX_HTTP_NOT_FOUND;
    }

    if (ctx->msn < cur) {
        seg = &hls->segments[ctx->msn & (NGX_WEBRTC_HLS_SEGMENTS - 1)];

        if (ctx->kind == NGX_HTTP_WEBRTC_HLS_PART
            && ctx->part >= seg->nparts)
        {
            return NGX_HTTP_NOT_FOUND;
        }

        return NGX_OK;
    }

    if (ctx->msn == cur) {
        if (ctx->kind == NGX_HTTP_WEBRTC_HLS_PART && ctx->part < done) {
            return NGX_OK;
        }

        if (hls->ended) {
            return (ctx->kind == NGX_HTTP_WEBRTC_HLS_SEGMENT && done)
                   ? NGX_OK : NGX_HTTP_NOT_FOUND;
        }

        return (ctx->kind == NGX_HTTP_WEBRTC_HLS_PART
                && ctx->part > done) ? NGX_HTTP_NOT_FOUND : NGX_AGAIN;
    }

    /* the first part of the next segment, hinted before it exists */

    if (hls->ended || ctx->kind != NGX_HTTP_WEBRTC_HLS_PART || ctx->part) {
        return NGX_HTTP_NOT_FOUND;
    }

    return NGX_AGAIN;
}


static void
ngx_http_webrtc_hls_playlist_locked(ngx_buf_t *b, ngx_webrtc_hls_t *hls)
{
    u_char                    *end;
    time_t                     sec;
    uint32_t                   first, msn, cur, init, target;
    uint64_t                   oldest, pn;
    ngx_tm_t                   tm;
    ngx_uint_t                 parts, complete;
    ngx_webrtc_conf_t         *conf;
    ngx_webrtc_hls_part_t     *part;
    ngx_webrtc_hls_segment_t  *seg;

    conf = ngx_webrtc_worker->conf;

    end = b->end - 256;

    cur = hls->nsegments - 1;

    /* the window: whole segments whose parts are all still in the store */

    first = (cur > conf->hls_window) ? cur - conf->hls_window : 0;

    if (first + NGX_WEBRTC_HLS_SEGMENTS / 2 < cur) {
        first = cur - NGX_WEBRTC_HLS_SEGMENTS / 2;
    }

    oldest = (hls->reserved > hls->size) ? hls->reserved - hls->size : 0;

    for ( /* void */ ; first < cur; first++) {
        seg = &hls->segments[first & (NGX_WEBRTC_HLS_SEGMENTS - 1)];

        if (seg->first_part + NGX_WEBRTC_HLS_PARTS > hls->nparts
            && hls->parts[seg->first_part & (NGX_WEBRTC_HLS_PARTS - 1)].pos
               >= oldest)
        {
            break;
        }
    }

    target = hls->target;
    seg = &hls->segments[cur & (NGX_WEBRTC_HLS_SEGMENTS - 1)];
    target = ngx_max(target, (uint32_t) ((seg->duration + 500000) / 1000000));

    /*
     * the first segment's discontinuity sequence number: the count of
     * discontinuities up to it, its own included, as its tag is not
     * listed (a playlist never starts with EXT-X-DISCONTINUITY)
     */

    seg = &hls->segments[first & (NGX_WEBRTC_HLS_SEGMENTS - 1)];

    b->last = ngx_sprintf(b->last,
                          "#EXTM3U\n"
                          "#EXT-X-VERSION:6\n"
                          "#EXT-X-TARGETDURATION:%uD\n"
                          "#EXT-X-PART-INF:PART-TARGET=%.3f\n"
                          "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,"
                          "PART-HOLD-BACK=%.3f\n"
                          "#EXT-X-MEDIA-SEQUENCE:%uD\n"
                          "#EXT-X-DISCONTINUITY-SEQUENCE:%uD\n",
                          target,
                          (double) conf->hls_part / 1000,
                          (double) conf->hls_part * 3 / 1000,
                          first,
                          seg->disc);

    init = (uint32_t) -1;

    for (msn = first; msn <= cur && b->last < end; msn++) {
        seg = &hls->segments[msn & (NGX_WEBRTC_HLS_SEGMENTS - 1)];

        complete = (msn < cur) || (hls->ended && seg->nparts);

        if (msn == cur && seg->nparts == 0) {
            /* nothing of it yet: the hint names its first part */
            break;
        }

        if (seg->discontinuity && msn != first) {
            b->last = ngx_cpymem(b->last, "#EXT-X-DISCONTINUITY\n",
                                 sizeof("#EXT-X-DISCONTINUITY\n") - 1);
        }

        if (seg->init != init) {
            init = seg->init;
            b->last = ngx_sprintf(b->last,
                                  "#EXT-X-MAP:URI=\"%08xD-init%uD.mp4\"\n",
                                  hls->epoch, init);
        }

        sec = (time_t) (seg->pdt / 1000);
        ngx_gmtime(sec, &tm);

        b->last = ngx_sprintf(b->last,
                              "#EXT-X-PROGRAM-DATE-TIME:"
                              "%4d-%02d-%02dT%02d:%02d:%02d.%03dZ\n",
                              tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                              tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec,
                              (int) (seg->pdt % 1000));

        /* parts of the last segments only: older ones are played whole */

        parts = (msn + NGX_HTTP_WEBRTC_HLS_PARTS_SHOWN > cur);

        for (pn = seg->first_part;
             parts && pn < seg->first_part + seg->nparts && b->last < end;
             pn++)
        {
            part = &hls->parts[pn & (NGX_WEBRTC_HLS_PARTS - 1)];

            b->last = ngx_sprintf(b->last,
                                  "#EXT-X-PART:DURATION=%.5f,"
                                  "URI=\"%08xD-%uD.%uD.m4s\"%s\n",
                                  (double) part->duration / 1000000,
                                  hls->epoch, msn, part->part,
                                  part->independent ? ",INDEPENDENT=YES"
                                                    : "");
        }

        if (complete) {
            b->last = ngx_sprintf(b->last, "#EXTINF:%.5f,\n%08xD-%uD.m4s\n",
                                  (double) seg->duration / 1000000,
                                  hls->epoch, msn);
        }
    }

    if (hls->ended) {
        b->last = ngx_cpymem(b->last, "#EXT-X-ENDLIST\n",
                             sizeof("#EXT-X-ENDLIST\n") - 1);

    } else {
        seg = &hls->segments[cur & (NGX_WEBRTC_HLS_SEGMENTS - 1)];

        b->last = ngx_sprintf(b->last,
                              "#EXT-X-PRELOAD-HINT:TYPE=PART,"
                              "URI=\"%08xD-%uD.%uD.m4s\"\n",
                              hls->epoch, cur, seg->nparts);
    }

}


/*
 * The multivariant playlist: one variant, index.m3u8, with the CODECS of
 * the current init segment, its picture size, and the peak and average
 * bit rates of the whole segments still in the store.
 */

static ngx_buf_t *
ngx_http_webrtc_hls_master_locked(ngx_http_request_t *r, ngx_webrtc_hls_t *hls)
{
    uint32_t                   msn, cur;
    uint64_t                   bits, peak, total, us, first, last, oldest;
    ngx_buf_t                 *b;
    ngx_webrtc_hls_init_t     *init;
    ngx_webrtc_hls_segment_t  *seg;

    b = ngx_create_temp_buf(r->pool, 512);
    if (b == NULL) {
        return NULL;
    }

    init = &hls->inits[(hls->ninits - 1) & (NGX_WEBRTC_HLS_INITS - 1)];

    cur = hls->nsegments - 1;
    oldest = (hls->reserved > hls->size) ? hls->reserved - hls->size : 0;
    peak = 0;
    total = 0;
    us = 0;

    for (msn = (cur > 16) ? cur - 16 : 0; msn < cur; msn++) {
        seg = &hls->segments[msn & (NGX_WEBRTC_HLS_SEGMENTS - 1)];

        if (seg->nparts == 0 || seg->duration == 0
            || seg->first_part + NGX_WEBRTC_HLS_PARTS < hls->nparts + 1)
        {
            continue;
        }

        first = hls->parts[seg->first_part & (NGX_WEBRTC_HLS_PARTS - 1)].pos;
        last = seg->first_part + seg->nparts - 1;
        last = hls->parts[last & (NGX_WEBRTC_HLS_PARTS - 1)].pos
               + hls->parts[last & (NGX_WEBRTC_HLS_PARTS - 1)].len;

        if (first < oldest) {
            continue;
        }

        bits = (last - first) * 8;
        peak = ngx_max(peak, bits * 1000000 / seg->duration);
        total += bits;
        us += seg->duration;
    }

    if (peak == 0) {
        /* no whole segment yet: a guess the first ones will correct */
        peak = 2500000;
        total = 2500000;
        us = 1000000;
    }

    b->last = ngx_sprintf(b->last,
                          "#EXTM3U\n"
                          "#EXT-X-VERSION:6\n"
                          "#EXT-X-STREAM-INF:BANDWIDTH=%uL,"
                          "AVERAGE-BANDWIDTH=%uL,CODECS=\"%*s\"",
                          peak, total * 1000000 / us,
                          init->codecs_len, init->codecs);

    if (init->width) {
        b->last = ngx_sprintf(b->last, ",RESOLUTION=%udx%ud",
                              init->width, init->height);
    }

    b->last = ngx_cpymem(b->last, "\nindex.m3u8\n",
                         sizeof("\nindex.m3u8\n") - 1);

    return b;
}


/* an init segment, a part or a whole segment, copied out of the store */

static ngx_int_t
ngx_http_webrtc_hls_media(ngx_http_webrtc_hls_ctx_t *ctx,
    ngx_webrtc_hls_t *hls)
{
    size_t                     len;
    uint64_t                   pos, pn;
    ngx_int_t                  rc;
    ngx_buf_t                 *b;
    ngx_slab_pool_t           *shpool;
    ngx_http_request_t        *r;
    ngx_webrtc_hls_init_t     *init;
    ngx_webrtc_hls_part_t     *first, *last;
    ngx_webrtc_hls_segment_t  *seg;

    r = ctx->r;
    shpool = ngx_webrtc_worker->shm->shpool;

    if (ctx->kind == NGX_HTTP_WEBRTC_HLS_INIT) {
        b = ngx_create_temp_buf(r->pool, NGX_WEBRTC_HLS_INIT_MAX);
        if (b == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_shmtx_lock(&shpool->mutex);

        init = &hls->inits[ctx->msn & (NGX_WEBRTC_HLS_INITS - 1)];

        if (init->id != ctx->msn) {
            ngx_shmtx_unlock(&shpool->mutex);
            return ngx_http_webrtc_error(r, NGX_HTTP_NOT_FOUND,
                                         "no such init segment");
        }

        b->last = ngx_cpymem(b->last, init->data, init->len);

        ngx_shmtx_unlock(&shpool->mutex);

        if (ngx_http_webrtc_hls_etag(ctx) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_webrtc_hls_send(r, b, NGX_HTTP_WEBRTC_HLS_CC_OBJECT, 0);
    }

    ngx_shmtx_lock(&shpool->mutex);

    seg = &hls->segments[ctx->msn & (NGX_WEBRTC_HLS_SEGMENTS - 1)];

    if (ctx->kind == NGX_HTTP_WEBRTC_HLS_PART) {
        pn = seg->first_part + ctx->part;
        first = &hls->parts[pn & (NGX_WEBRTC_HLS_PARTS - 1)];
        last = first;

    } else {
        pn = seg->first_part;
        first = &hls->parts[pn & (NGX_WEBRTC_HLS_PARTS - 1)];
        last = &hls->parts[(pn + seg->nparts - 1) & (NGX_WEBRTC_HLS_PARTS - 1)];
    }

    if (seg->msn != ctx->msn || pn + NGX_WEBRTC_HLS_PARTS < hls->nparts + 1
        || first->msn != ctx->msn)
    {
        ngx_shmtx_unlock(&shpool->mutex);
        return ngx_http_webrtc_error(r, NGX_HTTP_NOT_FOUND,
                                     "no longer here");
    }

    pos = first->pos;
    len = (size_t) (last->pos + last->len - pos);

    ngx_shmtx_unlock(&shpool->mutex);

    /*
     * a segment is megabytes: it goes out a chunk at a time, each copied
     * when the one before has left, so that a thousand requests for old
     * segments cost a thousand chunks, not a thousand segments
     */

    b = ngx_create_temp_buf(r->pool, ngx_min(len, NGX_HTTP_WEBRTC_HLS_CHUNK));
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->hls = hls;
    ctx->pos = pos;
    ctx->end = pos + len;
    ctx->chunk = b;

    if (ngx_http_webrtc_hls_fill(ctx) != NGX_OK) {
        return ngx_http_webrtc_error(r, NGX_HTTP_NOT_FOUND,
                                     "no longer here");
    }

    if (ngx_http_webrtc_hls_etag(ctx) != NGX_OK
        || ngx_http_webrtc_hls_cache_control(r, NGX_HTTP_WEBRTC_HLS_CC_OBJECT, 0)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_type = ngx_http_webrtc_hls_mp4;
    r->headers_out.content_type_len = ngx_http_webrtc_hls_mp4.len;
    r->headers_out.content_length_n = len;

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_webrtc_module);

    return ngx_http_webrtc_hls_body(ctx, 1);
}


/* the next chunk into the buffer; NGX_DECLINED: overwritten meanwhile */

static ngx_int_t
ngx_http_webrtc_hls_fill(ngx_http_webrtc_hls_ctx_t *ctx)
{
    size_t      n;
    ngx_buf_t  *b;

    b = ctx->chunk;
    n = (size_t) ngx_min(ctx->end - ctx->pos, (uint64_t) (b->end - b->start));

    if (ngx_webrtc_hls_copy(ctx->hls, ctx->pos, n, b->start) != NGX_OK) {
        return NGX_DECLINED;
    }

    ctx->pos += n;

    b->pos = b->start;
    b->last = b->start + n;
    b->last_in_chain = (ctx->pos == ctx->end);
    b->last_buf = b->last_in_chain && ctx->r == ctx->r->main;

    return NGX_OK;
}


/*
 * hands chunks to the filters while the last one left at once; else
 * waits for the connection to be writable: NGX_DONE, with a reference
 * on the request that the caller's finalization drops
 */

static ngx_int_t
ngx_http_webrtc_hls_body(ngx_http_webrtc_hls_ctx_t *ctx, ngx_uint_t fresh)
{
    ngx_int_t                  rc;
    ngx_chain_t                out;
    ngx_event_t               *wev;
    ngx_http_request_t        *r;
    ngx_http_core_loc_conf_t  *clcf;

    r = ctx->r;

    for ( ;; ) {
        out.buf = ctx->chunk;
        out.next = NULL;

        rc = ngx_http_output_filter(r, fresh ? &out : NULL);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (ngx_buf_size(ctx->chunk) != 0) {
            break;
        }

        if (ctx->pos == ctx->end) {
            /* the rest, if buffered below, is nginx's writer's to send */
            return rc;
        }

        if (ngx_http_webrtc_hls_fill(ctx) != NGX_OK) {
            /* the length is sent: a short response must end the connection */
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "webrtc: HLS object overwritten while it was "
                          "sent: the client reads too slowly");
            return NGX_ERROR;
        }

        fresh = 1;
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    wev = r->connection->write;

    r->write_event_handler = ngx_http_webrtc_hls_write;

    if (!wev->delayed) {
        ngx_add_timer(wev, clcf->send_timeout);
    }

    if (ngx_handle_write_event(wev, clcf->send_lowat) != NGX_OK) {
        return NGX_ERROR;
    }

    r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_webrtc_hls_write(ngx_http_request_t *r)
{
    ngx_event_t                *wev;
    ngx_http_webrtc_hls_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_webrtc_module);
    wev = r->connection->write;

    if (wev->timedout) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, NGX_ETIMEDOUT,
                      "client timed out");
        r->connection->timedout = 1;
        ngx_http_finalize_request(r, NGX_HTTP_REQUEST_TIME_OUT);
        return;
    }

    if (wev->delayed || r->aio) {
        return;
    }

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    ngx_http_finalize_request(r, ngx_http_webrtc_hls_body(ctx, 0));
}


/*
 * The name is the version (the bytes under a name never change): an ETag
 * of it lets a player or a cache revalidate with If-None-Match and get a
 * 304 from the not-modified filter.
 */

static ngx_int_t
ngx_http_webrtc_hls_etag(ngx_http_webrtc_hls_ctx_t *ctx)
{
    u_char              *p;
    ngx_table_elt_t     *h;
    ngx_http_request_t  *r;

    r = ctx->r;

    p = ngx_pnalloc(r->pool, sizeof("\"ffffffff-init4294967295.65535\""));
    if (p == NULL) {
        return NGX_ERROR;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "ETag");
    h->value.data = p;

    p = ngx_sprintf(p, "\"%08xD-%s%uD", ctx->epoch,
                    ctx->kind == NGX_HTTP_WEBRTC_HLS_INIT ? "init" : "",
                    ctx->msn);

    if (ctx->kind == NGX_HTTP_WEBRTC_HLS_PART) {
        p = ngx_sprintf(p, ".%uD", ctx->part);
    }

    *p++ = '"';
    h->value.len = p - h->value.data;

#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    r->headers_out.etag = h;

    return NGX_OK;
}


static ngx_int_t
ngx_http_webrtc_hls_send(ngx_http_request_t *r, ngx_buf_t *b,
    ngx_uint_t cc, time_t max_age)
{
    if (ngx_http_webrtc_hls_cache_control(r, cc, max_age) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_webrtc_send(r, NGX_HTTP_OK,
                                cc == NGX_HTTP_WEBRTC_HLS_CC_OBJECT
                                ? &ngx_http_webrtc_hls_mp4
                                : &ngx_http_webrtc_hls_m3u8, b);
}


static ngx_int_t
ngx_http_webrtc_hls_cache_control(ngx_http_request_t *r, ngx_uint_t cc,
    time_t max_age)
{
    ngx_str_t  value;

    switch (cc) {

    case NGX_HTTP_WEBRTC_HLS_CC_PLAIN:
        /*
         * a cache that holds an expired playlist may hand it out for 2 s
         * more while one request fetches the new one (RFC 5861), so that
         * players arriving together at an expired entry cost the origin
         * one request, not one each
         */
        ngx_str_set(&value, "max-age=1, stale-while-revalidate=2");
        break;

    case NGX_HTTP_WEBRTC_HLS_CC_BLOCKING:
        /* its URL names the part it waited for: it stays right */
        value.data = ngx_pnalloc(r->pool, sizeof("max-age=") + NGX_TIME_T_LEN);
        if (value.data == NULL) {
            return NGX_ERROR;
        }

        value.len = ngx_sprintf(value.data, "max-age=%T", max_age)
                    - value.data;
        break;

    default: /* NGX_HTTP_WEBRTC_HLS_CC_OBJECT */
        /* names never come back with other bytes: the epoch is in them */
        ngx_str_set(&value, "max-age=86400, immutable");
    }

    return ngx_http_webrtc_add_header(r, "Cache-Control", &value);
}


/* the stream moved: what we wait for may be there */

static void
ngx_http_webrtc_hls_wake(ngx_webrtc_reader_t *rd, ngx_uint_t event)
{
    ngx_int_t                   rc;
    ngx_slab_pool_t            *shpool;
    ngx_webrtc_hls_t           *hls;
    ngx_http_webrtc_hls_ctx_t  *ctx;

    ctx = rd->data;

    if (!ctx->waiting || ctx->ready.posted) {
        return;
    }

    if (event == NGX_WEBRTC_READ_SHUTDOWN) {
        ctx->status = NGX_HTTP_SERVICE_UNAVAILABLE;
        goto done;
    }

    /*
     * every packet of the stream wakes its readers, but only a new part,
     * segment or packager can end a wait: those are looked at without
     * the zone's lock (word reads; a change missed now is seen at the
     * next packet), so that a thousand waiters do not take the lock a
     * thousand times a packet
     */

    hls = ctx->st->hls;

    if (hls == ctx->seen && hls != NULL
        && hls->nparts == ctx->seen_parts
        && hls->nsegments == ctx->seen_segments
        && hls->gen == ctx->seen_gen
        && hls->refused == ctx->seen_refused
        && hls->ended == ctx->seen_ended)
    {
        ngx_webrtc_stream_rearm(rd);
        return;
    }

    shpool = ngx_webrtc_worker->shm->shpool;

    ngx_shmtx_lock(&shpool->mutex);

    hls = ctx->st->hls;
    rc = NGX_AGAIN;

    if (hls && (hls->nsegments || hls->refused)) {
        rc = hls->refused ? NGX_OK : ngx_http_webrtc_hls_check_locked(ctx, hls);
    }

    if (hls) {
        ctx->seen = hls;
        ctx->seen_parts = hls->nparts;
        ctx->seen_segments = hls->nsegments;
        ctx->seen_gen = hls->gen;
        ctx->seen_refused = hls->refused;
        ctx->seen_ended = hls->ended;
    }

    ngx_shmtx_unlock(&shpool->mutex);

    if (rc == NGX_AGAIN) {
        ngx_webrtc_stream_rearm(rd);
        return;
    }

    ctx->status = NGX_OK;

done:

    /* answered from the posted event, not from inside the stream's walk */
    ngx_post_event(&ctx->ready, &ngx_posted_events);
}


static void
ngx_http_webrtc_hls_timeout(ngx_event_t *ev)
{
    ngx_http_webrtc_hls_ctx_t  *ctx;

    ctx = ev->data;

    ngx_http_webrtc_hls_unwait(ctx);

    ngx_http_finalize_request(ctx->r,
                              ngx_http_webrtc_error(ctx->r,
                                  NGX_HTTP_SERVICE_UNAVAILABLE,
                                  "not there in time"));
}


static void
ngx_http_webrtc_hls_ready(ngx_event_t *ev)
{
    ngx_int_t                   rc;
    ngx_http_webrtc_hls_ctx_t  *ctx;

    ctx = ev->data;

    ngx_http_webrtc_hls_unwait(ctx);

    if (ctx->status != NGX_OK) {
        rc = ngx_http_webrtc_error(ctx->r, ctx->status, "shutting down");

    } else {
        rc = ngx_http_webrtc_hls_try(ctx);

        if (rc == NGX_HTTP_WEBRTC_HLS_WAIT) {
            rc = ngx_http_webrtc_error(ctx->r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                       "not there");
        }
    }

    ngx_http_finalize_request(ctx->r, rc);
}


static void
ngx_http_webrtc_hls_unwait(ngx_http_webrtc_hls_ctx_t *ctx)
{
    if (!ctx->waiting) {
        return;
    }

    ctx->waiting = 0;

    ngx_webrtc_stream_reader_del(&ctx->reader);

    if (ctx->timer.timer_set) {
        ngx_del_timer(&ctx->timer);
    }

    if (ctx->ready.posted) {
        ngx_delete_posted_event(&ctx->ready);
    }
}


static void
ngx_http_webrtc_hls_cleanup(void *data)
{
    ngx_http_webrtc_hls_ctx_t  *ctx = data;

    ngx_http_webrtc_hls_unwait(ctx);

    if (ctx->st) {
        ngx_webrtc_stream_release(ctx->st);
        ctx->st = NULL;
    }
}
