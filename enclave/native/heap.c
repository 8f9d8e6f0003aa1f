// The enclave's one call into the C library's allocator: malloc_trim(0), glibc's way to give the
// system back the free memory it holds. Nothing else.
//
// Written for Enclave Wallet. Why (docs/performance.md, "thirtieth look"): glibc keeps freed memory
// for later use, and after a load the enclave's main heap held 2-6 MiB free between live blocks
// and at its top, which no allocation of the enclave's own size ever asked back. malloc_trim gives
// back the free pages of every arena and shrinks the main heap's top; it keeps the top of the
// other arenas, where the pool threads' 19 MiB PIN stretch lives and is reused stretch after stretch.
// The enclave calls it when it has been idle a moment (enclave/src/heap.ts), never during a request.
//
// Build: scripts/build-native.mjs (one cc call, Node-API headers only). On a C library without
// malloc_trim (musl, macOS) the addon still builds and `trim` does nothing and returns false.
#define NAPI_VERSION 8
#include <stdbool.h>
#include <stdlib.h> // defines __GLIBC__ on glibc
#include <node_api.h>
#if defined(__GLIBC__)
#include <malloc.h>
#define HAVE_MALLOC_TRIM 1
#else
#define HAVE_MALLOC_TRIM 0
#endif

// trim(): boolean. True when the C library gave memory back to the system.
static napi_value trim(napi_env env, napi_callback_info info) {
  (void)info;
  bool released = false;
#if HAVE_MALLOC_TRIM
  released = malloc_trim(0) != 0;
#endif
  napi_value out;
  if (napi_get_boolean(env, released, &out) != napi_ok) return NULL;
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn, supported;
  if (napi_create_function(env, "trim", NAPI_AUTO_LENGTH, trim, NULL, &fn) != napi_ok ||
      napi_get_boolean(env, HAVE_MALLOC_TRIM, &supported) != napi_ok ||
      napi_set_named_property(env, exports, "trim", fn) != napi_ok ||
      napi_set_named_property(env, exports, "supported", supported) != napi_ok)
    return NULL;
  return exports;
}

NAPI_MODULE(heap, init)
