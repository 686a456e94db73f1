/*
 * openloop-http: an open-loop HTTP/1.1 load generator (the wrk2 approach), for the
 * gateway-path bench. Sends one fixed POST at a constant rate over keep-alive
 * connections and measures each answer from its *scheduled* send time, so a stall
 * anywhere (server, network, this client) is charged to every request it delays: no
 * coordinated omission.
 *
 * Why C and not the Node open-loop runner (bench/lib/openloop.ts): at 1,000 req/s the
 * Node runner must yield with setImmediate between sends (libuv timers have 1 ms
 * resolution), so it spins one of this box's two cores; the servers under test then
 * share the other one, and the spinning client itself makes millisecond tails. This
 * client sleeps in epoll on a timerfd armed at the next send time (ns resolution, timer
 * slack set to 1 ns) and uses a few percent of a core.
 *
 *   cc -O2 -o openloop-http bench/e2e/openloop-http.c
 *   openloop-http --port 8080 --path /v1/chat/completions --body body.json --rate 1000 \
 *     --duration-ms 5000 [--warmup-ms 1000] [--connections 64] [--expect TEXT]
 *     [--header 'k: v']... [--shed-ms 1000] [--drain-ms 3000] [--host 127.0.0.1] [--trace FILE]
 *
 * Prints one JSON object: counts, the achieved rate, latency (from schedule) and
 * service time (from the actual send) percentiles in µs, the worst send lag, and this
 * process's CPU per request. A request waiting for a free connection longer than
 * --shed-ms is not sent and counts as shed (the run is then saturated). An answer is
 * good when its status is 200 and its body contains --expect (if given).
 * Responses: Content-Length or chunked bodies (SSE), no pipelining. --trace writes one
 * line per answer (scheduled time from the start of the timed part, latency, service
 * time; µs), to see when a tail happened.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

enum { P_HEAD, P_CL, P_CHUNK_SIZE, P_CHUNK_DATA, P_CHUNK_CRLF, P_TRAILER };

typedef struct {
  int fd;
  int connected;
  int busy;
  size_t woff; /* bytes of the request written */
  int64_t sched_ns, sent_ns;
  char *buf;
  size_t len, cap, pos; /* pos: parse cursor */
  int state;
  int status;
  size_t body_left;
  size_t body_start;
  int in_idle;
} Conn;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static const char *host = "127.0.0.1";
static int port = 0;
static const char *path = "/";
static char *req_buf;
static size_t req_len;
static const char *expect_text = NULL;
static Conn *conns;
static int nconns = 64;
static int epfd;
static int *idle;
static int nidle;
static struct sockaddr_in addr;

static int64_t *lat, *svc, *sch;
static FILE *trace_fp;
static size_t nrec, reccap;
static long completed, completed_all, errors, bad_status, bad_body, shed, sent, reconnects;
static int64_t last_done;
static int64_t max_lag;
static int64_t t0, rec_from, sched_end;
static double period_ns;

/* Backlog: scheduled times of requests waiting for a connection (ring). */
static int64_t *backlog;
static size_t bl_head, bl_tail, bl_cap;

static void die(const char *what) {
  perror(what);
  exit(2);
}

static void conn_open(Conn *c) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) die("socket");
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int r = connect(c->fd, (struct sockaddr *)&addr, sizeof addr);
  if (r < 0 && errno != EINPROGRESS) die("connect");
  c->connected = 0;
  c->busy = 0;
  c->len = c->pos = 0;
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.ptr = c};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl");
}

static void conn_reset(Conn *c) {
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  reconnects++;
  conn_open(c);
}

static void want_out(Conn *c, int on) {
  struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0), .data.ptr = c};
  epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void record(int64_t sched, int64_t sent_at, int64_t done) {
  if (sched < rec_from) return;
  if (nrec == reccap) {
    reccap = reccap ? reccap * 2 : 65536;
    lat = realloc(lat, reccap * sizeof *lat);
    svc = realloc(svc, reccap * sizeof *svc);
    sch = realloc(sch, reccap * sizeof *sch);
    if (!lat || !svc || !sch) die("realloc");
  }
  lat[nrec] = done - sched;
  svc[nrec] = done - sent_at;
  sch[nrec] = sched;
  nrec++;
}

static void fail(Conn *c, int reset) {
  if (c->busy && c->sched_ns >= rec_from) errors++;
  c->busy = 0;
  if (reset) conn_reset(c);
}

static void try_write(Conn *c) {
  while (c->woff < req_len) {
    ssize_t w = write(c->fd, req_buf + c->woff, req_len - c->woff);
    if (w < 0) {
      if (errno == EAGAIN) {
        want_out(c, 1);
        return;
      }
      fail(c, 1);
      return;
    }
    c->woff += (size_t)w;
  }
  want_out(c, 0);
}

static void send_on(Conn *c, int64_t sched) {
  int64_t now = now_ns();
  if (now - sched > max_lag && sched >= rec_from) max_lag = now - sched;
  c->busy = 1;
  c->sched_ns = sched;
  c->sent_ns = now;
  c->woff = 0;
  c->len = c->pos = 0;
  c->state = P_HEAD;
  c->status = 0;
  if (sched >= rec_from) sent++;
  try_write(c);
}

static void make_idle(Conn *c) {
  if (c->in_idle) return;
  c->in_idle = 1;
  idle[nidle++] = (int)(c - conns);
}

/* The most recently freed connection that is still up, or NULL. */
static Conn *pop_idle(void) {
  while (nidle > 0) {
    Conn *c = &conns[idle[--nidle]];
    c->in_idle = 0;
    if (c->connected && !c->busy) return c;
  }
  return NULL;
}

/* Gives a free connection the oldest waiting request, or parks the connection. */
static void release(Conn *c, int64_t shed_ns) {
  int64_t now = now_ns();
  while (bl_head != bl_tail) {
    int64_t s = backlog[bl_head % bl_cap];
    bl_head++;
    if (now - s > shed_ns) {
      if (s >= rec_from) shed++;
      continue;
    }
    send_on(c, s);
    return;
  }
  make_idle(c);
}

static int ieq_prefix(const char *a, const char *lit) {
  for (; *lit; a++, lit++)
    if ((*a | 0x20) != (*lit | 0x20)) return 0;
  return 1;
}

/* Parses what has arrived; returns 1 when the response is complete, -1 on a protocol error. */
static int parse(Conn *c) {
  for (;;) {
    char *b = c->buf;
    if (c->state == P_HEAD) {
      char *end = memmem(b + c->pos, c->len - c->pos, "\r\n\r\n", 4);
      if (!end) return 0;
      if (c->len < 12 || memcmp(b, "HTTP/1.", 7) != 0) return -1;
      c->status = atoi(b + 9);
      long cl = -1;
      int chunked = 0;
      for (char *line = memchr(b, '\n', (size_t)(end - b)); line && line < end;) {
        line++;
        if (ieq_prefix(line, "content-length:")) cl = strtol(line + 15, NULL, 10);
        else if (ieq_prefix(line, "transfer-encoding:") && strstr(line, "chunked") &&
                 strstr(line, "chunked") < strstr(line, "\r\n"))
          chunked = 1;
        line = memchr(line, '\n', (size_t)(end - line));
      }
      c->pos = (size_t)(end - b) + 4;
      c->body_start = c->pos;
      if (chunked) c->state = P_CHUNK_SIZE;
      else if (cl >= 0) {
        c->state = P_CL;
        c->body_left = (size_t)cl;
      } else return -1;
    } else if (c->state == P_CL) {
      if (c->len - c->pos < c->body_left) return 0;
      c->pos += c->body_left;
      return 1;
    } else if (c->state == P_CHUNK_SIZE) {
      char *nl = memmem(b + c->pos, c->len - c->pos, "\r\n", 2);
      if (!nl) return 0;
      size_t sz = strtoul(b + c->pos, NULL, 16);
      c->pos = (size_t)(nl - b) + 2;
      if (sz == 0) c->state = P_TRAILER;
      else {
        c->body_left = sz;
        c->state = P_CHUNK_DATA;
      }
    } else if (c->state == P_CHUNK_DATA) {
      if (c->len - c->pos < c->body_left) return 0;
      c->pos += c->body_left;
      c->state = P_CHUNK_CRLF;
    } else if (c->state == P_CHUNK_CRLF) {
      if (c->len - c->pos < 2) return 0;
      c->pos += 2;
      c->state = P_CHUNK_SIZE;
    } else { /* P_TRAILER: no trailers expected, just the final CRLF */
      char *nl = memmem(b + c->pos, c->len - c->pos, "\r\n", 2);
      if (!nl) return 0;
      int empty = nl == b + c->pos;
      c->pos = (size_t)(nl - b) + 2;
      if (empty) return 1;
    }
  }
}

static void on_readable(Conn *c, int64_t shed_ns) {
  for (;;) {
    if (c->cap - c->len < 65536) {
      c->cap = c->cap ? c->cap * 2 : 131072;
      c->buf = realloc(c->buf, c->cap);
      if (!c->buf) die("realloc");
    }
    ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
    if (r < 0) {
      if (errno == EAGAIN) return;
      fail(c, 1);
      return;
    }
    if (r == 0) { /* closed by the server: an idle one is reopened, a busy one failed */
      fail(c, 1);
      return;
    }
    c->len += (size_t)r;
    if (!c->busy) continue; /* unexpected bytes: drop */
    int done = parse(c);
    if (done < 0) {
      fail(c, 1);
      return;
    }
    if (done == 1) {
      int64_t t = now_ns();
      int ok = c->status == 200;
      if (!ok && c->sched_ns >= rec_from) bad_status++;
      if (ok && expect_text &&
          !memmem(c->buf + c->body_start, c->pos - c->body_start, expect_text, strlen(expect_text))) {
        ok = 0;
        if (c->sched_ns >= rec_from) bad_body++;
      }
      completed_all++;
      if (ok) {
        record(c->sched_ns, c->sent_ns, t);
        if (c->sched_ns >= rec_from) {
          completed++;
          last_done = t;
        }
      } else if (c->sched_ns >= rec_from) errors++;
      c->busy = 0;
      c->len = c->pos = 0;
      release(c, shed_ns);
      return;
    }
  }
}

static int cmp64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static double pct(int64_t *v, size_t n, double p) {
  if (n == 0) return 0;
  double rank = p / 100.0 * (double)n - 1e-9;
  size_t r = (size_t)rank;
  if ((double)r < rank) r++;
  if (r < 1) r = 1;
  if (r > n) r = n;
  return (double)v[r - 1] / 1000.0;
}

static void summary(const char *name, int64_t *v, size_t n, int comma) {
  qsort(v, n, sizeof *v, cmp64);
  double sum = 0;
  for (size_t i = 0; i < n; i++) sum += (double)v[i];
  printf("\"%s\":{\"unit\":\"us\",\"count\":%zu,\"min\":%.3f,\"mean\":%.3f,\"p50\":%.3f,\"p90\":%.3f,"
         "\"p99\":%.3f,\"p999\":%.3f,\"p9999\":%.3f,\"max\":%.3f}%s",
         name, n, pct(v, n, 0.0001), n ? sum / (double)n / 1000.0 : 0, pct(v, n, 50), pct(v, n, 90),
         pct(v, n, 99), pct(v, n, 99.9), pct(v, n, 99.99), n ? (double)v[n - 1] / 1000.0 : 0,
         comma ? "," : "");
}

static char *read_file(const char *f, size_t *len) {
  FILE *fp = fopen(f, "rb");
  if (!fp) die(f);
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  if (fread(b, 1, (size_t)n, fp) != (size_t)n) die("fread");
  fclose(fp);
  b[n] = 0;
  *len = (size_t)n;
  return b;
}

int main(int argc, char **argv) {
  double rate = 1000;
  long duration_ms = 5000, warmup_ms = 0, shed_ms = 1000, drain_ms = 3000;
  const char *body_file = NULL;
  char headers[4096] = "";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : "";
    if (!strcmp(a, "--host")) host = v, i++;
    else if (!strcmp(a, "--port")) port = atoi(v), i++;
    else if (!strcmp(a, "--path")) path = v, i++;
    else if (!strcmp(a, "--body")) body_file = v, i++;
    else if (!strcmp(a, "--rate")) rate = atof(v), i++;
    else if (!strcmp(a, "--duration-ms")) duration_ms = atol(v), i++;
    else if (!strcmp(a, "--warmup-ms")) warmup_ms = atol(v), i++;
    else if (!strcmp(a, "--connections")) nconns = atoi(v), i++;
    else if (!strcmp(a, "--expect")) expect_text = v, i++;
    else if (!strcmp(a, "--shed-ms")) shed_ms = atol(v), i++;
    else if (!strcmp(a, "--drain-ms")) drain_ms = atol(v), i++;
    else if (!strcmp(a, "--trace")) {
      trace_fp = fopen(v, "w");
      if (!trace_fp) die(v);
      i++;
    }
    else if (!strcmp(a, "--header")) {
      if (strlen(headers) + strlen(v) + 3 >= sizeof headers) die("headers");
      strcat(headers, v);
      strcat(headers, "\r\n");
      i++;
    } else {
      fprintf(stderr, "unknown argument %s\n", a);
      return 2;
    }
  }
  if (!port || !body_file || rate <= 0 || nconns < 1) {
    fprintf(stderr, "usage: openloop-http --port P --body FILE [--rate R] [--duration-ms D] ...\n");
    return 2;
  }
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  size_t blen;
  char *body = read_file(body_file, &blen);
  req_buf = malloc(blen + 8192);
  req_len = (size_t)sprintf(req_buf,
                            "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                            "Content-Length: %zu\r\n%s\r\n",
                            path, host, port, blen, headers);
  memcpy(req_buf + req_len, body, blen);
  req_len += blen;

  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) die("host");
  epfd = epoll_create1(EPOLL_CLOEXEC);
  conns = calloc((size_t)nconns, sizeof *conns);
  idle = calloc((size_t)nconns, sizeof *idle);
  for (int i = 0; i < nconns; i++) conn_open(&conns[i]);

  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  struct epoll_event tev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &tev);

  /* Wait until every connection is up (they go idle in order). */
  struct epoll_event evs[256];
  int up = 0;
  int64_t conn_deadline = now_ns() + 5000000000LL;
  while (up < nconns) {
    if (now_ns() > conn_deadline) {
      fprintf(stderr, "openloop-http: %d of %d connections up after 5 s\n", up, nconns);
      return 2;
    }
    int n = epoll_wait(epfd, evs, 256, 100);
    for (int k = 0; k < n; k++) {
      Conn *c = evs[k].data.ptr;
      if (!c || c->connected) continue;
      int err = 0;
      socklen_t el = sizeof err;
      getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
      if (err) {
        errno = err;
        die("connect");
      }
      c->connected = 1;
      want_out(c, 0);
      up++;
    }
  }
  /* Idle stack, lowest index on top: a few hot connections carry the load, like a pool. */
  for (int i = nconns - 1; i >= 0; i--) make_idle(&conns[i]);

  period_ns = 1e9 / rate;
  long total = (long)((double)(warmup_ms + duration_ms) / 1000.0 * rate);
  bl_cap = (size_t)total + 1;
  backlog = malloc(bl_cap * sizeof *backlog);
  int64_t shed_ns = shed_ms * 1000000LL;
  t0 = now_ns() + 2000000; /* 2 ms from now */
  rec_from = t0 + warmup_ms * 1000000LL;
  sched_end = t0 + (int64_t)((double)total * period_ns);
  struct rusage ru0, ru1;
  getrusage(RUSAGE_SELF, &ru0);

  long next = 0; /* index of the next request to schedule */
  int64_t drain_until = 0;
  for (;;) {
    int64_t now = now_ns();
    /* Everything due goes out now (late ones too: their lateness is in their latency). */
    while (next < total) {
      int64_t s = t0 + (int64_t)((double)next * period_ns);
      if (s > now) break;
      next++;
      Conn *c = bl_head == bl_tail ? pop_idle() : NULL;
      if (c) send_on(c, s);
      else backlog[bl_tail++ % bl_cap] = s;
    }
    /* Shed requests that waited too long for a connection. */
    while (bl_head != bl_tail && now - backlog[bl_head % bl_cap] > shed_ns) {
      if (backlog[bl_head % bl_cap] >= rec_from) shed++;
      bl_head++;
    }
    int busy = 0;
    for (int i = 0; i < nconns; i++) busy += conns[i].busy;
    if (next >= total) {
      if (!drain_until) drain_until = now + drain_ms * 1000000LL;
      if ((busy == 0 && bl_head == bl_tail) || now > drain_until) break;
    }
    int64_t wake = next < total ? t0 + (int64_t)((double)next * period_ns) : now + 1000000;
    struct itimerspec its = {0};
    its.it_value.tv_sec = wake / 1000000000LL;
    its.it_value.tv_nsec = wake % 1000000000LL;
    timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
    int n = epoll_wait(epfd, evs, 256, 100);
    for (int k = 0; k < n; k++) {
      Conn *c = evs[k].data.ptr;
      if (!c) {
        uint64_t x;
        ssize_t r = read(tfd, &x, sizeof x);
        (void)r;
        continue;
      }
      if (!c->connected) {
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
          conn_reset(c);
          continue;
        }
        c->connected = 1;
        want_out(c, 0);
        release(c, shed_ns);
        continue;
      }
      if (evs[k].events & EPOLLOUT && c->busy && c->woff < req_len) try_write(c);
      /* A connection reset while idle comes back not connected and rejoins once connected. */
      if (evs[k].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable(c, shed_ns);
    }
  }
  int64_t end = now_ns();
  getrusage(RUSAGE_SELF, &ru1);
  long unfinished = 0;
  for (int i = 0; i < nconns; i++)
    if (conns[i].busy && conns[i].sched_ns >= rec_from) unfinished++;
  double cpu_us = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) * 1e6 +
                  (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) +
                  (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1e6 +
                  (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec);
  double measured_s = (double)((last_done ? last_done : end) - rec_from) / 1e9;
  printf("{\"rate\":%.1f,\"durationMs\":%ld,\"warmupMs\":%ld,\"connections\":%d,\"sent\":%ld,"
         "\"completed\":%ld,\"errors\":%ld,\"badStatus\":%ld,\"badBody\":%ld,\"shed\":%ld,"
         "\"unfinished\":%ld,\"reconnects\":%ld,\"achievedRatePerSec\":%.1f,\"maxSendLagUs\":%.3f,"
         "\"clientCpuUsPerReq\":%.2f,",
         rate, duration_ms, warmup_ms, nconns, sent, completed, errors + unfinished, bad_status, bad_body,
         shed, unfinished, reconnects, measured_s > 0 ? (double)completed / measured_s : 0,
         (double)max_lag / 1000.0, cpu_us / (double)(completed_all ? completed_all : 1));
  if (trace_fp) { /* one line per answer: scheduled offset, latency, service time (µs) */
    for (size_t i = 0; i < nrec; i++)
      fprintf(trace_fp, "%.1f %.1f %.1f\n", (double)(sch[i] - rec_from) / 1000.0, (double)lat[i] / 1000.0,
              (double)svc[i] / 1000.0);
    fclose(trace_fp);
  }
  summary("latency", lat, nrec, 1);
  summary("serviceTime", svc, nrec, 0);
  printf("}\n");
  return 0;
}
