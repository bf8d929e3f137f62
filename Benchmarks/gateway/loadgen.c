/*
 * loadgen: an open-loop HTTP/1.1 load generator for the gateway benchmark.
 *
 * Requests are sent on a fixed schedule (request i at start + i/rate), whatever the server
 * does, over a pool of keep-alive connections (one request in flight per connection). Each
 * request's latency runs from its *scheduled* send time to the last byte of its response, so
 * time spent waiting for a free connection or behind a slow server counts: no coordinated
 * omission. A request that finds no idle connection opens a new one (up to -c); past that it
 * waits in a FIFO queue.
 *
 * A request takes the connection that has been idle longest, so the load spreads over every
 * open connection as traffic from many clients would. With -S it takes the one idle for the
 * shortest time instead (a stack): then at low concurrency one keep-alive connection carries
 * nearly every request, and a server that serves each connection on one thread (event loops)
 * runs the whole load on one core.
 *
 * Latencies go into a log-linear histogram (128 sub-buckets per power of two: each bucket is
 * within 0.8 % of its values). The first -w seconds of the schedule are a warm-up: sent but not
 * counted. At the end, requests still unanswered after -T seconds of drain are reported as
 * unfinished, and requests never sent (no connection came free) as unsent. achieved_rps is the
 * number of responses (warm-up or not) that arrived during the measured window, per second: the
 * server's throughput, also when it cannot keep up and the latencies only cover what completed.
 *
 * Output: one line of key=value pairs on stdout (latencies in microseconds).
 *
 *   loadgen -p PORT -r RATE -d SECONDS [-w WARMUP] [-c MAXCONN] [-i INITCONN] [-T DRAIN]
 *           [-H 'Name: value']... [-b BODYFILE] [-u PATH] [-h HOST] [-S]
 *
 * Build: gcc -O2 -o loadgen loadgen.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- histogram: values in nanoseconds ---- */
#define SUB_BITS 7
#define SUB (1 << SUB_BITS)
#define NBUCKETS (SUB + (64 - SUB_BITS) * SUB)

typedef struct { uint64_t counts[NBUCKETS]; uint64_t total, max; } hist_t;

static int bucket_of(uint64_t v) {
    if (v < SUB) return (int)v;
    int e = 63 - __builtin_clzll(v);          /* v in [2^e, 2^(e+1)) */
    int shift = e - SUB_BITS;
    return SUB + shift * SUB + (int)((v >> shift) - SUB);
}

static uint64_t bucket_mid(int b) {           /* the middle of a bucket's range */
    if (b < SUB) return (uint64_t)b;
    int shift = (b - SUB) / SUB, sub = (b - SUB) % SUB;
    uint64_t low = ((uint64_t)(sub + SUB)) << shift;
    return low + ((1ULL << shift) >> 1);
}

static void hist_add(hist_t *h, uint64_t v) {
    h->counts[bucket_of(v)]++;
    h->total++;
    if (v > h->max) h->max = v;
}

static uint64_t hist_pct(const hist_t *h, double p) {
    if (h->total == 0) return 0;
    uint64_t rank = (uint64_t)(p / 100.0 * (double)h->total + 0.5);
    if (rank < 1) rank = 1;
    if (rank > h->total) rank = h->total;
    uint64_t seen = 0;
    for (int b = 0; b < NBUCKETS; b++) {
        seen += h->counts[b];
        if (seen >= rank) { uint64_t m = bucket_mid(b); return m > h->max ? h->max : m; }
    }
    return h->max;
}

/* ---- connections ---- */
enum { FREE, CONNECTING, IDLE, BUSY };

typedef struct {
    int fd, state;
    uint64_t scheduled, sent;                 /* of the request in flight, ns */
    int counted;                              /* in the measured window */
    size_t woff;                              /* bytes of the request written */
    char *buf; size_t len, cap;               /* the response so far */
    long header_end, content_length; int chunked;
} conn_t;

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static void die(const char *what) { perror(what); exit(2); }

static char *request; static size_t request_len;
static struct sockaddr_in addr;
static int ep;
static conn_t *conns; static int maxconn;
static int *idle; static int nidle, idle_head;   /* a ring of idle connections, oldest at idle_head */
static int stack_order;                         /* -S: take the newest idle connection */
static int nopen;

static hist_t lat, lag;
static uint64_t ok2xx, non2xx, errors, reconnects;
static uint64_t window_start, window_end, in_window;   /* responses (any) that arrived inside the measured window */

static void want(conn_t *c, int idx, uint32_t events, int op) {
    struct epoll_event ev = { .events = events, .data.u32 = (uint32_t)idx };
    if (epoll_ctl(ep, op, c->fd, &ev) < 0) die("epoll_ctl");
}

static int open_conn(void) {
    int idx = -1;
    for (int i = 0; i < maxconn; i++) if (conns[i].state == FREE) { idx = i; break; }
    if (idx < 0) return -1;
    conn_t *c = &conns[idx];
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) die("socket");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) die("connect");
    c->state = CONNECTING;
    c->len = 0;
    want(c, idx, EPOLLOUT, EPOLL_CTL_ADD);
    nopen++;
    return idx;
}

static void close_conn(int idx) {
    conn_t *c = &conns[idx];
    if (c->state == IDLE)                     /* closed by the server while idle: out of the ring */
        for (int i = 0; i < nidle; i++)
            if (idle[(idle_head + i) % maxconn] == idx) {
                for (int j = i; j + 1 < nidle; j++) idle[(idle_head + j) % maxconn] = idle[(idle_head + j + 1) % maxconn];
                nidle--;
                break;
            }
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->state = FREE;
    nopen--;
}

static void make_idle(int idx) { conns[idx].state = IDLE; idle[(idle_head + nidle++) % maxconn] = idx; }

static int take_idle(void) {
    if (stack_order) return idle[(idle_head + --nidle) % maxconn];
    int idx = idle[idle_head];
    idle_head = (idle_head + 1) % maxconn;
    nidle--;
    return idx;
}

static void fail(int idx) {                   /* the request in flight is lost */
    if (conns[idx].state == BUSY && conns[idx].counted) errors++;
    close_conn(idx);
    reconnects++;
}

static void try_write(int idx) {
    conn_t *c = &conns[idx];
    while (c->woff < request_len) {
        ssize_t n = write(c->fd, request + c->woff, request_len - c->woff);
        if (n < 0) {
            if (errno == EAGAIN) { want(c, idx, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD); return; }
            fail(idx); return;
        }
        c->woff += (size_t)n;
    }
}

static void send_on(int idx, uint64_t scheduled, int counted) {
    conn_t *c = &conns[idx];
    c->state = BUSY;
    c->scheduled = scheduled;
    c->counted = counted;
    c->woff = 0;
    c->len = 0;
    c->header_end = -1;
    c->sent = now_ns();
    if (counted) hist_add(&lag, c->sent > scheduled ? c->sent - scheduled : 0);
    try_write(idx);
}

/* Is the response in c->buf complete? Sets status on the first call that sees the header. */
static int response_complete(conn_t *c, int *status) {
    if (c->header_end < 0) {
        char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (!end) return 0;
        c->header_end = end - c->buf + 4;
        c->content_length = -1;
        c->chunked = 0;
        for (char *line = memchr(c->buf, '\n', (size_t)c->header_end); line && line < end; line = memchr(line + 1, '\n', (size_t)(end - line))) {
            if (strncasecmp(line + 1, "content-length:", 15) == 0) c->content_length = strtol(line + 16, NULL, 10);
            if (strncasecmp(line + 1, "transfer-encoding:", 18) == 0 && memmem(line, (size_t)(end - line), "chunked", 7)) c->chunked = 1;
        }
    }
    *status = (c->len > 12 && memcmp(c->buf, "HTTP/1.", 7) == 0) ? atoi(c->buf + 9) : 0;
    if (c->content_length >= 0) return (long)c->len >= c->header_end + c->content_length;
    if (c->chunked) {                         /* walk the chunks received so far */
        size_t p = (size_t)c->header_end;
        for (;;) {
            char *nl = memmem(c->buf + p, c->len - p, "\r\n", 2);
            if (!nl) return 0;
            long size = strtol(c->buf + p, NULL, 16);
            p = (size_t)(nl - c->buf) + 2;
            if (size == 0) return memmem(c->buf + p - 2, c->len - p + 2, "\r\n\r\n", 4) != NULL;
            p += (size_t)size + 2;
            if (p > c->len) return 0;
        }
    }
    return 1;                                 /* no body framing: header only (e.g. 204) */
}

static void on_readable(int idx, uint64_t *completed) {
    conn_t *c = &conns[idx];
    for (;;) {
        if (c->cap - c->len < 4096) { c->cap *= 2; c->buf = realloc(c->buf, c->cap); if (!c->buf) die("realloc"); }
        ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (n == 0 || (n < 0 && errno != EAGAIN)) { fail(idx); return; }
        if (n < 0) return;
        if (c->state != BUSY) continue;       /* stray bytes on an idle connection: ignore */
        c->len += (size_t)n;
        int status;
        if (response_complete(c, &status)) {
            uint64_t done = now_ns();
            if (done >= window_start && done < window_end) in_window++;
            if (c->counted) {
                hist_add(&lat, done - c->scheduled);
                if (status >= 200 && status < 300) ok2xx++; else non2xx++;
                (*completed)++;
            }
            int close_after = memmem(c->buf, (size_t)c->header_end, "onnection: close", 16) != NULL;
            if (close_after) { close_conn(idx); reconnects++; }
            else { c->len = 0; want(c, idx, EPOLLIN, EPOLL_CTL_MOD); make_idle(idx); }
            return;
        }
    }
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1", *path = "/v1/chat/completions", *bodyfile = NULL;
    int port = 0, initconn = 16, opt;
    double rate = 0, duration = 0, warmup = 0, drain = 5;
    char headers[8192] = "";
    maxconn = 512;
    while ((opt = getopt(argc, argv, "h:p:u:r:d:w:c:i:T:H:b:S")) != -1) {
        switch (opt) {
        case 'h': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'u': path = optarg; break;
        case 'r': rate = atof(optarg); break;
        case 'd': duration = atof(optarg); break;
        case 'w': warmup = atof(optarg); break;
        case 'c': maxconn = atoi(optarg); break;
        case 'i': initconn = atoi(optarg); break;
        case 'T': drain = atof(optarg); break;
        case 'H': strncat(headers, optarg, sizeof headers - strlen(headers) - 3); strcat(headers, "\r\n"); break;
        case 'b': bodyfile = optarg; break;
        case 'S': stack_order = 1; break;
        default: fprintf(stderr, "usage: see the comment at the top of loadgen.c\n"); return 2;
        }
    }
    if (port <= 0 || rate <= 0 || duration <= 0 || maxconn < 1) { fprintf(stderr, "loadgen: -p, -r and -d are required\n"); return 2; }
    if (initconn > maxconn) initconn = maxconn;
    signal(SIGPIPE, SIG_IGN);

    char body[65536]; size_t body_len = 0;
    if (bodyfile) {
        FILE *f = fopen(bodyfile, "rb");
        if (!f) die(bodyfile);
        body_len = fread(body, 1, sizeof body, f);
        fclose(f);
    }
    request = malloc(sizeof headers + body_len + 1024);
    request_len = (size_t)sprintf(request, "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n%sContent-Length: %zu\r\n\r\n",
                                  path, host, port, headers, body_len);
    memcpy(request + request_len, body, body_len);
    request_len += body_len;

    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) { fprintf(stderr, "loadgen: -h takes an IPv4 address\n"); return 2; }
    ep = epoll_create1(EPOLL_CLOEXEC);
    conns = calloc((size_t)maxconn, sizeof *conns);
    idle = calloc((size_t)maxconn, sizeof *idle);
    for (int i = 0; i < maxconn; i++) { conns[i].cap = 16384; conns[i].buf = malloc(conns[i].cap); }
    struct epoll_event events[256];

    /* Open the initial pool before the clock starts. */
    for (int i = 0; i < initconn; i++) open_conn();
    while (nidle < initconn) {
        int n = epoll_wait(ep, events, 256, 5000);
        if (n <= 0) { fprintf(stderr, "loadgen: could not connect to %s:%d\n", host, port); return 1; }
        for (int k = 0; k < n; k++) {
            int idx = (int)events[k].data.u32, err = 0; socklen_t len = sizeof err;
            getsockopt(conns[idx].fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err) { fprintf(stderr, "loadgen: connect: %s\n", strerror(err)); return 1; }
            want(&conns[idx], idx, EPOLLIN, EPOLL_CTL_MOD);
            make_idle(idx);
        }
    }

    const double interval = 1e9 / rate;
    const uint64_t total = (uint64_t)((warmup + duration) * rate + 0.5);
    const uint64_t first_counted = (uint64_t)(warmup * rate + 0.5);
    const uint64_t start = now_ns() + 1000000;
    window_start = start + (uint64_t)(warmup * 1e9);
    window_end = window_start + (uint64_t)(duration * 1e9);
    uint64_t next = 0;                        /* the next request to schedule */
    uint64_t dispatched = 0;                  /* requests [dispatched, next) wait for a connection */
    uint64_t completed = 0, drain_deadline = 0;
    int pending_connects = 0;

    for (;;) {
        uint64_t t = now_ns();
        while (next < total && start + (uint64_t)((double)next * interval) <= t) next++;
        while (dispatched < next) {
            int idx;
            if (nidle > 0) idx = take_idle();
            else {
                if (nopen < maxconn && (uint64_t)pending_connects < next - dispatched) { if (open_conn() >= 0) pending_connects++; }
                break;
            }
            send_on(idx, start + (uint64_t)((double)dispatched * interval), dispatched >= first_counted);
            dispatched++;
        }
        int busy = nopen > nidle;             /* an open connection that is not idle is connecting or busy */
        if (next == total) {
            if (!drain_deadline) drain_deadline = t + (uint64_t)(drain * 1e9);
            if ((dispatched == total && !busy) || t >= drain_deadline) break;
        }
        uint64_t wake = next < total ? start + (uint64_t)((double)next * interval) : drain_deadline;
        struct timespec timeout = { 0, 0 };
        if (wake > t) { timeout.tv_sec = (time_t)((wake - t) / 1000000000ULL); timeout.tv_nsec = (long)((wake - t) % 1000000000ULL); }
        int n = epoll_pwait2(ep, events, 256, &timeout, NULL);
        if (n < 0 && errno != EINTR) die("epoll_pwait2");
        for (int k = 0; k < n; k++) {
            int idx = (int)events[k].data.u32;
            conn_t *c = &conns[idx];
            if (c->state == FREE) continue;
            if (c->state == CONNECTING) {
                int err = 0; socklen_t len = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                pending_connects--;
                if (err) { close_conn(idx); errors++; continue; }
                want(c, idx, EPOLLIN, EPOLL_CTL_MOD);
                make_idle(idx);
                continue;
            }
            if (events[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(idx, &completed);
            if (c->state == BUSY && (events[k].events & EPOLLOUT)) {
                try_write(idx);
                if (c->state == BUSY && c->woff == request_len) want(c, idx, EPOLLIN, EPOLL_CTL_MOD);
            }
        }
    }

    uint64_t unfinished = 0;
    for (int i = 0; i < maxconn; i++) if (conns[i].state == BUSY && conns[i].counted) unfinished++;
    uint64_t unsent = total - dispatched;
    if (unsent > total - first_counted) unsent = total - first_counted;
    double us = 1e3;
    printf("rate=%.0f duration_s=%.1f scheduled=%llu completed=%llu achieved_rps=%.1f ok=%llu non2xx=%llu errors=%llu "
           "unfinished=%llu unsent=%llu connections=%d reconnects=%llu "
           "p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f lag_p99_us=%.1f lag_max_us=%.1f\n",
           rate, duration, (unsigned long long)(total - first_counted), (unsigned long long)completed, (double)in_window / duration,
           (unsigned long long)ok2xx, (unsigned long long)non2xx, (unsigned long long)errors,
           (unsigned long long)unfinished, (unsigned long long)unsent, nopen, (unsigned long long)reconnects,
           hist_pct(&lat, 50) / us, hist_pct(&lat, 90) / us, hist_pct(&lat, 99) / us, hist_pct(&lat, 99.9) / us, lat.max / us,
           hist_pct(&lag, 99) / us, lag.max / us);
    return 0;
}
