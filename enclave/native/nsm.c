// The enclave's binding to the Nitro Secure Module (/dev/nsm): one ioctl and nothing else.
//
// Written for Enclave Wallet (not by AWS, not by a third party). The NSM speaks CBOR: the caller
// (enclave/src/platform/nsm.ts) encodes the request and decodes the answer in TypeScript, opens
// and closes the device with node:fs, and owns both buffers. This file only hands the two buffers
// to the driver, as the Linux NSM driver defines it (include/uapi/linux/nsm.h, drivers/misc/nsm.c;
// the same message as aws-nitro-enclaves-nsm-api's driver module):
//
//   struct nsm_iovec { __u64 addr; __u64 len; };
//   struct nsm_raw   { struct nsm_iovec request; struct nsm_iovec response; };
//   #define NSM_IOCTL_RAW _IOWR(0x0A, 0x0, struct nsm_raw)
//
// The driver reads request.len bytes, writes at most response.len bytes and sets response.len to
// the length it wrote. Build: scripts/build-native.mjs (one cc call, Node-API headers only).
#define _GNU_SOURCE // strerrorname_np, strerrordesc_np (glibc 2.32 and newer)
#define NAPI_VERSION 8
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <node_api.h>

#define NSM_MAGIC 0x0A
#define NSM_REQUEST_MAX_SIZE 0x1000
#define NSM_RESPONSE_MAX_SIZE 0x3000

struct nsm_iovec {
  uint64_t addr;
  uint64_t len;
};

struct nsm_raw {
  struct nsm_iovec request;
  struct nsm_iovec response;
};

#define NSM_IOCTL_RAW _IOWR(NSM_MAGIC, 0x0, struct nsm_raw)

// Throws an Error whose `code` is the errno's name (ENOTTY, EBADF, ...).
static void throw_errno(napi_env env, int err) {
  char code[32];
  char message[160];
  const char *name = strerrorname_np(err);
  if (name) snprintf(code, sizeof code, "%s", name);
  else snprintf(code, sizeof code, "ERRNO_%d", err);
  snprintf(message, sizeof message, "NSM ioctl failed: %s (%s)", code, strerrordesc_np(err) ? strerrordesc_np(err) : "unknown error");
  napi_throw_error(env, code, message);
}

// A Uint8Array argument: its bytes and length, or a TypeError.
static int bytes_of(napi_env env, napi_value value, const char *what, uint8_t **data, size_t *length) {
  bool is_typed = false;
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  void *raw = NULL;
  char message[96];
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, value, &type, length, &raw, &buffer, &offset) != napi_ok || type != napi_uint8_array) {
    snprintf(message, sizeof message, "%s must be a Uint8Array", what);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return 0;
  }
  *data = (uint8_t *)raw;
  return 1;
}

// request(fd: number, request: Uint8Array, response: Uint8Array): number
// Sends `request` to the NSM on `fd`, writes its answer into `response`, returns the answer's length.
static napi_value request(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd = -1;
  uint8_t *req = NULL, *resp = NULL;
  size_t req_len = 0, resp_len = 0;
  napi_valuetype fd_type;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 3 || napi_typeof(env, argv[0], &fd_type) != napi_ok || fd_type != napi_number || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "request(fd, request, response): fd must be a file descriptor");
    return NULL;
  }
  if (!bytes_of(env, argv[1], "request", &req, &req_len) || !bytes_of(env, argv[2], "response", &resp, &resp_len)) return NULL;
  if (req_len == 0 || req_len > NSM_REQUEST_MAX_SIZE) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "an NSM request is 1 to 4096 bytes");
    return NULL;
  }
  if (resp_len == 0 || resp_len > NSM_RESPONSE_MAX_SIZE) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "the NSM response buffer is 1 to 12288 bytes");
    return NULL;
  }

  struct nsm_raw raw;
  memset(&raw, 0, sizeof raw);
  raw.request.addr = (uint64_t)(uintptr_t)req;
  raw.request.len = req_len;
  raw.response.addr = (uint64_t)(uintptr_t)resp;
  raw.response.len = resp_len;
  int status;
  do {
    status = ioctl(fd, NSM_IOCTL_RAW, &raw);
  } while (status < 0 && errno == EINTR);
  if (status < 0) {
    throw_errno(env, errno);
    return NULL;
  }
  if (raw.response.len > resp_len) {
    napi_throw_error(env, "ERR_NSM_RESPONSE", "the NSM driver reported a response longer than its buffer");
    return NULL;
  }
  napi_value out;
  if (napi_create_uint32(env, (uint32_t)raw.response.len, &out) != napi_ok) return NULL;
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn, ioctl_number, request_max, response_max;
  if (napi_create_function(env, "request", NAPI_AUTO_LENGTH, request, NULL, &fn) != napi_ok ||
      napi_create_uint32(env, (uint32_t)NSM_IOCTL_RAW, &ioctl_number) != napi_ok ||
      napi_create_uint32(env, NSM_REQUEST_MAX_SIZE, &request_max) != napi_ok ||
      napi_create_uint32(env, NSM_RESPONSE_MAX_SIZE, &response_max) != napi_ok ||
      napi_set_named_property(env, exports, "request", fn) != napi_ok ||
      napi_set_named_property(env, exports, "IOCTL_RAW", ioctl_number) != napi_ok ||
      napi_set_named_property(env, exports, "REQUEST_MAX_SIZE", request_max) != napi_ok ||
      napi_set_named_property(env, exports, "RESPONSE_MAX_SIZE", response_max) != napi_ok)
    return NULL;
  return exports;
}

NAPI_MODULE(nsm, init)
