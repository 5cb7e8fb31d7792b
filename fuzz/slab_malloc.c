
/*
 * Copyright (C) nginx WebRTC module authors
 */


/*
 * nginx's slab allocator for the fuzz targets that link ngx_webrtc_ring.c
 * alone: the ring's memory, exactly its size, from malloc(), so that ASan
 * sees every byte past it.
 */


#include <stdlib.h>

#include "ngx_webrtc_ring.h"


void *
ngx_slab_alloc_locked(ngx_slab_pool_t *pool, size_t size)
{
    return malloc(size);
}


void
ngx_slab_free_locked(ngx_slab_pool_t *pool, void *p)
{
    free(p);
}
