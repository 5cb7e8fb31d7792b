
/*
 * Copyright (C) nginx WebRTC module authors
 */


#include "ngx_http_webrtc.h"
#include "ngx_webrtc_worker.h"


static void *ngx_http_webrtc_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_webrtc_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_webrtc_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_webrtc_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_webrtc_listen(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_webrtc_handler_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_webrtc_ice_server(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_webrtc_pull(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_webrtc_notify(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_webrtc_push(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_webrtc_peer_token(ngx_conf_t *cf, ngx_str_t *value,
    ngx_webrtc_http_peer_t *peer);
static char *ngx_http_webrtc_video_codecs(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_webrtc_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_webrtc_init_process(ngx_cycle_t *cycle);
static void ngx_http_webrtc_exit_process(ngx_cycle_t *cycle);
static char *ngx_http_webrtc_consent_bound(ngx_conf_t *cf, void *post,
    void *data);


/*
 * RFC 7675 clients send consent checks every 5 s on average (4-6 s), and
 * some (libjuice, used by OBS) only every few seconds: a shorter timeout
 * ends live sessions between two checks.
 */
#define NGX_HTTP_WEBRTC_CONSENT_MIN  10000


static ngx_conf_post_t  ngx_http_webrtc_consent_post = {
    ngx_http_webrtc_consent_bound
};

static ngx_conf_num_bounds_t  ngx_http_webrtc_sdp_size_bounds = {
    ngx_conf_check_num_bounds, 1024, 1024 * 1024
};

static ngx_conf_num_bounds_t  ngx_http_webrtc_percent_bounds = {
    ngx_conf_check_num_bounds, 0, 100
};

static ngx_conf_num_bounds_t  ngx_http_webrtc_message_bounds = {
    ngx_conf_check_num_bounds, 1, NGX_WEBRTC_DC_MESSAGE_MAX
};

static ngx_conf_enum_t  ngx_http_webrtc_dc_viewers[] = {
    { ngx_string("off"), NGX_WEBRTC_DC_OFF },
    { ngx_string("publisher"), NGX_WEBRTC_DC_PUBLISHER },
    { ngx_string("all"), NGX_WEBRTC_DC_ALL },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_webrtc_commands[] = {

    { ngx_string("webrtc_listen"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_webrtc_listen,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webrtc_candidate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_array_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_webrtc_conf_t, candidates),
      NULL },

    { ngx_string("webrtc_ice_tcp"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_webrtc_conf_t, ice_tcp),
      NULL },

    { ngx_string("webrtc_zone_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_webrtc_conf_t, zone_size),
      NULL },

    { ngx_string("webrtc_setup_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_webrtc_conf_t, setup_timeout),
      NULL },

    { ngx_string("webrtc_consent_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_webrtc_conf_t, consent_timeout),
      &ngx_http_webrtc_consent_post },

    { ngx_string("webrtc_takeover_idle"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_webrtc_conf_t, takeover_idle),
      NULL },

    { ngx_string("webrtc_rtcp_interval"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_webrtc_conf_t, rtcp_interval),
      NULL },

    { ngx_string("webrtc_max_viewers_total"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_webrtc_conf_t, max_viewers_total),
      NULL },

    { ngx_string("webrtc_debug_drop"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_webrtc_conf_t, debug_drop),
      &ngx_http_webrtc_percent_bounds },

    { ngx_string("webrtc_viewers_follow"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webrtc_loc_conf_t, viewers_follow),
      NULL },

    { ngx_string("webrtc_whip"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_webrtc_handler_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_WEBRTC_WHIP,
      NULL },

    { ngx_string("webrtc_whep"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_webrtc_handler_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_WEBRTC_WHEP,
      NULL },

    { ngx_string("webrtc_hls"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_webrtc_handler_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_WEBRTC_HLS,
      NULL },

    { ngx_string("webrtc_hls_fragment"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_webrtc_conf_t, hls_fragment),
      NULL },

    { ngx_string("webrtc_hls_part"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_webrtc_conf_t, hls_part),
      NULL },

    { ngx_string("webrtc_hls_window"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_webrtc_conf_t, hls_window),
      NULL },

    { ngx_string("webrtc_hls_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_webrtc_conf_t, hls_size),
      NULL },

    { ngx_string("webrtc_max_viewers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webrtc_loc_conf_t, max_viewers),
      NULL },

    { ngx_string("webrtc_retry_after"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webrtc_loc_conf_t, retry_after),
      NULL },

    { ngx_string("webrtc_events"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_webrtc_handler_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_WEBRTC_EVENTS,
      NULL },

    { ngx_string("webrtc_pull"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_webrtc_pull,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webrtc_push"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_webrtc_push,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webrtc_notify"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_webrtc_notify,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webrtc_pull_idle"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webrtc_loc_conf_t, pull_idle),
      NULL },

    { ngx_string("webrtc_cascade_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webrtc_loc_conf_t, cascade_timeout),
      NULL },

    { ngx_string("webrtc_record"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webrtc_loc_conf_t, record),
      NULL },

    { ngx_string("webrtc_events_url"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webrtc_loc_conf_t, events_url),
      NULL },

    { ngx_string("webrtc_data_from_viewers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webrtc_loc_conf_t, dc_viewers),
      &ngx_http_webrtc_dc_viewers },

    { ngx_string("webrtc_data_max_message"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_webrtc_conf_t, dc_max_message),
      &ngx_http_webrtc_message_bounds },

    { ngx_string("webrtc_events_max_clients"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_webrtc_conf_t, events_max),
      NULL },

    { ngx_string("webrtc_data_max_buffered"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_webrtc_conf_t, dc_max_buffered),
      NULL },

    { ngx_string("webrtc_data_rate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_webrtc_conf_t, dc_rate),
      NULL },

    { ngx_string("webrtc_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_webrtc_handler_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_WEBRTC_STATUS,
      NULL },

    { ngx_string("webrtc_session_log"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_webrtc_session_log_set,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webrtc_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_webrtc_handler_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_WEBRTC_METRICS,
      NULL },

    { ngx_string("webrtc_token"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_array_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webrtc_loc_conf_t, tokens),
      NULL },

    { ngx_string("webrtc_ice_server"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_webrtc_ice_server,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webrtc_video_codecs"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_webrtc_video_codecs,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("webrtc_max_sdp_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webrtc_loc_conf_t, max_sdp_size),
      &ngx_http_webrtc_sdp_size_bounds },

    { ngx_string("webrtc_allow_origin"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_webrtc_loc_conf_t, allow_origin),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_webrtc_module_ctx = {
    ngx_http_webrtc_add_variables,         /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_webrtc_create_main_conf,      /* create main configuration */
    ngx_http_webrtc_init_main_conf,        /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_webrtc_create_loc_conf,       /* create location configuration */
    ngx_http_webrtc_merge_loc_conf         /* merge location configuration */
};


ngx_module_t  ngx_http_webrtc_module = {
    NGX_MODULE_V1,
    &ngx_http_webrtc_module_ctx,           /* module context */
    ngx_http_webrtc_commands,              /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_webrtc_init_module,           /* init module */
    ngx_http_webrtc_init_process,          /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_webrtc_exit_process,          /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_webrtc_create_main_conf(ngx_conf_t *cf)
{
    ngx_webrtc_conf_t  *wmcf;

    wmcf = ngx_pcalloc(cf->pool, sizeof(ngx_webrtc_conf_t));
    if (wmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     wmcf->listen = { 0 };
     *     wmcf->port_first = 0;
     *     wmcf->port_last = 0;
     *     wmcf->shm_zone = NULL;
     */

    wmcf->candidates = NGX_CONF_UNSET_PTR;
    wmcf->session_log = NGX_CONF_UNSET_PTR;
    wmcf->ice_tcp = NGX_CONF_UNSET;
    wmcf->zone_size = NGX_CONF_UNSET_SIZE;
    wmcf->consent_timeout = NGX_CONF_UNSET_MSEC;
    wmcf->setup_timeout = NGX_CONF_UNSET_MSEC;
    wmcf->takeover_idle = NGX_CONF_UNSET_MSEC;
    wmcf->rtcp_interval = NGX_CONF_UNSET_MSEC;
    wmcf->max_viewers_total = NGX_CONF_UNSET_UINT;
    wmcf->debug_drop = NGX_CONF_UNSET_UINT;
    wmcf->dc_max_message = NGX_CONF_UNSET_SIZE;
    wmcf->dc_max_buffered = NGX_CONF_UNSET_SIZE;
    wmcf->dc_rate = NGX_CONF_UNSET_UINT;
    wmcf->events_max = NGX_CONF_UNSET_UINT;
    wmcf->hls_fragment = NGX_CONF_UNSET_MSEC;
    wmcf->hls_part = NGX_CONF_UNSET_MSEC;
    wmcf->hls_window = NGX_CONF_UNSET_UINT;
    wmcf->hls_size = NGX_CONF_UNSET_SIZE;
    wmcf->enabled = NGX_CONF_UNSET;

    return wmcf;
}


static char *
ngx_http_webrtc_consent_bound(ngx_conf_t *cf, void *post, void *data)
{
    ngx_msec_t  *mp = data;

    if (*mp < NGX_HTTP_WEBRTC_CONSENT_MIN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"webrtc_consent_timeout\" must be at least "
                           "10s: clients send consent checks only every "
                           "4-6 s (RFC 7675), so a shorter timeout ends "
                           "live sessions");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_webrtc_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_webrtc_conf_t *wmcf = conf;

    ngx_str_t   name, *cand;
    ngx_url_t   u;

    ngx_conf_init_size_value(wmcf->zone_size, 256 * 1024 * 1024);
    ngx_conf_init_value(wmcf->ice_tcp, 0);
    ngx_conf_init_msec_value(wmcf->consent_timeout, 30000);
    ngx_conf_init_msec_value(wmcf->setup_timeout, 10000);
    ngx_conf_init_msec_value(wmcf->takeover_idle, 2000);
    ngx_conf_init_msec_value(wmcf->rtcp_interval, 1000);
    ngx_conf_init_uint_value(wmcf->max_viewers_total, 0);
    ngx_conf_init_uint_value(wmcf->debug_drop, 0);
    ngx_conf_init_size_value(wmcf->dc_max_message, 64 * 1024);
    ngx_conf_init_size_value(wmcf->dc_max_buffered, 1024 * 1024);
    ngx_conf_init_uint_value(wmcf->dc_rate, 100);
    ngx_conf_init_uint_value(wmcf->events_max, 1000);
    ngx_conf_init_msec_value(wmcf->hls_fragment, 2000);
    ngx_conf_init_msec_value(wmcf->hls_part, 300);
    ngx_conf_init_uint_value(wmcf->hls_window, 6);
    ngx_conf_init_size_value(wmcf->hls_size, 8 * 1024 * 1024);
    ngx_conf_init_ptr_value(wmcf->session_log, NULL);

    if (wmcf->hls_part < 100 || wmcf->hls_part > 2000
        || wmcf->hls_fragment < 2 * wmcf->hls_part
        || wmcf->hls_fragment > 30000)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"webrtc_hls_part\" must be 100ms to 2s and "
                           "\"webrtc_hls_fragment\" twice that to 30s");
        return NGX_CONF_ERROR;
    }

    if (wmcf->hls_window < 3 || wmcf->hls_window > 16) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"webrtc_hls_window\" must be 3 to 16 segments");
        return NGX_CONF_ERROR;
    }

    if (wmcf->hls_size < 1024 * 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"webrtc_hls_size\" must be at least 1m");
        return NGX_CONF_ERROR;
    }

    if (wmcf->enabled == NGX_CONF_UNSET) {
        wmcf->enabled = 0;
        return NGX_CONF_OK;
    }

    if (wmcf->listen.sockaddr == NULL) {
        ngx_memzero(&u, sizeof(ngx_url_t));
        ngx_str_set(&u.url, "127.0.0.1:8189");
        u.listen = 1;

        if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        wmcf->listen.sockaddr = ngx_palloc(cf->pool, u.socklen);
        if (wmcf->listen.sockaddr == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memcpy(wmcf->listen.sockaddr, &u.sockaddr, u.socklen);
        wmcf->listen.socklen = u.socklen;
        wmcf->port_first = 8189;
    }

    if (wmcf->candidates == NGX_CONF_UNSET_PTR) {
        if (ngx_inet_wildcard(wmcf->listen.sockaddr)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"webrtc_candidate\" is required when "
                               "\"webrtc_listen\" is a wildcard address");
            return NGX_CONF_ERROR;
        }

        wmcf->candidates = ngx_array_create(cf->pool, 1, sizeof(ngx_str_t));
        if (wmcf->candidates == NULL) {
            return NGX_CONF_ERROR;
        }

        cand = ngx_array_push(wmcf->candidates);
        if (cand == NULL) {
            return NGX_CONF_ERROR;
        }

        cand->data = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN);
        if (cand->data == NULL) {
            return NGX_CONF_ERROR;
        }

        cand->len = ngx_sock_ntop(wmcf->listen.sockaddr,
                                  wmcf->listen.socklen, cand->data,
                                  NGX_SOCKADDR_STRLEN, 0);
    }

    ngx_str_set(&name, "webrtc");

    wmcf->shm_zone = ngx_shared_memory_add(cf, &name, wmcf->zone_size,
                                           &ngx_http_webrtc_module);
    if (wmcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (wmcf->shm_zone->data == NULL) {
        wmcf->shm_zone->data = ngx_pcalloc(cf->pool,
                                           sizeof(ngx_webrtc_shm_ctx_t));
        if (wmcf->shm_zone->data == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    wmcf->shm_zone->init = ngx_webrtc_registry_init_zone;

    return NGX_CONF_OK;
}


static void *
ngx_http_webrtc_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_webrtc_loc_conf_t  *wlcf;

    wlcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_webrtc_loc_conf_t));
    if (wlcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     wlcf->handler = 0;
     *     wlcf->allow_origin = { 0, NULL };
     */

    wlcf->tokens = NGX_CONF_UNSET_PTR;
    wlcf->ice_servers = NGX_CONF_UNSET_PTR;
    wlcf->video_codecs = NGX_CONF_UNSET_PTR;
    wlcf->max_sdp_size = NGX_CONF_UNSET_SIZE;
    wlcf->max_viewers = NGX_CONF_UNSET_UINT;
    wlcf->retry_after = NGX_CONF_UNSET;
    wlcf->viewers_follow = NGX_CONF_UNSET;
    wlcf->dc_viewers = NGX_CONF_UNSET_UINT;
    wlcf->pull = NGX_CONF_UNSET_PTR;
    wlcf->pull_idle = NGX_CONF_UNSET_MSEC;
    wlcf->pushes = NGX_CONF_UNSET_PTR;
    wlcf->notify = NGX_CONF_UNSET_PTR;
    wlcf->cascade_timeout = NGX_CONF_UNSET_MSEC;

    return wlcf;
}


static char *
ngx_http_webrtc_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_webrtc_loc_conf_t *prev = parent;
    ngx_http_webrtc_loc_conf_t *conf = child;

    ngx_uint_t               i, *codec;
    ngx_webrtc_http_peer_t  *peer;

    static ngx_uint_t  defaults[] = {
        NGX_WEBRTC_CODEC_H264, NGX_WEBRTC_CODEC_VP8, NGX_WEBRTC_CODEC_VP9,
        NGX_WEBRTC_CODEC_AV1, NGX_WEBRTC_CODEC_H265
    };

    ngx_conf_merge_ptr_value(conf->tokens, prev->tokens, NULL);
    ngx_conf_merge_ptr_value(conf->ice_servers, prev->ice_servers, NULL);
    ngx_conf_merge_size_value(conf->max_sdp_size, prev->max_sdp_size,
                              64 * 1024);
    ngx_conf_merge_str_value(conf->allow_origin, prev->allow_origin, "*");
    ngx_conf_merge_uint_value(conf->max_viewers, prev->max_viewers, 0);
    ngx_conf_merge_sec_value(conf->retry_after, prev->retry_after, 2);
    ngx_conf_merge_value(conf->viewers_follow, prev->viewers_follow, 1);
    ngx_conf_merge_uint_value(conf->dc_viewers, prev->dc_viewers,
                              NGX_WEBRTC_DC_OFF);
    ngx_conf_merge_str_value(conf->events_url, prev->events_url, "");
    ngx_conf_merge_str_value(conf->record, prev->record, "");
    ngx_conf_merge_ptr_value(conf->pull, prev->pull, NULL);
    ngx_conf_merge_msec_value(conf->pull_idle, prev->pull_idle, 30000);
    ngx_conf_merge_msec_value(conf->cascade_timeout, prev->cascade_timeout,
                              5000);

    ngx_conf_merge_ptr_value(conf->pushes, prev->pushes, NULL);
    ngx_conf_merge_ptr_value(conf->notify, prev->notify, NULL);

    if (conf->pull) {
        conf->pull->idle = conf->pull_idle;
        conf->pull->peer.timeout = conf->cascade_timeout;
    }

    if (conf->pushes) {
        peer = conf->pushes->elts;

        for (i = 0; i < conf->pushes->nelts; i++) {
            peer[i].timeout = conf->cascade_timeout;
        }
    }

    if (conf->record.len
        && ngx_conf_full_name(cf->cycle, &conf->record, 0) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    ngx_conf_merge_ptr_value(conf->video_codecs, prev->video_codecs, NULL);

    if (conf->video_codecs == NULL) {
        conf->video_codecs = ngx_array_create(cf->pool, 5,
                                              sizeof(ngx_uint_t));
        if (conf->video_codecs == NULL) {
            return NGX_CONF_ERROR;
        }

        for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
            codec = ngx_array_push(conf->video_codecs);
            if (codec == NULL) {
                return NGX_CONF_ERROR;
            }

            *codec = defaults[i];
        }
    }

    return NGX_CONF_OK;
}


/* webrtc_pull http://origin[:port]/prefix/ [token=<bearer>] */

static char *
ngx_http_webrtc_pull(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_webrtc_loc_conf_t  *wlcf = conf;

    char                    *rv;
    ngx_str_t               *value;
    ngx_webrtc_pull_conf_t  *pc;

    if (wlcf->pull != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    pc = ngx_pcalloc(cf->pool, sizeof(ngx_webrtc_pull_conf_t));
    if (pc == NULL) {
        return NGX_CONF_ERROR;
    }

    rv = ngx_webrtc_http_peer_parse(cf, &value[1], &pc->peer);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (cf->args->nelts == 3
        && ngx_http_webrtc_peer_token(cf, &value[2], &pc->peer)
           != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    wlcf->pull = pc;

    return NGX_CONF_OK;
}


/* webrtc_push http://peer[:port]/prefix/ [token=<bearer>], repeatable */

static char *
ngx_http_webrtc_push(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_webrtc_loc_conf_t  *wlcf = conf;

    char                    *rv;
    ngx_str_t               *value;
    ngx_webrtc_http_peer_t  *peer;

    if (wlcf->pushes == NGX_CONF_UNSET_PTR) {
        wlcf->pushes = ngx_array_create(cf->pool, 2,
                                        sizeof(ngx_webrtc_http_peer_t));
        if (wlcf->pushes == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    peer = ngx_array_push(wlcf->pushes);
    if (peer == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(peer, sizeof(ngx_webrtc_http_peer_t));

    rv = ngx_webrtc_http_peer_parse(cf, &value[1], peer);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (cf->args->nelts == 3) {
        return ngx_http_webrtc_peer_token(cf, &value[2], peer);
    }

    return NGX_CONF_OK;
}


/* webrtc_notify <url> [token=<bearer>] | off */

static char *
ngx_http_webrtc_notify(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_webrtc_loc_conf_t  *wlcf = conf;

    char                    *rv;
    ngx_str_t               *value;
    ngx_webrtc_http_peer_t  *peer;

    if (wlcf->notify != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        wlcf->notify = NULL;
        return NGX_CONF_OK;
    }

    peer = ngx_pcalloc(cf->pool, sizeof(ngx_webrtc_http_peer_t));
    if (peer == NULL) {
        return NGX_CONF_ERROR;
    }

    rv = ngx_webrtc_http_peer_parse(cf, &value[1], peer);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    /* the whole POST, tried three times: a receiver that hangs costs this */
    peer->timeout = 5000;

    wlcf->notify = peer;

    if (cf->args->nelts == 3) {
        return ngx_http_webrtc_peer_token(cf, &value[2], peer);
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_webrtc_peer_token(ngx_conf_t *cf, ngx_str_t *value,
    ngx_webrtc_http_peer_t *peer)
{
    if (value->len <= 6 || ngx_strncmp(value->data, "token=", 6) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", value);
        return NGX_CONF_ERROR;
    }

    peer->token.data = value->data + 6;
    peer->token.len = value->len - 6;

    return NGX_CONF_OK;
}


/* webrtc_listen address:port[-port] */

static char *
ngx_http_webrtc_listen(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_webrtc_conf_t *wmcf = conf;

    u_char     *dash, *colon;
    ngx_int_t   last;
    ngx_str_t  *value;
    ngx_url_t   u;

    if (wmcf->listen.sockaddr) {
        return "is duplicate";
    }

    value = cf->args->elts;

    ngx_memzero(&u, sizeof(ngx_url_t));
    u.url = value[1];
    u.listen = 1;

    last = 0;

    colon = ngx_strlchr(u.url.data, u.url.data + u.url.len, ']');
    colon = ngx_strlchr(colon ? colon : u.url.data, u.url.data + u.url.len,
                        ':');
    if (colon) {
        dash = ngx_strlchr(colon, u.url.data + u.url.len, '-');

        if (dash) {
            last = ngx_atoi(dash + 1, u.url.data + u.url.len - dash - 1);
            if (last < 1 || last > 65535) {
                return "has an invalid port range";
            }

            u.url.len = dash - u.url.data;
        }
    }

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        if (u.err) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s in \"%V\"",
                               u.err, &value[1]);
        }

        return NGX_CONF_ERROR;
    }

    if (u.no_port || u.port == 0) {
        return "needs a port";
    }

    if (last && (ngx_uint_t) last < u.port) {
        return "has an invalid port range";
    }

    wmcf->listen.sockaddr = ngx_palloc(cf->pool, u.socklen);
    if (wmcf->listen.sockaddr == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(wmcf->listen.sockaddr, &u.sockaddr, u.socklen);
    wmcf->listen.socklen = u.socklen;
    wmcf->port_first = u.port;
    wmcf->port_last = last;

    return NGX_CONF_OK;
}


static char *
ngx_http_webrtc_handler_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_webrtc_loc_conf_t *wlcf = conf;

    uint32_t                   crc;
    ngx_str_t                 *value;
    ngx_webrtc_conf_t         *wmcf;
    ngx_http_core_loc_conf_t  *clcf;

    if (wlcf->handler) {
        return "is duplicate";
    }

    wlcf->handler = cmd->offset;

    if (cf->args->nelts == 2) {
        /* webrtc_metrics streams: a series per stream */
        value = cf->args->elts;

        if (ngx_strcmp(value[1].data, "streams") != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }

        wlcf->metrics_streams = 1;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_webrtc_module);

    /*
     * a session resource answers only through the kind and name of the
     * location that created it (and so through its auth): a public WHEP
     * location cannot end a publisher; the name survives reloads
     */

    ngx_crc32_init(crc);
    ngx_crc32_update(&crc, (u_char *) &wlcf->handler, sizeof(ngx_uint_t));
    ngx_crc32_update(&crc, clcf->name.data, clcf->name.len);
    ngx_crc32_final(crc);

    wlcf->owner = crc;

    switch (wlcf->handler) {

    case NGX_HTTP_WEBRTC_WHIP:
    case NGX_HTTP_WEBRTC_WHEP:
    case NGX_HTTP_WEBRTC_EVENTS:
        clcf->handler = ngx_http_webrtc_handler;
        break;

    case NGX_HTTP_WEBRTC_HLS:
        clcf->handler = ngx_http_webrtc_hls_handler;
        wmcf->hls = 1;
        break;

    case NGX_HTTP_WEBRTC_METRICS:
        clcf->handler = ngx_http_webrtc_metrics_handler;
        break;

    default: /* NGX_HTTP_WEBRTC_STATUS */
        clcf->handler = ngx_http_webrtc_status_handler;
        break;
    }

    wmcf->enabled = 1;

    return NGX_CONF_OK;
}


/*
 * webrtc_ice_server stun:host:port;
 * webrtc_ice_server turn:host:port?transport=udp username=u credential=p;
 * webrtc_ice_server turn:host:port secret=s [ttl=1d];
 */

static char *
ngx_http_webrtc_ice_server(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_webrtc_loc_conf_t *wlcf = conf;

    ngx_str_t                *value, s;
    ngx_uint_t                i;
    ngx_http_webrtc_ice_server_t  *ice;

    if (wlcf->ice_servers == NGX_CONF_UNSET_PTR) {
        wlcf->ice_servers = ngx_array_create(cf->pool, 2,
                                             sizeof(ngx_http_webrtc_ice_server_t));
        if (wlcf->ice_servers == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    ice = ngx_array_push(wlcf->ice_servers);
    if (ice == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(ice, sizeof(ngx_http_webrtc_ice_server_t));

    value = cf->args->elts;

    if (ngx_strncmp(value[1].data, "stun:", 5) != 0
        && ngx_strncmp(value[1].data, "stuns:", 6) != 0
        && ngx_strncmp(value[1].data, "turn:", 5) != 0
        && ngx_strncmp(value[1].data, "turns:", 6) != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid ICE server URL \"%V\": must start with "
                           "stun:, stuns:, turn: or turns:", &value[1]);
        return NGX_CONF_ERROR;
    }

    ice->url = value[1];
    ice->ttl = 86400;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "username=", 9) == 0) {
            ice->username.data = value[i].data + 9;
            ice->username.len = value[i].len - 9;
            continue;
        }

        if (ngx_strncmp(value[i].data, "credential=", 11) == 0) {
            ice->credential.data = value[i].data + 11;
            ice->credential.len = value[i].len - 11;
            continue;
        }

        if (ngx_strncmp(value[i].data, "secret=", 7) == 0) {
            ice->secret.data = value[i].data + 7;
            ice->secret.len = value[i].len - 7;
            continue;
        }

        if (ngx_strncmp(value[i].data, "ttl=", 4) == 0) {
            s.data = value[i].data + 4;
            s.len = value[i].len - 4;

            ice->ttl = ngx_parse_time(&s, 1);
            if (ice->ttl == (time_t) NGX_ERROR || ice->ttl == 0) {
                return "has an invalid \"ttl\" value";
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (ice->url.data[0] == 't'
        && ice->secret.len == 0
        && (ice->username.len == 0 || ice->credential.len == 0))
    {
        return "requires \"username=\" and \"credential=\", or \"secret=\", "
               "for a TURN server";
    }

    if (ice->secret.len && ice->credential.len) {
        return "takes either \"credential=\" or \"secret=\"";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_webrtc_video_codecs(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_webrtc_loc_conf_t *wlcf = conf;

    ngx_str_t           *value;
    ngx_uint_t           i, *codec;
    ngx_webrtc_codec_e   c;

    if (wlcf->video_codecs != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    wlcf->video_codecs = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                          sizeof(ngx_uint_t));
    if (wlcf->video_codecs == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        c = ngx_webrtc_codec_by_name(value[i].data, value[i].len);

        if (c != NGX_WEBRTC_CODEC_H264 && c != NGX_WEBRTC_CODEC_VP8
            && c != NGX_WEBRTC_CODEC_VP9 && c != NGX_WEBRTC_CODEC_AV1
            && c != NGX_WEBRTC_CODEC_H265)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown video codec \"%V\": expected H264, "
                               "VP8, VP9, AV1 or H265", &value[i]);
            return NGX_CONF_ERROR;
        }

        codec = ngx_array_push(wlcf->video_codecs);
        if (codec == NULL) {
            return NGX_CONF_ERROR;
        }

        *codec = c;
    }

    return NGX_CONF_OK;
}


/* worker_processes is known only once the whole configuration is read */

static ngx_int_t
ngx_http_webrtc_init_module(ngx_cycle_t *cycle)
{
    ngx_core_conf_t    *ccf;
    ngx_webrtc_conf_t  *wmcf;

    wmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_webrtc_module);

    if (wmcf == NULL || !wmcf->enabled) {
        return NGX_OK;
    }

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    if (ccf->worker_processes > NGX_WEBRTC_WORKERS_MAX) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "webrtc supports at most %d worker processes, "
                      "\"worker_processes\" is %i",
                      NGX_WEBRTC_WORKERS_MAX, ccf->worker_processes);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_webrtc_init_process(ngx_cycle_t *cycle)
{
    ngx_webrtc_conf_t  *wmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    wmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_webrtc_module);

    if (wmcf == NULL || !wmcf->enabled) {
        return NGX_OK;
    }

    return ngx_webrtc_worker_init(cycle, wmcf);
}


static void
ngx_http_webrtc_exit_process(ngx_cycle_t *cycle)
{
    ngx_webrtc_worker_exit(cycle);
}
