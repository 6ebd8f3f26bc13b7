// c-counter: a gears-host function in C, built from wit/gears.wit with wit-bindgen-c.
//
// At upload it
//   - runs once: KeysReader over `page:*` counting the keys (accumulate) -> the reply is [[n], []]
//   - registers: KeysReader on `set` events of `page:*` keys, sync, which increments
//     `views:<key>` for every write (a page-view counter kept next to the data).
//
// Records arrive as pre-order node lists (see wit/gears.wit, "Encodings"); this file walks them
// by hand. Callback ids are fixed (the table below), so a fresh instance needs no init.
#include <stdlib.h>
#include <string.h>

#include "gears.h"

enum { CB_COUNT_KEYS = 0, CB_BUMP_VIEWS = 1 };

typedef gears_function_types_value_t node_t;
typedef exports_gears_function_function_data_t data_t;
typedef exports_gears_function_function_result_list_data_failure_t outcome_t;

static gears_string_t str(const char *s) {
  gears_string_t out;
  gears_string_set(&out, s); // borrowed: for import arguments only
  return out;
}

// Number of nodes the tree starting at nodes[i] spans, or 0 if it overruns `len`.
static size_t tree_len(const node_t *nodes, size_t len, size_t i) {
  size_t pending = 1, n = 0;
  while (pending > 0) {
    if (i + n >= len) return 0;
    const node_t *x = &nodes[i + n];
    pending -= 1;
    if (x->tag == GEARS_FUNCTION_TYPES_VALUE_LIST) pending += x->val.list;
    if (x->tag == GEARS_FUNCTION_TYPES_VALUE_MAP) pending += 2 * (size_t)x->val.map;
    n += 1;
  }
  return n;
}

// The bytes of map entry `key` of a record (a map at nodes[0]), or NULL.
static const gears_list_u8_t *map_get(const data_t *r, const char *key) {
  if (r->len == 0 || r->ptr[0].tag != GEARS_FUNCTION_TYPES_VALUE_MAP) return NULL;
  size_t entries = r->ptr[0].val.map, i = 1, klen = strlen(key);
  for (size_t e = 0; e < entries; e++) {
    size_t ks = tree_len(r->ptr, r->len, i);
    if (ks == 0) return NULL;
    const node_t *k = &r->ptr[i];
    size_t v = i + ks;
    if (v >= r->len) return NULL;
    bool is_key = (k->tag == GEARS_FUNCTION_TYPES_VALUE_TEXT && k->val.text.len == klen &&
                   memcmp(k->val.text.ptr, key, klen) == 0) ||
                  (k->tag == GEARS_FUNCTION_TYPES_VALUE_BYTES && k->val.bytes.len == klen &&
                   memcmp(k->val.bytes.ptr, key, klen) == 0);
    if (is_key) {
      const node_t *x = &r->ptr[v];
      if (x->tag == GEARS_FUNCTION_TYPES_VALUE_BYTES) return &x->val.bytes;
      if (x->tag == GEARS_FUNCTION_TYPES_VALUE_TEXT) return (const gears_list_u8_t *)&x->val.text;
      return NULL;
    }
    size_t vs = tree_len(r->ptr, r->len, v);
    if (vs == 0) return NULL;
    i = v + vs;
  }
  return NULL;
}

static void fail(outcome_t *out, const char *msg) {
  out->is_err = true;
  out->val.err.tag = GEARS_FUNCTION_TYPES_FAILURE_ERROR;
  gears_string_dup(&out->val.err.val.error, msg); // owned: freed after the call returns
}

// One record holding one integer.
static void ok_int(outcome_t *out, int64_t n) {
  out->is_err = false;
  data_t *d = malloc(sizeof(data_t));
  node_t *x = malloc(sizeof(node_t));
  if (!d || !x) abort();
  x->tag = GEARS_FUNCTION_TYPES_VALUE_INTEGER;
  x->val.integer = n;
  d->ptr = x;
  d->len = 1;
  out->val.ok.ptr = d;
  out->val.ok.len = 1;
}

// accumulate: args = [acc, r1, ..., rn]; acc is null the first time.
static void count_keys(const exports_gears_function_function_list_data_t *args, outcome_t *out) {
  if (args->len < 2 || args->ptr[0].len != 1) return fail(out, "count_keys: bad arguments");
  const node_t *acc = &args->ptr[0].ptr[0];
  int64_t n = acc->tag == GEARS_FUNCTION_TYPES_VALUE_INTEGER ? acc->val.integer : 0;
  ok_int(out, n + (int64_t)(args->len - 1));
}

// foreach: args = [r]; INCR views:<key>.
static void bump_views(const exports_gears_function_function_list_data_t *args, outcome_t *out) {
  if (args->len != 1) return fail(out, "bump_views: bad arguments");
  const gears_list_u8_t *key = map_get(&args->ptr[0], "key");
  if (!key) return fail(out, "bump_views: the record has no key");
  static const char prefix[] = "views:";
  size_t plen = sizeof(prefix) - 1;
  uint8_t *name = malloc(plen + key->len + 1);
  if (!name) abort();
  memcpy(name, prefix, plen);
  memcpy(name + plen, key->ptr, key->len);
  gears_list_u8_t argv[2] = {
      {(uint8_t *)"INCR", 4},
      {name, plen + key->len},
  };
  gears_list_list_u8_t cmd = {argv, 2};
  gears_function_host_reply_t reply;
  gears_function_host_execute(&cmd, &reply);
  free(name);
  bool err = reply.len > 0 && reply.ptr[0].tag == GEARS_FUNCTION_TYPES_REPLY_NODE_ERROR;
  if (err) {
    char msg[256];
    size_t n = reply.ptr[0].val.error.len < sizeof(msg) - 1 ? reply.ptr[0].val.error.len : sizeof(msg) - 1;
    memcpy(msg, reply.ptr[0].val.error.ptr, n);
    msg[n] = 0;
    fail(out, msg);
  } else {
    out->is_err = false;
    out->val.ok.ptr = NULL;
    out->val.ok.len = 0;
  }
  gears_function_host_reply_free(&reply);
}

static gears_function_builder_callback_t callback(uint32_t id, const char *name) {
  gears_function_builder_callback_t cb = {id, str(name)};
  return cb;
}

bool exports_gears_function_function_init(gears_list_u8_t *source, gears_string_t *err) {
  gears_list_u8_free(source);

  // run: KeysReader over page:* -> accumulate(count) -> collect
  gears_function_builder_step_t run_steps[2];
  run_steps[0].tag = GEARS_FUNCTION_BUILDER_STEP_ACCUMULATE;
  run_steps[0].val.accumulate = callback(CB_COUNT_KEYS, "count_keys");
  run_steps[1].tag = GEARS_FUNCTION_BUILDER_STEP_COLLECT;
  gears_function_builder_plan_t run_plan = {
      .reader = GEARS_FUNCTION_BUILDER_READER_KIND_KEYS_READER,
      .description = {false},
      .steps = {run_steps, 2},
  };
  gears_function_builder_run_options_t run_opts = {
      .pattern = {true, str("page:*")},
      .generator = {false},
      .no_scan = false,
      .read_value = false,
      .from_id = {false},
      .mode = GEARS_FUNCTION_BUILDER_MODE_ASYNC,
  };
  gears_string_t e;
  if (!gears_function_builder_run(&run_plan, &run_opts, &e)) {
    *err = e; // owned by us, handed back to the host
    return false;
  }

  // register: KeysReader, set events on page:*, sync -> foreach(bump_views)
  gears_function_builder_step_t reg_steps[1];
  reg_steps[0].tag = GEARS_FUNCTION_BUILDER_STEP_FOREACH;
  reg_steps[0].val.foreach = callback(CB_BUMP_VIEWS, "bump_views");
  gears_function_builder_plan_t reg_plan = {
      .reader = GEARS_FUNCTION_BUILDER_READER_KIND_KEYS_READER,
      .description = {true, str("c-counter: views:<key> += 1 on every SET of page:*")},
      .steps = {reg_steps, 1},
  };
  gears_string_t events[1] = {str("set")};
  gears_function_builder_register_options_t reg_opts;
  memset(&reg_opts, 0, sizeof(reg_opts));
  reg_opts.mode = GEARS_FUNCTION_BUILDER_MODE_SYNC;
  reg_opts.prefix.is_some = true;
  reg_opts.prefix.val = str("page:*");
  reg_opts.event_types.is_some = true;
  reg_opts.event_types.val.ptr = events;
  reg_opts.event_types.val.len = 1;
  reg_opts.read_value = false;
  reg_opts.trim_stream = true;
  if (!gears_function_builder_register(&reg_plan, &reg_opts, &e)) {
    *err = e;
    return false;
  }
  return true;
}

void exports_gears_function_function_call(exports_gears_function_function_list_request_t *requests,
                                          exports_gears_function_function_list_result_list_data_failure_t *ret) {
  size_t n = requests->len;
  outcome_t *outs = n ? calloc(n, sizeof(outcome_t)) : NULL;
  if (n && !outs) abort();
  for (size_t i = 0; i < n; i++) {
    exports_gears_function_function_request_t *req = &requests->ptr[i];
    switch (req->callback) {
    case CB_COUNT_KEYS:
      if (req->kind != EXPORTS_GEARS_FUNCTION_FUNCTION_CALL_KIND_ACCUMULATE) fail(&outs[i], "count_keys is an accumulator");
      else count_keys(&req->args, &outs[i]);
      break;
    case CB_BUMP_VIEWS:
      if (req->kind != EXPORTS_GEARS_FUNCTION_FUNCTION_CALL_KIND_FOREACH) fail(&outs[i], "bump_views is a foreach");
      else bump_views(&req->args, &outs[i]);
      break;
    default:
      fail(&outs[i], "no such callback");
    }
  }
  exports_gears_function_function_list_request_free(requests);
  ret->ptr = outs;
  ret->len = n;
}
