/*
 * colo_native: host tuning for colocated boxes, in plain C over node_api.h.
 *
 * Why plain C: no node-addon-api dependency, and the whole surface is a handful of
 * syscalls. Every function acts on the *calling* thread (pinning, priority) or the
 * whole process (memory locking), so it works the same from a worker thread.
 *
 * Error convention: invalid arguments throw a TypeError/RangeError (programmer error);
 * an OS refusal (EPERM, ENOMEM, EINVAL from the kernel) is *returned* as a string
 * "ECODE: strerror text" so the TypeScript wrapper can report it without try/catch
 * and without parsing an opaque exception. Success returns null.
 *
 * The module is registered with NAPI_MODULE_INIT, which makes it context-aware: it
 * may be loaded in the main thread and any number of worker threads.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

#include <node_api.h>

/* Bit flags for lockMemory, mirrored in src/tuning/native-types.ts. */
#define COLO_LOCK_CURRENT 1
#define COLO_LOCK_FUTURE 2
#define COLO_LOCK_ONFAULT 4

#define MAX_CORES 1024

#define NAPI_CALL(env, call)                                                    \
  do {                                                                          \
    if ((call) != napi_ok) {                                                    \
      napi_throw_error((env), "COLO_NATIVE", "N-API call failed: " #call);      \
      return NULL;                                                              \
    }                                                                           \
  } while (0)

static const char *errno_name(int err) {
  switch (err) {
    case EPERM: return "EPERM";
    case ENOMEM: return "ENOMEM";
    case EINVAL: return "EINVAL";
    case EAGAIN: return "EAGAIN";
    case ESRCH: return "ESRCH";
    case EFAULT: return "EFAULT";
    case ENOSYS: return "ENOSYS";
    default: return "EUNKNOWN";
  }
}

/* Returns the JS string "ECODE: text" for an errno. */
static napi_value errno_result(napi_env env, int err) {
  char buf[160];
  snprintf(buf, sizeof buf, "%s: %s", errno_name(err), strerror(err));
  napi_value out;
  NAPI_CALL(env, napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &out));
  return out;
}

static napi_value null_value(napi_env env) {
  napi_value out;
  NAPI_CALL(env, napi_get_null(env, &out));
  return out;
}

/* pinThreadToCores(cores: number[]): null | string */
static napi_value pin_thread_to_cores(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool is_array = false;
  if (argc < 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, "COLO_NATIVE", "pinThreadToCores: cores must be an array of core ids");
    return NULL;
  }
  uint32_t len = 0;
  NAPI_CALL(env, napi_get_array_length(env, argv[0], &len));
  if (len == 0) {
    napi_throw_range_error(env, "COLO_NATIVE", "pinThreadToCores: cores must not be empty");
    return NULL;
  }
#ifdef __linux__
  cpu_set_t set;
  CPU_ZERO(&set);
  for (uint32_t i = 0; i < len; i++) {
    napi_value el;
    int32_t core = -1;
    NAPI_CALL(env, napi_get_element(env, argv[0], i, &el));
    if (napi_get_value_int32(env, el, &core) != napi_ok || core < 0 || core >= MAX_CORES ||
        core >= CPU_SETSIZE) {
      napi_throw_range_error(env, "COLO_NATIVE", "pinThreadToCores: each core id must be an integer in [0, 1024)");
      return NULL;
    }
    CPU_SET(core, &set);
  }
  /* pthread_self, not pid 0 with sched_setaffinity: the same thing on Linux, but this
   * says plainly that only the calling thread moves. */
  int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  if (rc != 0) return errno_result(env, rc);
  return null_value(env);
#else
  return errno_result(env, ENOSYS);
#endif
}

/* getThreadAffinity(): number[] — the calling thread's allowed cores, to restore after pinning. */
static napi_value get_thread_affinity(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value arr;
  NAPI_CALL(env, napi_create_array(env, &arr));
#ifdef __linux__
  cpu_set_t set;
  CPU_ZERO(&set);
  int rc = pthread_getaffinity_np(pthread_self(), sizeof set, &set);
  if (rc != 0) return errno_result(env, rc);
  uint32_t n = 0;
  for (int core = 0; core < CPU_SETSIZE && core < MAX_CORES; core++) {
    if (!CPU_ISSET(core, &set)) continue;
    napi_value v;
    NAPI_CALL(env, napi_create_int32(env, core, &v));
    NAPI_CALL(env, napi_set_element(env, arr, n++, v));
  }
#endif
  return arr;
}

/* lockMemory(flags: number): null | string */
static napi_value lock_memory(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t flags = 0;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &flags) != napi_ok || flags <= 0 || flags > 7) {
    napi_throw_range_error(env, "COLO_NATIVE", "lockMemory: flags must be a bitmask of CURRENT=1, FUTURE=2, ONFAULT=4");
    return NULL;
  }
  int mcl = 0;
  if (flags & COLO_LOCK_CURRENT) mcl |= MCL_CURRENT;
  if (flags & COLO_LOCK_FUTURE) mcl |= MCL_FUTURE;
  if (flags & COLO_LOCK_ONFAULT) {
#ifdef MCL_ONFAULT
    mcl |= MCL_ONFAULT;
#else
    return errno_result(env, ENOSYS);
#endif
  }
  if (mlockall(mcl) != 0) return errno_result(env, errno);
  return null_value(env);
}

/* unlockMemory(): null | string — lets a bench compare locked and unlocked in one run. */
static napi_value unlock_memory(napi_env env, napi_callback_info info) {
  (void)info;
  if (munlockall() != 0) return errno_result(env, errno);
  return null_value(env);
}

/* memlockLimit(): number — RLIMIT_MEMLOCK soft limit in bytes, -1 when unlimited. */
static napi_value memlock_limit(napi_env env, napi_callback_info info) {
  (void)info;
  struct rlimit rl;
  napi_value out;
  if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0) return errno_result(env, errno);
  double v = rl.rlim_cur == RLIM_INFINITY ? -1.0 : (double)rl.rlim_cur;
  NAPI_CALL(env, napi_create_double(env, v, &out));
  return out;
}

/* monotonicNs(): bigint — CLOCK_MONOTONIC_RAW is not slewed by NTP, so intervals are
 * honest even while the clock is being disciplined. */
static napi_value monotonic_ns(napi_env env, napi_callback_info info) {
  (void)info;
  struct timespec ts;
#ifdef CLOCK_MONOTONIC_RAW
  clockid_t id = CLOCK_MONOTONIC_RAW;
#else
  clockid_t id = CLOCK_MONOTONIC;
#endif
  if (clock_gettime(id, &ts) != 0) {
    napi_throw_error(env, "COLO_NATIVE", "monotonicNs: clock_gettime failed");
    return NULL;
  }
  uint64_t ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
  napi_value out;
  NAPI_CALL(env, napi_create_bigint_uint64(env, ns, &out));
  return out;
}

/* currentCpu(): number — the core the calling thread runs on now, -1 if unknown. */
static napi_value current_cpu(napi_env env, napi_callback_info info) {
  (void)info;
  int cpu = -1;
#ifdef __linux__
  cpu = sched_getcpu();
#endif
  napi_value out;
  NAPI_CALL(env, napi_create_int32(env, cpu, &out));
  return out;
}

/* threadId(): number — kernel thread id (gettid), for matching logs with `top -H`. */
static napi_value thread_id(napi_env env, napi_callback_info info) {
  (void)info;
  int32_t tid = -1;
#ifdef __linux__
  tid = (int32_t)syscall(SYS_gettid);
#endif
  napi_value out;
  NAPI_CALL(env, napi_create_int32(env, tid, &out));
  return out;
}

/* setRealtimePriority(priority: number): null | string — SCHED_FIFO for 1..99, back to
 * SCHED_OTHER for 0. Calling thread only. */
static napi_value set_realtime_priority(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t prio = -1;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &prio) != napi_ok || prio < 0 || prio > 99) {
    napi_throw_range_error(env, "COLO_NATIVE", "setRealtimePriority: priority must be an integer in [0, 99]");
    return NULL;
  }
  struct sched_param sp;
  memset(&sp, 0, sizeof sp);
  sp.sched_priority = prio;
  int rc = pthread_setschedparam(pthread_self(), prio == 0 ? SCHED_OTHER : SCHED_FIFO, &sp);
  if (rc != 0) return errno_result(env, rc);
  return null_value(env);
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
    {"pinThreadToCores", NULL, pin_thread_to_cores, NULL, NULL, NULL, napi_enumerable, NULL},
    {"getThreadAffinity", NULL, get_thread_affinity, NULL, NULL, NULL, napi_enumerable, NULL},
    {"lockMemory", NULL, lock_memory, NULL, NULL, NULL, napi_enumerable, NULL},
    {"unlockMemory", NULL, unlock_memory, NULL, NULL, NULL, napi_enumerable, NULL},
    {"memlockLimit", NULL, memlock_limit, NULL, NULL, NULL, napi_enumerable, NULL},
    {"monotonicNs", NULL, monotonic_ns, NULL, NULL, NULL, napi_enumerable, NULL},
    {"currentCpu", NULL, current_cpu, NULL, NULL, NULL, napi_enumerable, NULL},
    {"threadId", NULL, thread_id, NULL, NULL, NULL, napi_enumerable, NULL},
    {"setRealtimePriority", NULL, set_realtime_priority, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
